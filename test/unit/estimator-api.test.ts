import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LinearRegression,
  LogisticRegression,
  ManyModelsError,
  Ridge,
  decodeModel,
  encodeModel,
  ModelJsonEncoder,
  setWarningHandler,
  type CoreWarning,
  type Estimator,
} from 'manymodels';
import { JsonColumn } from '../../dist/model-io/json-column.js';

/** The documents the UTF-8 writer writes for models, one value each, as text. */
function written(enc: ModelJsonEncoder, ms: Estimator[]): (string | null)[] {
  const col = new JsonColumn(ms.length);
  ms.forEach((m, g) => enc.write(col, g, m));
  return ms.map((_, g) => col.text(g));
}

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

describe('input validation: typed errors with stable codes', () => {
  it('single class keeps scikit-learn’s message', () => {
    assert.throws(
      () => new LogisticRegression().fit([[1], [2]], [1, 1]),
      (e: ManyModelsError) => e.code === 'SINGLE_CLASS' && /needs samples of at least 2 classes.*only one class: 1/.test(e.message),
    );
  });
  it('empty, ragged, non-finite, mismatched inputs', () => {
    assert.equal(code(() => new LogisticRegression().fit([], [])), 'EMPTY_INPUT');
    assert.equal(code(() => new LogisticRegression().fit([[1, 2], [3]], [0, 1])), 'RAGGED_INPUT');
    assert.equal(code(() => new LogisticRegression().fit([[1], [NaN]], [0, 1])), 'NON_FINITE_INPUT');
    assert.equal(code(() => new LinearRegression().fit([[1], [Infinity]], [0, 1])), 'NON_FINITE_INPUT');
    assert.equal(code(() => new LinearRegression().fit([[1], [2]], [0, NaN])), 'NON_FINITE_INPUT');
    assert.equal(code(() => new LogisticRegression().fit([[1], [2]], [0, 1, 1])), 'LENGTH_MISMATCH');
    assert.equal(code(() => new LogisticRegression().fit([[1], [2]], [0, 1], [1])), 'LENGTH_MISMATCH');
    assert.equal(code(() => new LogisticRegression().fit([[1], [2]], [0, 'a'])), 'INVALID_LABEL');
    assert.equal(code(() => new LogisticRegression().fit([[1], [2]], [0, 1], [1, -1])), 'INVALID_SAMPLE_WEIGHT');
  });
  it('a non-finite value is named by its row and column, the first of several', () => {
    // 3 rows × 5 features: -Infinity at row 1, column 3, NaN later, past the four-at-a-time part too
    for (const [at, v] of [[8, -Infinity], [14, Infinity], [0, NaN]] as const) {
      const data = new Float64Array(15).map((_, k) => k + 1);
      data[at] = v;
      if (at !== 14) data[13] = NaN;
      const rows = [0, 1, 2].map((i) => Array.from(data.subarray(5 * i, 5 * i + 5)));
      for (const X of [{ data, rows: 3, cols: 5 }, rows]) {
        assert.throws(
          () => new LogisticRegression().fit(X, [0, 1, 0]),
          (e: ManyModelsError) => e.code === 'NON_FINITE_INPUT' && e.message.includes(`contains ${v} at row ${Math.floor(at / 5)}, column ${at % 5}:`),
        );
      }
    }
  });
  it('the message names the problem', () => {
    assert.throws(() => new LogisticRegression().fit([[1, 2], [3]], [0, 1]), /row 0 has 2 values but row 1 has 1/);
    assert.throws(() => new LogisticRegression().fit([[1], [NaN]], [0, 1]), /NaN at row 1, column 0/);
  });
  it('bad parameters name the parameter, the range and the value', () => {
    assert.throws(() => new LogisticRegression({ C: -1 }), (e: ManyModelsError) => e.code === 'INVALID_PARAMETER' && /'C' must be a finite number > 0, got -1/.test(e.message));
    assert.throws(() => new LogisticRegression({ maxIter: 0 }), /'maxIter' must be an integer ≥ 1/);
    assert.throws(() => new Ridge({ alpha: -0.1 }), /'alpha' must be a finite number ≥ 0/);
    assert.throws(() => new LogisticRegression({ gamma: 1 } as never), (e: ManyModelsError) => e.code === 'INVALID_PARAMETER' && /no parameter 'gamma'/.test(e.message));
    assert.throws(() => new LogisticRegression({ penalty: 'l1' as never }), /'penalty' must be one of "l2", null/);
  });
  it('predicting before fit or with the wrong feature count', () => {
    assert.equal(code(() => new LogisticRegression().predict([[1]])), 'NOT_FITTED');
    const m = new LogisticRegression().fit(X, y);
    assert.equal(code(() => m.predict([[1, 2, 3]])), 'FEATURE_COUNT_MISMATCH');
  });
});

describe('LogisticRegression API', () => {
  it('has scikit-learn’s defaults and returns this from fit', () => {
    const m = new LogisticRegression();
    assert.deepEqual(m.getParams(), { C: 1, penalty: 'l2', fitIntercept: true, maxIter: 100, tol: 1e-4, classWeight: null, solver: 'auto' });
    assert.equal(m.fit(X, y), m);
  });
  it('accepts a row-major Float64Array with its shape and gives the same model', () => {
    const a = new LogisticRegression().fit(X, y);
    const b = new LogisticRegression().fit({ data: Float64Array.from(X.flat()), shape: [5, 2] }, y);
    assert.deepEqual(a.coef_, b.coef_);
    assert.deepEqual(a.intercept_, b.intercept_);
  });
  it('string labels: classes_ sorted, proba columns in that order, predict returns labels', () => {
    const m = new LogisticRegression().fit(X, y.map((v) => (v ? 'yes' : 'no')));
    assert.deepEqual(m.classes_, ['no', 'yes']);
    const p = m.predictProba([[6, 7]]);
    assert.ok(p[0][1] > 0.5);
    assert.deepEqual(m.predict([[6, 7], [1, 1]]), ['yes', 'no']);
    assert.equal(m.score(X, ['no', 'no', 'yes', 'yes', 'yes']), 1);
  });
  it('integer sample weights equal repeated rows', () => {
    const a = new LogisticRegression().fit(X, y, [1, 3, 1, 1, 2]);
    const b = new LogisticRegression().fit([X[0], X[1], X[1], X[1], X[2], X[3], X[4], X[4]], [0, 0, 0, 0, 1, 1, 1, 1]);
    for (let j = 0; j < 2; j++) assert.ok(Math.abs(a.coef_[0][j] - b.coef_[0][j]) < 1e-10);
    assert.ok(Math.abs(a.intercept_[0] - b.intercept_[0]) < 1e-10);
  });
  it("classWeight 'balanced' multiplies sample weights by n / (K · count)", () => {
    const a = new LogisticRegression({ classWeight: 'balanced' }).fit(X, y);
    const b = new LogisticRegression().fit(X, y, y.map((v) => (v === 0 ? 5 / (2 * 2) : 5 / (2 * 3))));
    assert.ok(Math.abs(a.coef_[0][0] - b.coef_[0][0]) < 1e-12);
    const c = new LogisticRegression({ classWeight: { 1: 3 } }).fit(X, y);
    const d = new LogisticRegression().fit(X, y, y.map((v) => (v === 1 ? 3 : 1)));
    assert.ok(Math.abs(c.coef_[0][1] - d.coef_[0][1]) < 1e-12);
    assert.throws(() => new LogisticRegression({ classWeight: { 7: 2 } }).fit(X, y), /class "7", which is not present/);
  });
  it('reports non-convergence with converged_ = false and a warning', () => {
    const seen: CoreWarning[] = [];
    const prev = setWarningHandler((w) => seen.push(w));
    try {
      // overlapping classes (a finite optimum exists) and one iteration allowed: not yet there
      // (separable classes with no penalty are reported as PERFECT_SEPARATION: test/unit/class-labels.test.ts)
      const m = new LogisticRegression({ penalty: null, maxIter: 1 }).fit([[0], [1], [2], [3], [1.5], [2.5]], [0, 1, 0, 1, 1, 0]);
      assert.equal(m.converged_, false);
      assert.equal(m.nIter_, 1);
      assert.equal(seen.length, 1);
      assert.equal(seen[0].code, 'CONVERGENCE');
      assert.match(seen[0].message, /did not converge in maxIter=1/);
    } finally {
      setWarningHandler(prev);
    }
  });
  it('the L-BFGS solver reaches the same optimum as Newton', () => {
    const a = new LogisticRegression({ solver: 'newton' }).fit(X, y);
    const b = new LogisticRegression({ solver: 'lbfgs', maxIter: 1000 }).fit(X, y);
    assert.equal(b.converged_, true);
    const pa = a.predictProba(X);
    const pb = b.predictProba(X);
    pa.forEach((r, i) => assert.ok(Math.abs(r[1] - pb[i][1]) < 1e-6));
  });
  it('multinomial: proba rows sum to 1 and the intercepts sum to 0 (scikit-learn’s gauge)', () => {
    const Xm = [[0, 0], [1, 0], [0, 1], [1, 1], [2, 0], [0, 2], [2, 2], [1, 2], [2, 1]];
    const ym = ['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c'];
    const m = new LogisticRegression().fit(Xm, ym);
    assert.equal(m.coef_.length, 3);
    assert.ok(Math.abs(m.intercept_.reduce((s, v) => s + v, 0)) < 1e-10);
    for (const row of m.predictProba(Xm)) assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-14);
    assert.equal((m.decisionFunction(Xm) as number[][])[0].length, 3);
  });
});

describe('model documents', () => {
  const models = [
    new LogisticRegression({ C: 0.5 }).fit(X, y),
    new LogisticRegression().fit([[0, 1], [1, 0], [2, 2], [3, 1], [4, 0], [5, 3]], ['a', 'b', 'c', 'a', 'b', 'c']),
    new LinearRegression().fit(X, [1, 2, 3, 4, 5.5]),
    new Ridge({ alpha: 2 }).fit(X, [1, 2, 3, 4, 5.5]),
  ];
  it('round-trip through JSON text and predict the same numbers bit for bit', () => {
    const Xt = [[1, 1], [3.3, 2.2], [10, -4]];
    for (const m of models) {
      const doc = encodeModel(m);
      assert.equal(doc.format, 'manymodels.model');
      assert.equal(doc.version, 1);
      assert.equal(doc.estimator, m.estimatorName);
      const back = decodeModel(JSON.stringify(doc));
      assert.deepEqual(back.predict(Xt), m.predict(Xt));
      if (m instanceof LogisticRegression) assert.deepEqual((back as LogisticRegression).predictProba(Xt), m.predictProba(Xt));
      assert.deepEqual(encodeModel(back), doc);
    }
  });
  it('the fast JSON encoder writes exactly JSON.stringify(encodeModel(model))', () => {
    const withNegZero = new LinearRegression().fit([[1, 5], [2, 5], [3, 5]], [1, 2, 3]);
    for (const m of [...models, withNegZero, new LogisticRegression({ classWeight: { 0: 2 }, C: 1e-300 }).fit(X, y)]) {
      assert.equal(new ModelJsonEncoder(m).json(m), JSON.stringify(encodeModel(m)));
    }
    // every form Number::toString takes (fixed, 0.00000d, exponents both ways, the smallest
    // subnormal, the largest double), −0, and the non-finite values JSON writes as null
    const awkward = [-0, 1e-7, 1.5e-7, 123456789012345680000, 1e21, -2.5e-300, 5e-324, Number.MAX_VALUE, 0.1 + 0.2, 1 / 3, NaN, Infinity];
    for (let i = 0; i + 2 <= awkward.length; i += 2) {
      const lin = new LinearRegression().fit([[1, 5], [2, 5], [3, 5]], [1, 2, 3]);
      lin.coef_ = awkward.slice(i, i + 2);
      lin.intercept_ = awkward[awkward.length - 1 - i];
      const log = new LogisticRegression().fit(X, y);
      log.coef_ = [awkward.slice(i, i + 2)];
      log.intercept_ = [awkward[awkward.length - 1 - i]];
      for (const m of [lin, log]) assert.equal(new ModelJsonEncoder(m).json(m), JSON.stringify(encodeModel(m)));
      // classes too are written as numbers (the UTF-8 writer has its own copy of the rules)
      const odd = new LogisticRegression().fit(X, y);
      odd.classes_ = awkward.slice(i, i + 2);
      assert.equal(new ModelJsonEncoder(odd).json(odd), JSON.stringify(encodeModel(odd)));
      for (const m of [lin, log, odd]) assert.equal(written(new ModelJsonEncoder(m), [m])[0], JSON.stringify(encodeModel(m)));
    }
  });
  it('the UTF-8 writer writes exactly the fast encoder’s text, value by value, NULL where nothing was written', () => {
    const wide = new LogisticRegression().fit([[1, 2, 3], [3, 1, 0], [0, 0, 1], [5, 5, 5], [2, 2, 2]], [0, 1, 0, 1, 1]);
    const text = new LogisticRegression().fit(X, y.map((v) => (v === 1 ? 'yes' : 'no')));
    const many: Estimator[] = [...models, wide, text, new LogisticRegression({ maxIter: 1 }).fit(X, y)];
    for (const features of [undefined, ['a', 'b"é'], { array: 'Feats' }] as const) {
      for (const m of many) {
        if (features !== undefined && m.nFeaturesIn_ !== 2 && !('array' in features)) continue;
        const enc = new ModelJsonEncoder(m, features as never);
        // three groups, the middle one never written (a failed group: NULL)
        const col = new JsonColumn(3);
        enc.write(col, 0, m);
        enc.write(col, 2, m);
        assert.deepEqual([col.text(0), col.text(1), col.text(2)], [enc.json(m), null, enc.json(m)], `${m.estimatorName} ${JSON.stringify(features)}`);
      }
    }
  });
  it('rejects unknown formats and versions, missing and non-finite fields', () => {
    const doc = encodeModel(models[0]);
    const bad = (mut: (d: Record<string, any>) => void): string => {
      const d = JSON.parse(JSON.stringify(doc));
      mut(d);
      return code(() => decodeModel(d));
    };
    assert.equal(bad((d) => (d.format = 'pickle')), 'INVALID_MODEL_DOCUMENT');
    assert.equal(bad((d) => (d.version = 2)), 'INVALID_MODEL_DOCUMENT');
    assert.throws(() => decodeModel({ ...doc, version: 2 }), /version 2.*upgrade manymodels/s);
    assert.equal(bad((d) => delete d.state.coef), 'INVALID_MODEL_DOCUMENT');
    assert.equal(bad((d) => (d.state.coef[0][1] = null)), 'INVALID_MODEL_DOCUMENT');
    assert.equal(bad((d) => (d.state.intercept = [])), 'INVALID_MODEL_DOCUMENT');
    assert.equal(bad((d) => (d.state.classes = [0])), 'INVALID_MODEL_DOCUMENT');
    assert.equal(bad((d) => (d.estimator = 'SVC')), 'INVALID_MODEL_DOCUMENT');
    assert.equal(bad((d) => (d.params.C = -3)), 'INVALID_MODEL_DOCUMENT');
    assert.equal(code(() => decodeModel('{not json')), 'INVALID_MODEL_DOCUMENT');
    assert.equal(code(() => decodeModel({ ...encodeModel(models[2]), state: { ...encodeModel(models[2]).state, intercept: 'NaN' } })), 'INVALID_MODEL_DOCUMENT');
  });
});
