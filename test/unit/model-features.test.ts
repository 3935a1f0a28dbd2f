import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LinearRegression, LogisticRegression, ManyModelsError, Ridge, coefficientNames, decodeModel, encodeModel, inferenceStats, ModelJsonEncoder } from 'manymodels';

/** The `features` field of model documents: names in, names out, and the fast writer's bytes. */
const X = [[2, 1], [2, 3], [4, 7], [4, 7], [6, 7]];
const y = [0, 0, 1, 1, 1];

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ManyModelsError, `expected a ManyModelsError, got ${e}`);
    return e.code;
  }
  assert.fail('expected an error');
}

describe('model documents: features and coefficient names', () => {
  const models = [
    new LogisticRegression().fit(X, y),
    new LogisticRegression().fit([[0, 1], [1, 0], [2, 2], [3, 1], [4, 0], [5, 3]], ['a', 'b', 'c', 'a', 'b', 'c']),
    new LinearRegression().fit(X, [1, 2, 3, 4, 5.5]),
    new Ridge({ alpha: 2 }).fit(X, [1, 2, 3, 4, 5.5]),
  ];
  it('the document names its inputs, between params and state, and decodes', () => {
    for (const m of models) {
      const doc = encodeModel(m, { features: ['ask "times"', 'Back.Off'] });
      assert.deepEqual(Object.keys(doc), ['format', 'version', 'estimator', 'params', 'features', 'state']);
      assert.deepEqual(coefficientNames(doc), ['ask "times"', 'Back.Off']);
      assert.deepEqual(decodeModel(JSON.stringify(doc)).predict([[1, 2]]), m.predict([[1, 2]]));
    }
  });
  it('the fast writer writes exactly JSON.stringify(encodeModel(model, { features }))', () => {
    for (const m of models) {
      assert.equal(new ModelJsonEncoder(m, ['a', 'b"c']).json(m), JSON.stringify(encodeModel(m, { features: ['a', 'b"c'] })));
      // an array column: its elements, named as SQL subscripts them
      assert.equal(new ModelJsonEncoder(m, { array: 'Feats' }).json(m), JSON.stringify(encodeModel(m, { features: ['Feats[1]', 'Feats[2]'] })));
      assert.equal(new ModelJsonEncoder(m).json(m), JSON.stringify(encodeModel(m)));
    }
    // one encoder, groups of different widths (an array column of another length)
    const enc = new ModelJsonEncoder(models[0], { array: 'x' });
    const wide = new LogisticRegression().fit([[1, 2, 3], [3, 1, 0], [0, 0, 1], [5, 5, 5]], [0, 1, 0, 1]);
    assert.deepEqual(JSON.parse(enc.json(models[0])).features, ['x[1]', 'x[2]']);
    assert.deepEqual(JSON.parse(enc.json(wide)).features, ['x[1]', 'x[2]', 'x[3]']);
    assert.deepEqual(JSON.parse(enc.json(models[0])).features, ['x[1]', 'x[2]']);
  });
  it('a document without features (written before the field existed) gets scikit-learn’s default names', () => {
    const doc = encodeModel(models[2]);
    assert.equal('features' in doc, false);
    assert.deepEqual(coefficientNames(doc), ['x0', 'x1']);
    assert.deepEqual(decodeModel(doc).predict([[1, 2]]), models[2].predict([[1, 2]]));
  });
  it('refuses features that are not strings or do not name every input', () => {
    const doc = encodeModel(models[0], { features: ['a', 'b'] });
    assert.equal(code(() => decodeModel({ ...doc, features: ['a'] })), 'INVALID_MODEL_DOCUMENT');
    assert.equal(code(() => decodeModel({ ...doc, features: ['a', 2] })), 'INVALID_MODEL_DOCUMENT');
    assert.equal(code(() => decodeModel({ ...doc, features: 'a,b' })), 'INVALID_MODEL_DOCUMENT');
  });
  it('inference statistics: after state, the fast writer byte-equal, checked on decoding', () => {
    const singular = new LinearRegression().fit([[1, 1], [2, 2], [3, 3]], [1, 2, 4]);
    for (const [m, XX, yy] of [[models[0], X, y], [models[2], X, [1, 2, 3, 4, 5.5]], [models[3], X, [1, 2, 3, 4, 5.5]], [singular, [[1, 1], [2, 2], [3, 3]], [1, 2, 4]]] as const) {
      const inf = inferenceStats(m, XX as number[][], yy as number[], ['a', 'b']);
      assert.ok(inf !== null);
      const doc = encodeModel(m, { features: ['a', 'b'], inference: inf });
      assert.deepEqual(Object.keys(doc), ['format', 'version', 'estimator', 'params', 'features', 'state', 'inference']);
      const text = new ModelJsonEncoder(m, ['a', 'b']).json(m, inf);
      assert.equal(text, JSON.stringify(doc));
      assert.deepEqual(decodeModel(text).predict([[1, 2]]), m.predict([[1, 2]]));
      assert.equal(code(() => decodeModel({ ...JSON.parse(text), inference: { ...inf, stdErr: [1] } })), 'INVALID_MODEL_DOCUMENT');
      assert.equal(code(() => decodeModel({ ...JSON.parse(text), inference: { ...inf, pValues: ['0.5', 0.1, 0.2] } })), 'INVALID_MODEL_DOCUMENT');
    }
  });
});
