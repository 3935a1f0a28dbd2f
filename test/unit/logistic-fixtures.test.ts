import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { LogisticRegression } from 'manymodels';

interface Case {
  name: string;
  X: number[][];
  y: number[];
  params: { C: number; fit_intercept: boolean; penalty: 'l2' | null; max_iter: number; tol: number };
  classes: number[];
  coef: number[][];
  intercept: number[];
  predict_proba: number[][];
  Xtest: number[][];
  predict_proba_test: number[][];
  predict_proba_exact?: number[][];
  predict_proba_test_exact?: number[][];
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/sklearn_logreg.json', import.meta.url), 'utf8')) as { cases: Case[] };

function maxAbsDiff(a: number[][], b: number[][]): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    assert.equal(a[i].length, b[i].length);
    for (let j = 0; j < a[i].length; j++) m = Math.max(m, Math.abs(a[i][j] - b[i][j]));
  }
  return m;
}

describe('LogisticRegression against scikit-learn 1.2.1 fixtures', () => {
  assert.ok(fixture.cases.length >= 40, 'the fixture file holds the ~40 cases');
  for (const c of fixture.cases) {
    it(c.name, () => {
      const model = new LogisticRegression({
        C: c.params.C,
        penalty: c.params.penalty,
        fitIntercept: c.params.fit_intercept,
        maxIter: c.params.max_iter,
        tol: c.params.tol,
      }).fit(c.X, c.y);
      assert.deepEqual(model.classes_, c.classes);
      assert.equal(model.coef_.length, c.coef.length);
      assert.equal(model.converged_, true);
      const p = model.predictProba(c.X);
      const pt = model.predictProba(c.Xtest);
      if (c.predict_proba_exact && c.predict_proba_test_exact) {
        // binary: at the exact optimum, and no farther from scikit-learn than scikit-learn is from it
        const dx = maxAbsDiff(p, c.predict_proba_exact);
        const dt = maxAbsDiff(pt, c.predict_proba_test_exact);
        assert.ok(dx <= 1e-8, `proba on X differs from the exact optimum by ${dx}`);
        assert.ok(dt <= 1e-8, `proba on Xtest differs from the exact optimum by ${dt}`);
        const skX = maxAbsDiff(c.predict_proba, c.predict_proba_exact);
        const skT = maxAbsDiff(c.predict_proba_test, c.predict_proba_test_exact);
        assert.ok(maxAbsDiff(p, c.predict_proba) <= skX + 1e-6);
        assert.ok(maxAbsDiff(pt, c.predict_proba_test) <= skT + 1e-6);
      } else {
        const dx = maxAbsDiff(p, c.predict_proba);
        const dt = maxAbsDiff(pt, c.predict_proba_test);
        assert.ok(dx <= 1e-4, `multinomial proba on X differs from scikit-learn by ${dx}`);
        assert.ok(dt <= 1e-4, `multinomial proba on Xtest differs from scikit-learn by ${dt}`);
      }
    });
  }
});
