import { InvalidInputError, NotFittedError } from '../errors.js';
import { lstsqMinNorm } from '../linalg/lstsq.js';
import { type LabelInput, type Matrix, type MatrixInput, toMatrix, toTarget, toWeights } from './input.js';

/**
 * Least squares with an optional ridge penalty, the way scikit-learn fits LinearRegression and
 * Ridge:
 *
 *   minimise Σᵢ sᵢ (yᵢ − xᵢ·coef − intercept)² + α‖coef‖²        (α = 0 for LinearRegression)
 *
 * With fitIntercept, X and y are centred on their (weighted) means, so the intercept is never
 * penalised and intercept = ȳ − x̄·coef. The centred problem, rows scaled by √sᵢ and stacked
 * on √α·I, is solved by minimum-norm least squares (one-sided Jacobi SVD): a rank-deficient
 * design gets the minimum-norm coefficients, as LAPACK's gelsd gives scikit-learn.
 */
export abstract class LinearModel {
  abstract readonly estimatorName: string;
  readonly fitIntercept: boolean;
  protected abstract readonly alphaValue: number;

  coef_: number[] = [];
  intercept_ = 0;
  /** Direct solvers take no iterations: null, as scikit-learn's n_iter_ for these solvers. */
  nIter_: number | null = null;
  converged_ = false;
  nFeaturesIn_ = 0;
  /** Numerical rank of the centred design. */
  rank_ = 0;

  protected constructor(fitIntercept: boolean) {
    this.fitIntercept = fitIntercept;
  }

  fit(X: MatrixInput, y: LabelInput, sampleWeight?: readonly number[] | Float64Array | null): this {
    const m = toMatrix(X);
    const t = toTarget(y, m.rows);
    const sw = toWeights(sampleWeight, m.rows);
    const { rows: n, cols: d, data } = m;
    const xmean = new Float64Array(d);
    let ymean = 0;
    if (this.fitIntercept) {
      let wsum = 0;
      for (let i = 0; i < n; i++) {
        const wi = sw === null ? 1 : sw[i];
        wsum += wi;
        ymean += wi * t[i];
        for (let j = 0; j < d; j++) xmean[j] += wi * data[i * d + j];
      }
      if (wsum > 0) {
        ymean /= wsum;
        for (let j = 0; j < d; j++) xmean[j] /= wsum;
      }
    }
    const alpha = this.alphaValue;
    const extra = alpha > 0 ? d : 0;
    const a = new Float64Array((n + extra) * d);
    const b = new Float64Array(n + extra);
    for (let i = 0; i < n; i++) {
      const r = sw === null ? 1 : Math.sqrt(sw[i]);
      for (let j = 0; j < d; j++) a[i * d + j] = (data[i * d + j] - xmean[j]) * r;
      b[i] = (t[i] - ymean) * r;
    }
    const ra = Math.sqrt(alpha);
    for (let j = 0; j < extra; j++) a[(n + j) * d + j] = ra;
    const { x, rank } = lstsqMinNorm(a, n + extra, d, b);
    this.coef_ = Array.from(x);
    let ic = ymean;
    for (let j = 0; j < d; j++) ic -= xmean[j] * x[j];
    this.intercept_ = this.fitIntercept ? ic : 0;
    this.rank_ = rank;
    this.nFeaturesIn_ = d;
    this.converged_ = true;
    this.nIter_ = null;
    return this;
  }

  private checkFitted(X: MatrixInput): Matrix {
    if (this.nFeaturesIn_ === 0) throw new NotFittedError(this.estimatorName);
    const m = toMatrix(X);
    if (m.cols !== this.nFeaturesIn_) {
      throw new InvalidInputError(
        'FEATURE_COUNT_MISMATCH',
        `X has ${m.cols} features, but ${this.estimatorName} was fitted with ${this.nFeaturesIn_} features`,
        'pass the same feature columns, in the same order, as at training time',
      );
    }
    return m;
  }

  predictFlat(m: Matrix): Float64Array {
    const out = new Float64Array(m.rows);
    const d = m.cols;
    const c = this.coef_;
    for (let i = 0; i < m.rows; i++) {
      let v = this.intercept_;
      for (let j = 0; j < d; j++) v += m.data[i * d + j] * c[j];
      out[i] = v;
    }
    return out;
  }

  predict(X: MatrixInput): number[] {
    return Array.from(this.predictFlat(this.checkFitted(X)));
  }

  /** Coefficient of determination R² (weighted by sampleWeight when given). */
  score(X: MatrixInput, y: LabelInput, sampleWeight?: readonly number[] | Float64Array | null): number {
    const m = this.checkFitted(X);
    return r2Score(toTarget(y, m.rows), this.predictFlat(m), toWeights(sampleWeight, m.rows));
  }
}

/** scikit-learn's r2_score: 1 − SS_res/SS_tot; a constant target scores 1 if predicted exactly, else 0. */
export function r2Score(y: Float64Array, pred: Float64Array, sw: Float64Array | null): number {
  const n = y.length;
  let wsum = 0;
  let mean = 0;
  for (let i = 0; i < n; i++) {
    const wi = sw === null ? 1 : sw[i];
    wsum += wi;
    mean += wi * y[i];
  }
  mean /= wsum;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < n; i++) {
    const wi = sw === null ? 1 : sw[i];
    ssRes += wi * (y[i] - pred[i]) ** 2;
    ssTot += wi * (y[i] - mean) ** 2;
  }
  if (ssTot === 0) return ssRes === 0 ? 1 : 0;
  return 1 - ssRes / ssTot;
}
