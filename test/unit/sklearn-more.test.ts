import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LinearRegression, LogisticRegression, Ridge } from 'manymodels';
import { type RegressionCase, type WeightedLogregCase, maxAbsDiff, moreFixture } from '../helpers/fixtures.js';

/**
 * LinearRegression, Ridge, class weights and multinomial LogisticRegression against
 * test/fixtures/sklearn_more.json: scikit-learn 1.2.1's answers, and exact answers computed by the
 * generator without scikit-learn (rational normal equations; 50-digit Newton). The tolerances are
 * the README's ("How faithful to scikit-learn").
 */
/** regressors: coefficients, intercept and predictions relative to 1 + |exact| */
const REG_TOL = 1e-14;
/** logistic: probabilities absolute; coefficients relative to 1 + |exact| */
const PROBA_TOL = 4e-16;
const COEF_TOL = 1e-14;

const regressions = moreFixture.cases.filter((c): c is RegressionCase => c.kind !== 'logistic');
const logistic = moreFixture.cases.filter((c): c is WeightedLogregCase => c.kind === 'logistic');

const rel = (a: number, b: number) => Math.abs(a - b) / (1 + Math.abs(b));

describe('LinearRegression and Ridge against scikit-learn 1.2.1 and the exact least-squares answer', () => {
  it('the fixture holds linear, ridge, weighted and rank-deficient cases', () => {
    assert.deepEqual(
      [regressions.filter((c) => c.kind === 'linear').length, regressions.filter((c) => c.kind === 'ridge').length],
      [9, 6],
    );
  });
  for (const c of regressions) {
    it(`${c.kind}: ${c.name}`, () => {
      const m = c.kind === 'linear' ? new LinearRegression({ fitIntercept: c.params.fit_intercept }) : new Ridge({ alpha: c.params.alpha, fitIntercept: c.params.fit_intercept });
      m.fit(c.X, c.y, c.sample_weight);
      const pred = m.predict(c.Xtest) as number[];
      if (c.coef_exact !== undefined) {
        m.coef_.forEach((w, j) => assert.ok(rel(w, c.coef_exact![j]) <= REG_TOL, `coef ${j}: ${w} vs exact ${c.coef_exact![j]}`));
        assert.ok(rel(m.intercept_, c.intercept_exact!) <= REG_TOL, `intercept ${m.intercept_} vs exact ${c.intercept_exact}`);
        pred.forEach((p, i) => assert.ok(rel(p, c.predict_test_exact![i]) <= REG_TOL, `prediction ${i}: ${p} vs exact ${c.predict_test_exact![i]}`));
      } else {
        // rank-deficient: scikit-learn's gelsd minimum-norm answer is the reference
        m.coef_.forEach((w, j) => assert.ok(rel(w, c.coef[j]) <= REG_TOL, `coef ${j}: ${w} vs scikit-learn ${c.coef[j]}`));
        assert.ok(rel(m.intercept_, c.intercept) <= REG_TOL);
      }
      // and with scikit-learn's own answer (LAPACK in double precision)
      pred.forEach((p, i) => assert.ok(rel(p, c.predict_test[i]) <= REG_TOL, `prediction ${i}: ${p} vs scikit-learn ${c.predict_test[i]}`));
      assert.ok(Math.abs(m.score(c.X, c.y, c.sample_weight) - c.score) <= 1e-12, 'R²');
    });
  }
});

describe('LogisticRegression with class and sample weights, and multinomial, against the exact optimum', () => {
  it('the fixture holds binary weighted and multinomial cases', () => {
    assert.equal(logistic.filter((c) => c.classes.length === 2).length, 4);
    assert.equal(logistic.filter((c) => c.classes.length > 2).length, 7);
  });
  for (const c of logistic) {
    it(c.name, () => {
      const m = new LogisticRegression({ C: c.params.C, fitIntercept: c.params.fit_intercept, penalty: c.params.penalty, classWeight: c.params.class_weight, maxIter: 1000 }).fit(c.X, c.y, c.sample_weight);
      assert.deepEqual(m.classes_, c.classes);
      assert.equal(m.converged_, true);
      const d = maxAbsDiff(m.predictProba(c.Xtest), c.predict_proba_test_exact);
      assert.ok(d <= PROBA_TOL, `probabilities ${d} from the exact optimum`);
      m.coef_.forEach((row, r) => row.forEach((w, j) => assert.ok(rel(w, c.coef_exact[r][j]) <= COEF_TOL, `coef[${r}][${j}] ${w} vs exact ${c.coef_exact[r][j]}`)));
      // multinomial intercepts are defined up to a common shift: compare them centred
      const centre = (b: number[]) => (b.length > 1 ? b.map((x) => x - b.reduce((s, v) => s + v, 0) / b.length) : b);
      const bi = centre(m.intercept_);
      const be = centre(c.intercept_exact);
      bi.forEach((b, r) => assert.ok(rel(b, be[r]) <= COEF_TOL, `intercept ${r}: ${b} vs exact ${be[r]}`));
      // no farther from scikit-learn than scikit-learn is from the optimum (plus rounding)
      const sk = maxAbsDiff(c.predict_proba_test, c.predict_proba_test_exact);
      assert.ok(maxAbsDiff(m.predictProba(c.Xtest), c.predict_proba_test) <= sk + PROBA_TOL);
    });
  }
});
