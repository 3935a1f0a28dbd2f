import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogisticRegression, setWarningHandler } from 'manymodels';

/** Class labels and optima as scikit-learn defines them, checked in the numerical core alone. */
describe('class labels and separation in LogisticRegression', () => {
  it('labels in a Float64Array give the classes and predictions that the same labels in an array give', () => {
    const X = [[0], [1], [2], [3], [4], [5]];
    const cases = [
      [0, 1, 0, 1, 1, 0],
      [1, 0, 0, 1, 1, 0],
      [0, 1, 2, 1, 2, 0], // a third class after 0/1 labels: multinomial
      [1, 0, 3, 1, 3, 0],
      [1, 1, 3, 3, 1, 3],
      [-0, 1, 0, 1, 1, 0],
    ];
    for (const labels of cases) {
      const a = new LogisticRegression().fit(X, labels);
      const b = new LogisticRegression().fit(X, Float64Array.from(labels));
      assert.deepEqual(b.classes_, a.classes_, `classes of ${labels}`);
      assert.deepEqual(b.coef_, a.coef_, `coefficients of ${labels}`);
      assert.deepEqual(b.predict(X), a.predict(X), `predictions of ${labels}`);
    }
    assert.throws(() => new LogisticRegression().fit(X, Float64Array.from([1, 1, 1, 1, 1, 1])), (e: { code?: string }) => e.code === 'SINGLE_CLASS');
    assert.throws(() => new LogisticRegression().fit(X, Float64Array.from([0, 1, 0, 1, NaN, 0])), (e: { code?: string }) => e.code === 'NON_FINITE_INPUT');
  });
  it('sorts text classes by code point, as numpy does (not by UTF-16 code units)', () => {
    // numpy: np.unique(['😀', 'ｙ', 'a', '\uffff', '𐀀']) -> ['a', 'ｙ', '\uffff', '𐀀', '😀']
    const y = ['😀', 'ｙ', 'a', '\uffff', '𐀀', '😀', 'ｙ', 'a', '\uffff', '𐀀'];
    const X = y.map((_, i) => [i % 3, (i * 7) % 5]);
    const m = new LogisticRegression().fit(X, y);
    assert.deepEqual(m.classes_, ['a', 'ｙ', '\uffff', '𐀀', '😀']);
    // the probability of a binary model is of classes_[1]
    const b = new LogisticRegression().fit([[0], [1], [2], [3]], ['😀', 'ｙ', '😀', 'ｙ']);
    assert.deepEqual(b.classes_, ['ｙ', '😀']);
  });

  it("refuses a continuous target (scikit-learn's type_of_target 'continuous') with CONTINUOUS_LABEL", () => {
    assert.throws(() => new LogisticRegression().fit([[0], [1], [2], [3]], [0.1, 0.2, 0.3, 0.4]), { code: 'CONTINUOUS_LABEL' });
    // whole-number floats are classes
    assert.deepEqual(new LogisticRegression().fit([[0], [1], [2], [3]], [1.0, 3.0, 1.0, 3.0]).classes_, [1, 3]);
  });

  it('separable classes with no penalty: separated_, converged_ false and a PERFECT_SEPARATION warning', async () => {
    const seen: string[] = [];
    const prev = setWarningHandler((w) => seen.push(w.code));
    try {
      const m = new LogisticRegression({ penalty: null }).fit([[1], [2], [3], [4], [5], [6]], [0, 0, 0, 1, 1, 1]);
      assert.equal(m.separated_, true);
      assert.equal(m.converged_, false);
      assert.deepEqual(seen, ['PERFECT_SEPARATION']);
      // multinomial, separable
      const k = new LogisticRegression({ penalty: null }).fit([[0, 0], [1, 0], [5, 5], [6, 5], [9, 0], [9, 1]], [0, 0, 1, 1, 2, 2]);
      assert.equal(k.separated_, true);
      assert.equal(k.converged_, false);
      // overlapping classes have a finite optimum; the L2 penalty always has one
      const o = new LogisticRegression({ penalty: null }).fit([[1], [2], [3], [4], [5], [6]], [0, 1, 0, 1, 1, 0]);
      assert.equal(o.separated_, false);
      assert.equal(o.converged_, true);
      const l2 = new LogisticRegression().fit([[1], [2], [3], [4], [5], [6]], [0, 0, 0, 1, 1, 1]);
      assert.equal(l2.separated_, false);
      assert.equal(l2.converged_, true);
    } finally {
      setWarningHandler(prev);
    }
  });
});
