import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coefficientNames, decodeModel, encodeModel, LogisticRegression, ModelJsonEncoder, ManyModelsError, type PreprocessDoc } from 'manymodels';
import { fitTransform, meanScale } from '../../src/preprocess/transform.js';

/**
 * The stored preprocessing in the model document, and its fitting rules checked against closed
 * forms (the full comparison with scikit-learn's Pipeline is test/integration/preprocess.test.ts).
 */
const PREP: PreprocessDoc = {
  columns: [
    { name: 'a', kind: 'number', fill: 1.5, mean: 0.25, scale: 2 },
    { name: 'c', kind: 'category', categories: ['blue', 'red', null] },
  ],
};

describe('preprocessing in model documents', () => {
  const est = new LogisticRegression({ C: 0.5 }).fit(
    [
      [0, 1, 0, 0],
      [1, 0, 1, 0],
      [2, 0, 0, 1],
      [3, 1, 0, 0],
      [0.5, 0, 1, 0],
    ],
    [0, 1, 0, 1, 1],
  );

  it('the fast writer writes exactly JSON.stringify(encodeModel(est, { preprocess }))', () => {
    const fast = new ModelJsonEncoder(est, ['a', 'c']).json(est, undefined, PREP);
    assert.equal(fast, JSON.stringify(encodeModel(est, { features: ['a', 'c'], preprocess: PREP })));
    assert.deepEqual(decodeModel(fast).coef_, est.coef_);
  });

  it('coefficientNames: the expanded columns, a category per name, NULL last', () => {
    const doc = encodeModel(est, { features: ['a', 'c'], preprocess: PREP });
    assert.deepEqual(coefficientNames(doc), ['a', 'c=blue', 'c=red', 'c=NULL']);
  });

  it('decodeModel refuses a malformed preprocess field with INVALID_MODEL_DOCUMENT', () => {
    const bad: [unknown, RegExp][] = [
      [{ columns: [] }, /preprocess.columns must be a non-empty array/],
      [{ columns: [{ name: 'a', kind: 'number', mean: 1, scale: 0 }, PREP.columns[1]] }, /needs a finite mean and a scale above 0/],
      [{ columns: [PREP.columns[0], { name: 'c', kind: 'category', categories: ['x', 'x', 'y'] }] }, /categories has duplicates/],
      [{ columns: [PREP.columns[0], { name: 'c', kind: 'category', categories: ['x', 2, 'y'] }] }, /must hold strings or null/],
      [{ columns: [PREP.columns[0], { name: 'c', kind: 'category', categories: ['x'] }] }, /preprocess expands to 2 features but the model has 4/],
      [{ columns: [{ name: 'a', kind: 'log' }, PREP.columns[1]] }, /kind must be "number" or "category"/],
    ];
    for (const [preprocess, message] of bad) {
      const doc = { ...encodeModel(est), preprocess };
      assert.throws(() => decodeModel(doc), (e: unknown) => e instanceof ManyModelsError && e.code === 'INVALID_MODEL_DOCUMENT' && message.test(e.message), JSON.stringify(preprocess));
    }
  });
});

describe('fitting the preprocessing of a group', () => {
  it("StandardScaler's rules: population standard deviation; a constant column scales by 1", () => {
    assert.deepEqual(meanScale(Float64Array.of(1, 2, 3, 4)), { mean: 2.5, scale: Math.sqrt(1.25) });
    assert.deepEqual(meanScale(Float64Array.of(0.1, 0.1, 0.1)), { mean: 0.1 * 3 / 3, scale: 1 });
  });

  it('imputes before scaling (median of the present values), one-hot in code point order, NULL its own category', () => {
    // columns: a number (NaN missing), a category (indexes into strings, NaN for NULL)
    const strings = ['ｙ', '😀', 'b'];
    const raw = Float64Array.of(1, 0, NaN, 1, 3, NaN, 10, 2, NaN, 0);
    const { m, doc } = fitTransform({ names: ['a', 'c'], kinds: ['number', 'category'], impute: 'median', standardize: true }, raw, 5, strings);
    // median of 1, 3, 10 is 3; imputed column 1, 3, 3, 10, 3: mean 4, population variance 48 / 5
    assert.deepEqual(doc.columns[0], { name: 'a', kind: 'number', fill: 3, mean: 4, scale: Math.sqrt(48 / 5) });
    assert.deepEqual(doc.columns[1], { name: 'c', kind: 'category', categories: ['b', 'ｙ', '😀', null] });
    assert.equal(m.cols, 5);
    const s = Math.sqrt(48 / 5);
    assert.deepEqual(Array.from(m.data), [(1 - 4) / s, 0, 1, 0, 0, (3 - 4) / s, 0, 0, 1, 0, (3 - 4) / s, 0, 0, 0, 1, (10 - 4) / s, 1, 0, 0, 0, (3 - 4) / s, 0, 1, 0, 0]);
  });

  it('a column with no value in the group is filled with 0 (keep_empty_features=True)', () => {
    const { doc } = fitTransform({ names: ['a'], kinds: ['number'], impute: 'mean', standardize: true }, Float64Array.of(NaN, NaN), 2, null);
    assert.deepEqual(doc.columns[0], { name: 'a', kind: 'number', fill: 0, mean: 0, scale: 1 });
  });
});
