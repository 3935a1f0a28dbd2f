import { type Label, type LabelInput, type Matrix, type MatrixInput, encodeLabels, toMatrix, toTarget } from '../estimators/input.js';
import { LinearModel } from '../estimators/linear-model.js';
import { applyClassWeight, LogisticRegression } from '../estimators/logistic-regression.js';
import type { Estimator } from '../estimators/registry.js';
import { Ridge } from '../estimators/ridge.js';
import { symmetricEigen } from '../linalg/eigen-sym.js';
import { normalTwoSided, studentTTwoSided } from './distributions.js';

/**
 * Inference statistics of a fitted model, as MADlib's logregr_train and linregr_train report them
 * per group. Every array runs over the parameters in the order of `names`: the intercept first
 * (when fitted), then the coefficients. A value that does not exist (a singular Hessian, no
 * residual degrees of freedom) is null.
 *
 * - `method` 'mle' (LogisticRegression, penalty null) and 'ols' (LinearRegression): the usual
 *   large-sample (logistic: Wald, normal) and exact (least squares: Student's t, n − p degrees of
 *   freedom) statistics at the fitted coefficients.
 * - `method` 'penalised-hessian' (LogisticRegression with penalty l2, Ridge): the same formulas with
 *   the inverse of the penalised objective's Hessian as covariance, i.e. the Laplace approximation
 *   of the posterior under the Gaussian prior the penalty is. They are not the sampling
 *   distribution of the penalised estimate (which is biased towards 0): read them as such.
 *
 * Logistic (weights sᵢ: class weights, else 1; pᵢ the fitted probability of classes[1]):
 *   H = Zᵀ·diag(sᵢ pᵢ (1 − pᵢ))·Z (+ P / C when penalised; Z = [1, X], P = I without the intercept)
 *   varianceCovariance = H⁻¹, stdErr = √diag, zStats = coef / stdErr, pValues = 2·Φ(−|z|),
 *   oddsRatios = exp(coef), logLikelihood = Σ sᵢ log P(yᵢ), conditionNo = √(λmax / λmin) of H.
 * Least squares (residuals rᵢ, n rows, p parameters):
 *   σ² = Σ rᵢ² / (n − p), varianceCovariance = σ²·(ZᵀZ + αP)⁻¹, tStats = coef / stdErr,
 *   pValues = 2·T_{n−p}(−|t|), r2 = 1 − Σ rᵢ² / Σ (yᵢ − ȳ)², conditionNo = √(λmax / λmin) of ZᵀZ + αP.
 * conditionNo is MADlib's (√ of the eigenvalue ratio of the matrix it inverts, i.e. the 2-norm
 * condition number of the weighted design diag(√a)·Z): above ~1000, the columns are nearly collinear.
 */
export interface InferenceStats {
  method: 'mle' | 'ols' | 'penalised-hessian';
  names: string[];
  coef: number[];
  stdErr: (number | null)[];
  /** Wald z statistics (LogisticRegression). */
  zStats?: (number | null)[];
  /** t statistics (LinearRegression, Ridge). */
  tStats?: (number | null)[];
  pValues: (number | null)[];
  /** exp(coef) (LogisticRegression). */
  oddsRatios?: (number | null)[];
  /** The log-likelihood at the fitted coefficients, without the penalty (LogisticRegression). */
  logLikelihood?: number | null;
  /** Coefficient of determination on the training rows (LinearRegression, Ridge). */
  r2?: number | null;
  /** n − p (LinearRegression, Ridge); null when there are fewer rows than coefficients. */
  dfResidual?: number | null;
  conditionNo: number | null;
  varianceCovariance: (number | null)[][];
  nRows: number;
}

const fin = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** A symmetric positive definite matrix's inverse and condition number λmax / λmin; null inverse when singular. */
function invertSpd(h: Float64Array, p: number): { inverse: Float64Array | null; cond: number } {
  const { values, vectors } = symmetricEigen(h, p);
  let lo = Infinity;
  let hi = 0;
  for (const l of values) {
    if (l < lo) lo = l;
    if (Math.abs(l) > hi) hi = Math.abs(l);
  }
  // numerically singular (or not positive): no inverse, an infinite condition number
  if (!(lo > hi * p * 2.220446049250313e-16)) return { inverse: null, cond: Infinity };
  const inv = new Float64Array(p * p);
  for (let k = 0; k < p; k++) {
    const r = 1 / values[k];
    for (let i = 0; i < p; i++) {
      const vik = vectors[i * p + k] * r;
      for (let j = 0; j < p; j++) inv[i * p + j] += vik * vectors[j * p + k];
    }
  }
  return { inverse: inv, cond: hi / lo };
}

/** The design row of a parameter vector [intercept?, coef...] for row i. */
function design(m: Matrix, fi: boolean): { p: number; z: (i: number, out: Float64Array) => void } {
  const d = m.cols;
  const p = d + (fi ? 1 : 0);
  return {
    p,
    z: (i, out) => {
      const o = fi ? 1 : 0;
      if (fi) out[0] = 1;
      for (let j = 0; j < d; j++) out[o + j] = m.data[i * d + j];
    },
  };
}

/**
 * The inference statistics of `est` fitted on X, y (the same rows it was fitted on). `names` are
 * the coefficients' names (default x0, x1, ...). Returns null for a LogisticRegression of three or
 * more classes, whose softmax parameters are not identified without a penalty.
 */
export function inferenceStats(est: Estimator, X: MatrixInput, y: LabelInput, names?: readonly string[]): InferenceStats | null {
  const m = toMatrix(X);
  const n = m.rows;
  const d = m.cols;
  const labels = names?.slice() ?? Array.from({ length: d }, (_, j) => `x${j}`);
  if (est instanceof LogisticRegression) {
    if (est.classes_.length !== 2) return null;
    return logistic(est, m, y, labels);
  }
  const lm = est as LinearModel;
  const fi = lm.fitIntercept;
  const { p, z } = design(m, fi);
  const t = toTarget(y, n);
  const coef = fi ? [lm.intercept_, ...lm.coef_] : lm.coef_.slice();
  const alpha = est instanceof Ridge ? est.alpha : 0;
  const h = new Float64Array(p * p);
  const row = new Float64Array(p);
  let rss = 0;
  let ymean = 0;
  for (let i = 0; i < n; i++) ymean += t[i];
  ymean /= n;
  let tss = 0;
  for (let i = 0; i < n; i++) {
    z(i, row);
    let pred = 0;
    for (let a = 0; a < p; a++) {
      pred += row[a] * coef[a];
      for (let b = 0; b <= a; b++) h[a * p + b] += row[a] * row[b];
    }
    rss += (t[i] - pred) ** 2;
    tss += (t[i] - ymean) ** 2;
  }
  for (let a = 0; a < p; a++) {
    for (let b = 0; b < a; b++) h[b * p + a] = h[a * p + b];
    if (!(fi && a === 0)) h[a * p + a] += alpha;
  }
  const df = n - p;
  const sigma2 = df > 0 ? rss / df : Number.NaN;
  const { inverse, cond } = invertSpd(h, p);
  const vcov = (a: number, b: number): number => (inverse === null ? Number.NaN : sigma2 * inverse[a * p + b]);
  const stdErr = coef.map((_, a) => Math.sqrt(vcov(a, a)));
  const tStats = coef.map((c, a) => (c === 0 && stdErr[a] === 0 ? 0 : c / stdErr[a]));
  return {
    method: alpha > 0 ? 'penalised-hessian' : 'ols',
    names: fi ? ['intercept', ...labels] : labels,
    coef,
    stdErr: stdErr.map(fin),
    tStats: tStats.map(fin),
    pValues: tStats.map((v) => (df > 0 ? fin(studentTTwoSided(v, df)) : null)),
    // scikit-learn's r2_score: undefined (null) on fewer than two rows; a constant target gives 1 if fitted exactly, else 0
    r2: n < 2 ? null : tss === 0 ? (rss === 0 ? 1 : 0) : fin(1 - rss / tss),
    dfResidual: df >= 0 ? df : null,
    conditionNo: fin(Math.sqrt(cond)),
    varianceCovariance: coef.map((_, a) => coef.map((__, b) => fin(vcov(a, b)))),
    nRows: n,
  };
}

function logistic(est: LogisticRegression, m: Matrix, y: LabelInput, names: string[]): InferenceStats {
  const n = m.rows;
  const fi = est.fitIntercept;
  const { p, z } = design(m, fi);
  const { classes, index } = encodeLabels(y, n);
  // the fitted model's positive class, by value (the rows' classes are the model's)
  const pos = est.classes_[1] as Label;
  const sw = applyClassWeight(est.classWeight, classes, index, null);
  const w = est.coef_[0];
  const coef = fi ? [est.intercept_[0], ...w] : w.slice();
  const h = new Float64Array(p * p);
  const row = new Float64Array(p);
  let ll = 0;
  for (let i = 0; i < n; i++) {
    z(i, row);
    let eta = 0;
    for (let a = 0; a < p; a++) eta += row[a] * coef[a];
    const s = sw === null ? 1 : sw[i];
    const yi = classes[index[i]] === pos;
    // log P(y) = −log(1 + exp(∓η)), without overflow
    const u = yi ? -eta : eta;
    ll -= s * (u > 0 ? u + Math.log1p(Math.exp(-u)) : Math.log1p(Math.exp(u)));
    const pr = 1 / (1 + Math.exp(-eta));
    const a_ = s * pr * (1 - pr);
    for (let a = 0; a < p; a++) for (let b = 0; b <= a; b++) h[a * p + b] += a_ * row[a] * row[b];
  }
  const penalised = est.penalty === 'l2';
  for (let a = 0; a < p; a++) {
    for (let b = 0; b < a; b++) h[b * p + a] = h[a * p + b];
    if (penalised && !(fi && a === 0)) h[a * p + a] += 1 / est.C;
  }
  const { inverse, cond } = invertSpd(h, p);
  const vcov = (a: number, b: number): number => (inverse === null ? Number.NaN : inverse[a * p + b]);
  const stdErr = coef.map((_, a) => Math.sqrt(vcov(a, a)));
  const zStats = coef.map((c, a) => c / stdErr[a]);
  return {
    method: penalised ? 'penalised-hessian' : 'mle',
    names: fi ? ['intercept', ...names] : names,
    coef,
    stdErr: stdErr.map(fin),
    zStats: zStats.map(fin),
    pValues: zStats.map((v) => fin(normalTwoSided(v))),
    oddsRatios: coef.map((c) => fin(Math.exp(c))),
    logLikelihood: fin(ll),
    conditionNo: fin(Math.sqrt(cond)),
    varianceCovariance: coef.map((_, a) => coef.map((__, b) => fin(vcov(a, b)))),
    nRows: n,
  };
}
