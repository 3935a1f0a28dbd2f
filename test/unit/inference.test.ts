import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { LinearRegression, LogisticRegression, Ridge, inferenceStats, normalCdf, normalTwoSided, studentTCdf, studentTTwoSided } from 'manymodels';
import { HOUSES, MADLIB_LINREGR, MADLIB_LOGREGR, PATIENTS } from '../helpers/madlib.js';

/**
 * Inference statistics against outside numbers: MADlib's published examples (logregr_train's
 * `patients`, linregr_train's `houses`, from its user documentation: the doc comments of
 * src/ports/postgres/modules/regress/logistic.sql_in and linear.sql_in), and numpy / SciPy
 * (test/fixtures/make_inference_oracle.py writes inference_oracle.json).
 */
const oracle = JSON.parse(readFileSync(new URL('../fixtures/inference_oracle.json', import.meta.url), 'utf8'));

function close(actual: number | null | undefined, expected: number, tol: number, what: string): void {
  assert.ok(typeof actual === 'number', `${what}: got ${actual}`);
  const err = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-300);
  assert.ok(err <= tol, `${what}: ${actual} vs ${expected} (relative ${err.toExponential(2)} > ${tol})`);
}
function closeAll(actual: readonly (number | null)[] | undefined, expected: readonly number[], tol: number, what: string): void {
  assert.equal(actual?.length, expected.length, what);
  expected.forEach((e, i) => close(actual?.[i], e, tol, `${what}[${i}]`));
}

const PX = PATIENTS.map((r) => [r[2], r[3]]);
const PY = PATIENTS.map((r) => r[1]);

/**
 * MADlib's IRLS as its source runs it (logistic.cpp): Newton steps from 0, each pass summing XᵀAX
 * and the log-likelihood at the current coefficients, then stepping; it stops when the
 * log-likelihood changes by less than the tolerance (1e-4), and reports the stepped coefficients
 * with the previous pass's XᵀAX and log-likelihood. Returns [the pass's point, the reported coef].
 */
function madlibIrls(): [number[], number[]] {
  const Z = PATIENTS.map((r) => [1, r[2], r[3]]);
  let c = [0, 0, 0];
  let prevLl: number | null = null;
  for (let it = 0; it < 20; it++) {
    const H = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
    const g = [0, 0, 0];
    let ll = 0;
    Z.forEach((z, i) => {
      const eta = z[0] * c[0] + z[1] * c[1] + z[2] * c[2];
      const p = 1 / (1 + Math.exp(-eta));
      ll += PY[i] === 1 ? Math.log(p) : Math.log(1 - p);
      for (let a = 0; a < 3; a++) {
        g[a] += z[a] * (PY[i] - p);
        for (let b = 0; b < 3; b++) H[a][b] += p * (1 - p) * z[a] * z[b];
      }
    });
    // solve H·step = g by Gaussian elimination
    const M = H.map((r, a) => [...r, g[a]]);
    for (let k = 0; k < 3; k++) for (let i = k + 1; i < 3; i++) { const f = M[i][k] / M[k][k]; for (let j = k; j < 4; j++) M[i][j] -= f * M[k][j]; }
    const step = [0, 0, 0];
    for (let i = 2; i >= 0; i--) step[i] = (M[i][3] - M[i].slice(i + 1, 3).reduce((s, v, j) => s + v * step[i + 1 + j], 0)) / M[i][i];
    const next = c.map((v, a) => v + step[a]);
    if (prevLl !== null && Math.abs(ll - prevLl) < 1e-4) return [c, next];
    prevLl = ll;
    c = next;
  }
  throw new Error('no convergence');
}

describe('distribution functions against SciPy', () => {
  it('the normal distribution and its two-sided p-value to 2e-13 (relative)', () => {
    for (const [z, two, lo, hi] of oracle.normal) {
      close(normalTwoSided(z), two, 2e-13, `2Φ(−${z})`);
      close(normalCdf(-z), lo, 2e-13, `Φ(−${z})`);
      close(normalCdf(z), hi, 2e-13, `Φ(${z})`);
    }
  });
  it("Student's t to 2e-13 up to 1000 degrees of freedom, 1e-11 at 1e5", () => {
    for (const [v, df, two, lo, hi] of oracle.t) {
      const tol = df > 1000 ? 1e-11 : 2e-13;
      close(studentTTwoSided(v, df), two, tol, `2T_${df}(−${v})`);
      close(studentTCdf(-v, df), lo, tol, `T_${df}(−${v})`);
      close(studentTCdf(v, df), hi, tol, `T_${df}(${v})`);
    }
  });
});

describe("MADlib's logregr_train example (patients)", () => {
  it("reproduces MADlib's printed numbers at the point its IRLS stops", () => {
    const [point, reported] = madlibIrls();
    closeAll(reported, MADLIB_LOGREGR.coef, 1e-13, 'coef (our re-run of its IRLS)');
    // the statistics at the point where MADlib computed its last XᵀAX
    const m = new LogisticRegression({ penalty: null }).fit(PX, PY);
    m.intercept_ = [point[0]];
    m.coef_ = [point.slice(1)];
    const s = inferenceStats(m, PX, PY, ['treatment', 'trait_anxiety']);
    assert.ok(s !== null);
    assert.deepEqual(s.names, ['intercept', 'treatment', 'trait_anxiety']);
    assert.equal(s.method, 'mle');
    close(s.logLikelihood, MADLIB_LOGREGR.logLikelihood, 1e-14, 'log_likelihood');
    closeAll(s.stdErr, MADLIB_LOGREGR.stdErr, 1e-13, 'std_err');
    closeAll(s.varianceCovariance[0], MADLIB_LOGREGR.vcovRow0, 1e-13, 'variance_covariance[0]');
    close(s.conditionNo, MADLIB_LOGREGR.conditionNo, 1e-13, 'condition_no');
    // z, p and odds ratios of the reported coefficients
    const z = MADLIB_LOGREGR.coef.map((c, i) => c / (s.stdErr[i] as number));
    closeAll(z, MADLIB_LOGREGR.zStats, 1e-13, 'z_stats');
    closeAll(MADLIB_LOGREGR.zStats.map(normalTwoSided), MADLIB_LOGREGR.pValues, 1e-13, 'p_values');
    closeAll(MADLIB_LOGREGR.coef.map(Math.exp), MADLIB_LOGREGR.oddsRatios, 1e-13, 'odds_ratios');
  });
  it('at the exact optimum: numpy’s numbers to 1e-10, and MADlib’s within the distance of its stopping point', () => {
    const m = new LogisticRegression({ penalty: null }).fit(PX, PY);
    const s = inferenceStats(m, PX, PY, ['treatment', 'trait_anxiety']);
    assert.ok(s !== null);
    const o = oracle.patients_mle;
    for (const k of ['coef', 'stdErr', 'zStats', 'pValues', 'oddsRatios'] as const) closeAll(s[k] as number[], o[k], 1e-10, k);
    close(s.logLikelihood, o.logLikelihood, 1e-12, 'logLikelihood');
    close(s.conditionNo, o.conditionNo, 1e-10, 'conditionNo');
    s.varianceCovariance.forEach((r, i) => closeAll(r, o.varianceCovariance[i], 1e-10, `vcov[${i}]`));
    // MADlib's statistics use the Hessian one IRLS step before its coefficients: 2e-6 away (p-values 1.3e-5)
    for (const k of ['coef', 'stdErr', 'zStats', 'pValues', 'oddsRatios'] as const) closeAll(s[k] as number[], MADLIB_LOGREGR[k], 3e-5, `${k} vs MADlib`);
    close(s.logLikelihood, MADLIB_LOGREGR.logLikelihood, 1e-10, 'logLikelihood vs MADlib');
    close(s.conditionNo, MADLIB_LOGREGR.conditionNo, 1e-5, 'conditionNo vs MADlib');
  });
  it('penalised (C = 0.1): labelled, from the inverse of the penalised Hessian, as numpy computes it', () => {
    const m = new LogisticRegression({ C: 0.1 }).fit(PX, PY);
    const s = inferenceStats(m, PX, PY);
    assert.ok(s !== null);
    assert.equal(s.method, 'penalised-hessian');
    assert.deepEqual(s.names, ['intercept', 'x0', 'x1']);
    const o = oracle['patients_l2_C0.1'];
    for (const k of ['coef', 'stdErr', 'zStats', 'pValues', 'oddsRatios'] as const) closeAll(s[k] as number[], o[k], 1e-10, k);
    close(s.logLikelihood, o.logLikelihood, 1e-12, 'logLikelihood');
    close(s.conditionNo, o.conditionNo, 1e-10, 'conditionNo');
  });
});

describe("MADlib's linregr_train example (houses)", () => {
  const fit = (rows: number[][]) => {
    const X = rows.map((r) => [r[1], r[3], r[5]]);
    const y = rows.map((r) => r[4]);
    return inferenceStats(new LinearRegression().fit(X, y), X, y, ['tax', 'bath', 'size']);
  };
  for (const [group, rows] of [['all', HOUSES], ['3', HOUSES.filter((r) => r[2] === 3)], ['2', HOUSES.filter((r) => r[2] === 2)]] as const) {
    it(`${group === 'all' ? 'all rows' : `the group bedroom = ${group}`}: every printed number`, () => {
      const s = fit(rows);
      const e = MADLIB_LINREGR[group];
      assert.ok(s !== null);
      assert.equal(s.method, 'ols');
      assert.equal(s.dfResidual, rows.length - 4);
      for (const k of ['coef', 'stdErr', 'tStats', 'pValues'] as const) closeAll(s[k] as number[], e[k], 1e-11, k);
      close(s.r2, e.r2, 3e-13, 'r2');
      closeAll(s.varianceCovariance[0], e.vcovRow0, 1e-11, 'variance_covariance[0]');
      // MADlib takes it from the eigenvalues of XᵀX, which lose ~κ·eps; ours agrees with numpy's SVD of X to 1e-14
      close(s.conditionNo, e.conditionNo, 1e-9, 'condition_no');
    });
  }
  it('ridge (alpha = 1000): labelled, σ²·(ZᵀZ + αP)⁻¹, as numpy computes it', () => {
    const X = HOUSES.map((r) => [r[1], r[3], r[5]]);
    const y = HOUSES.map((r) => r[4]);
    const s = inferenceStats(new Ridge({ alpha: 1000 }).fit(X, y), X, y);
    assert.ok(s !== null);
    assert.equal(s.method, 'penalised-hessian');
    const o = oracle.houses_ridge_alpha1000;
    for (const k of ['coef', 'stdErr', 'tStats', 'pValues'] as const) closeAll(s[k] as number[], o[k], 1e-9, k);
    close(s.r2, o.r2, 1e-12, 'r2');
    close(s.conditionNo, o.conditionNo, 1e-9, 'conditionNo');
  });
  it('a singular design (a duplicated column) or too few rows: nulls, not numbers', () => {
    const X = HOUSES.map((r) => [r[1], r[1]]);
    const y = HOUSES.map((r) => r[4]);
    const s = inferenceStats(new LinearRegression().fit(X, y), X, y);
    assert.ok(s !== null);
    assert.equal(s.conditionNo, null);
    assert.deepEqual(s.stdErr, [null, null, null]);
    assert.deepEqual(s.pValues, [null, null, null]);
    const few = inferenceStats(new LinearRegression().fit([[1], [2]], [1, 3]), [[1], [2]], [1, 3]);
    assert.equal(few?.dfResidual, 0);
    assert.deepEqual(few?.pValues, [null, null]);
    // one row, three coefficients: no residual degrees of freedom and no R² (scikit-learn's r2_score is undefined on one sample)
    const one = inferenceStats(new Ridge({ alpha: 1 }).fit([[1, 2]], [3]), [[1, 2]], [3]);
    assert.equal(one?.dfResidual, null);
    assert.equal(one?.r2, null);
    assert.equal(inferenceStats(new LogisticRegression().fit([[0], [1], [2]], ['a', 'b', 'c']), [[0], [1], [2]], ['a', 'b', 'c']), null, 'multiclass: none');
  });
});
