import { InvalidInputError, InvalidParameterError, NotFittedError, SingleClassError, SolverError } from '../errors.js';
import { BinaryLogisticLoss } from '../loss/binary-logistic.js';
import { MultinomialLogisticLoss } from '../loss/multinomial-logistic.js';
import type { Objective } from '../loss/objective.js';
import { sigmoid } from '../loss/objective.js';
import { lbfgs } from '../optim/lbfgs.js';
import { newton } from '../optim/newton.js';
import type { MinimizeResult } from '../optim/result.js';
import { warn } from '../warnings.js';
import {
  type Label,
  type LabelInput,
  type Matrix,
  type MatrixInput,
  encodeLabels,
  toMatrix,
  toWeights,
} from './input.js';
import { boolean, knownParams, nonNegativeNumber, oneOf, positiveInteger, positiveNumber } from './params.js';

export type ClassWeight = null | 'balanced' | Readonly<Record<string, number>>;

export interface LogisticRegressionParams {
  /** Inverse of regularisation strength; smaller is stronger. Default 1. */
  C?: number;
  /** 'l2' (default) or null for no penalty. */
  penalty?: 'l2' | null;
  /** Whether to fit an (unpenalised) intercept. Default true. */
  fitIntercept?: boolean;
  /** Maximum solver iterations. Default 100. */
  maxIter?: number;
  /** Gradient tolerance that decides `converged_`, in scikit-learn's units. Default 1e-4. */
  tol?: number;
  /** null (default), 'balanced', or a weight per class label. */
  classWeight?: ClassWeight;
  /** 'auto' (default: Newton up to 500 parameters, L-BFGS above), 'newton' or 'lbfgs'. */
  solver?: 'auto' | 'newton' | 'lbfgs';
}

const NAME = 'LogisticRegression';
/** The 0/1 labels of a binary fit, reused from fit to fit (a fresh array of more than 64 bytes is a malloc in V8). */
let Y01 = new Float64Array(256);
const KNOWN = ['C', 'penalty', 'fitIntercept', 'maxIter', 'tol', 'classWeight', 'solver'] as const;
/** Above this many parameters a dense Hessian costs more than it saves. */
const NEWTON_MAX_DIM = 500;

/**
 * scikit-learn's LogisticRegression (lbfgs solver semantics) fitted to the exact optimum of its
 * objective: sigmoid for two classes (coef_ has one row), multinomial softmax for three or more
 * (one row per class). See loss/binary-logistic.ts and loss/multinomial-logistic.ts for the math.
 */
export class LogisticRegression {
  readonly estimatorName = NAME;
  readonly C: number;
  readonly penalty: 'l2' | null;
  readonly fitIntercept: boolean;
  readonly maxIter: number;
  readonly tol: number;
  readonly classWeight: ClassWeight;
  readonly solver: 'auto' | 'newton' | 'lbfgs';

  coef_: number[][] = [];
  intercept_: number[] = [];
  classes_: Label[] = [];
  nIter_ = 0;
  converged_ = false;
  /**
   * True when there is no penalty and the fitted coefficients put every training row strictly on
   * the side of its own class: the classes are perfectly separable, so scaling the coefficients
   * up always lowers the loss and no finite optimum exists. converged_ is then false.
   */
  separated_ = false;
  nFeaturesIn_ = 0;

  /** Takes scikit-learn's spellings too: fit_intercept, max_iter, class_weight. */
  constructor(given: LogisticRegressionParams & { fit_intercept?: boolean; max_iter?: number; class_weight?: ClassWeight } = {}) {
    const params = knownParams(NAME, given, KNOWN);
    this.C = positiveNumber(NAME, 'C', params.C ?? 1);
    const penalty = params.penalty === undefined ? 'l2' : params.penalty === ('none' as unknown) ? null : params.penalty;
    this.penalty = oneOf(NAME, 'penalty', penalty, ['l2', null] as const);
    this.fitIntercept = boolean(NAME, 'fitIntercept', params.fitIntercept ?? true);
    this.maxIter = positiveInteger(NAME, 'maxIter', params.maxIter ?? 100);
    this.tol = nonNegativeNumber(NAME, 'tol', params.tol ?? 1e-4);
    this.classWeight = validateClassWeight(params.classWeight ?? null);
    this.solver = oneOf(NAME, 'solver', params.solver ?? 'auto', ['auto', 'newton', 'lbfgs'] as const);
  }

  getParams(): Required<LogisticRegressionParams> {
    return {
      C: this.C,
      penalty: this.penalty,
      fitIntercept: this.fitIntercept,
      maxIter: this.maxIter,
      tol: this.tol,
      classWeight: this.classWeight,
      solver: this.solver,
    };
  }

  /**
   * `init`: where the solver starts (rows of coef_ each followed by its intercept), for a warm
   * start along a parameter grid; ignored unless it has the problem's length. The optimum is the
   * same from any start: only the iterations change.
   */
  fit(X: MatrixInput, y: LabelInput, sampleWeight?: readonly number[] | Float64Array | null, init?: Float64Array | null): this {
    const m = toMatrix(X);
    const { classes, index } = encodeLabels(y, m.rows);
    checkDiscrete(classes);
    if (classes.length < 2) throw new SingleClassError(classes[0]);
    let sw = toWeights(sampleWeight, m.rows);
    sw = applyClassWeight(this.classWeight, classes, index, sw);

    const K = classes.length;
    const d = m.cols;
    let obj: Objective;
    if (K === 2) {
      // labels as 0/1 in a buffer shared by every fit of this thread (the loss lives only as long as fit)
      if (Y01.length < m.rows) Y01 = new Float64Array(Math.max(m.rows, 2 * Y01.length));
      const y01 = Y01;
      for (let i = 0; i < m.rows; i++) y01[i] = index[i];
      obj = new BinaryLogisticLoss(m.data, m.rows, d, y01, sw, this.C, this.penalty, this.fitIntercept);
    } else {
      obj = new MultinomialLogisticLoss(m.data, m.rows, d, index, K, sw, this.C, this.penalty, this.fitIntercept);
    }
    const w = new Float64Array(obj.dim);
    if (init != null && init.length === obj.dim) w.set(init);
    const res = this.minimize(obj, w);
    let finite = Number.isFinite(res.value);
    for (let j = 0; j < w.length; j++) if (w[j] - w[j] !== 0) finite = false;
    if (!finite) {
      throw new SolverError(`the solver found no finite optimum (stopped: ${res.reason})`);
    }

    // scikit-learn's lbfgs tests its gradient tolerance on f / C (penalty 'l2') or f (no penalty)
    const gradScale = this.penalty === 'l2' ? this.C : 1;
    this.converged_ = res.stationary || res.gradInf / gradScale <= this.tol;
    this.nIter_ = res.nIter;
    const stride = d + (this.fitIntercept ? 1 : 0);
    const rows = K === 2 ? 1 : K;
    this.coef_ = [];
    this.intercept_ = [];
    for (let r = 0; r < rows; r++) {
      const row: number[] = new Array(d);
      for (let j = 0; j < d; j++) row[j] = w[r * stride + j];
      this.coef_.push(row);
      this.intercept_.push(this.fitIntercept ? w[r * stride + d] : 0);
    }
    this.classes_ = classes;
    this.nFeaturesIn_ = d;
    this.separated_ = this.penalty === null && separates(m, this.decisionFlat(m), K === 2 ? 1 : K, index, sw);
    if (this.separated_) {
      this.converged_ = false;
      warn({ code: 'PERFECT_SEPARATION', message: SEPARATION_MESSAGE });
    } else if (!this.converged_) {
      warn({
        code: 'CONVERGENCE',
        message: `${NAME} did not converge in maxIter=${this.maxIter} iterations (gradient ${res.gradInf.toExponential(2)}, stopped: ${res.reason}); increase maxIter or scale the data`,
      });
    }
    return this;
  }

  private minimize(obj: Objective, w: Float64Array): MinimizeResult {
    const useNewton = this.solver === 'newton' || (this.solver === 'auto' && obj.dim <= NEWTON_MAX_DIM);
    const gtol = 1e-10 * (this.penalty === 'l2' ? this.C : 1);
    if (!useNewton) return lbfgs(obj, w, { maxIter: this.maxIter, gtol });
    const res = newton(obj, w, { maxIter: this.maxIter });
    if (res.reason === 'singular' || res.reason === 'non-finite' || (res.reason === 'no-progress' && !res.stationary)) {
      // the Hessian could not be used: start again with the quasi-Newton solver
      w.fill(0);
      const fallback = lbfgs(obj, w, { maxIter: this.maxIter, gtol });
      return { ...fallback, nIter: fallback.nIter + res.nIter };
    }
    return res;
  }

  private checkFitted(X: MatrixInput): Matrix {
    if (this.classes_.length === 0) throw new NotFittedError(NAME);
    const m = toMatrix(X);
    if (m.cols !== this.nFeaturesIn_) {
      throw new InvalidInputError(
        'FEATURE_COUNT_MISMATCH',
        `X has ${m.cols} features, but ${NAME} was fitted with ${this.nFeaturesIn_} features`,
        'pass the same feature columns, in the same order, as at training time',
      );
    }
    return m;
  }

  /** Decision values into a flat n×R array (R = 1 for binary, K for multinomial). */
  decisionFlat(m: Matrix): Float64Array {
    const R = this.coef_.length;
    const out = new Float64Array(m.rows * R);
    const d = m.cols;
    for (let r = 0; r < R; r++) {
      const c = this.coef_[r];
      const b = this.intercept_[r];
      for (let i = 0; i < m.rows; i++) {
        let z = b;
        const o = i * d;
        for (let j = 0; j < d; j++) z += m.data[o + j] * c[j];
        out[i * R + r] = z;
      }
    }
    return out;
  }

  /** Class probabilities into a flat n×K array, columns in classes_ order. */
  predictProbaFlat(m: Matrix): Float64Array {
    const K = this.classes_.length;
    const z = this.decisionFlat(m);
    const out = new Float64Array(m.rows * K);
    if (K === 2) {
      for (let i = 0; i < m.rows; i++) {
        const p1 = sigmoid(z[i]);
        out[2 * i] = 1 - p1;
        out[2 * i + 1] = p1;
      }
      return out;
    }
    for (let i = 0; i < m.rows; i++) softmaxInto(z, i * K, K, out);
    return out;
  }

  decisionFunction(X: MatrixInput): number[] | number[][] {
    const m = this.checkFitted(X);
    const z = this.decisionFlat(m);
    const R = this.coef_.length;
    if (R === 1) return Array.from(z);
    return rowsOf(z, m.rows, R);
  }

  predictProba(X: MatrixInput): number[][] {
    const m = this.checkFitted(X);
    return rowsOf(this.predictProbaFlat(m), m.rows, this.classes_.length);
  }

  predict(X: MatrixInput): Label[] {
    return this.predictFlat(this.checkFitted(X));
  }

  /** Labels for a validated matrix: binary by the sign of the decision value (z > 0 → classes_[1]), as scikit-learn does. */
  predictFlat(m: Matrix): Label[] {
    const z = this.decisionFlat(m);
    const R = this.coef_.length;
    const out: Label[] = new Array(m.rows);
    for (let i = 0; i < m.rows; i++) out[i] = this.classes_[R === 1 ? (z[i] > 0 ? 1 : 0) : argmax(z, i * R, R)];
    return out;
  }

  /** Accuracy on a validated matrix, without building the label array (the pipeline's train_score). */
  accuracyFlat(m: Matrix, y: LabelInput): number {
    const R = this.coef_.length;
    if (R > 1) {
      const z = this.decisionFlat(m);
      let hit = 0;
      for (let i = 0; i < m.rows; i++) if (this.classes_[argmax(z, i * R, R)] === y[i]) hit++;
      return hit / m.rows;
    }
    // binary: the sign of each decision value, without an array
    const c = this.coef_[0];
    const b = this.intercept_[0];
    const d = m.cols;
    const [c0, c1] = this.classes_;
    let hit = 0;
    for (let i = 0; i < m.rows; i++) {
      let z = b;
      for (let j = 0; j < d; j++) z += m.data[i * d + j] * c[j];
      if ((z > 0 ? c1 : c0) === y[i]) hit++;
    }
    return hit / m.rows;
  }

  /** Mean accuracy (weighted by sampleWeight when given). */
  score(X: MatrixInput, y: LabelInput, sampleWeight?: readonly number[] | Float64Array | null): number {
    const pred = this.predict(X);
    if (y.length !== pred.length) throw new InvalidInputError('LENGTH_MISMATCH', `y has ${y.length} values but X has ${pred.length} rows`);
    const sw = toWeights(sampleWeight, pred.length);
    let hit = 0;
    let total = 0;
    for (let i = 0; i < pred.length; i++) {
      const wi = sw === null ? 1 : sw[i];
      total += wi;
      if (pred[i] === y[i]) hit += wi;
    }
    return hit / total;
  }
}

function validateClassWeight(cw: unknown): ClassWeight {
  if (cw === null || cw === 'balanced') return cw;
  if (typeof cw === 'object' && !Array.isArray(cw)) {
    for (const [k, v] of Object.entries(cw as object)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        throw new InvalidParameterError(`${NAME} parameter 'classWeight' for class ${k} must be a finite number ≥ 0, got ${JSON.stringify(v)}`);
      }
    }
    return cw as Record<string, number>;
  }
  throw new InvalidParameterError(`${NAME} parameter 'classWeight' must be null, 'balanced' or an object of weights by class, got ${JSON.stringify(cw)}`);
}

/** Sample weights times class weights, as scikit-learn applies them (balanced: n / (K · count_k)). */
export function applyClassWeight(cw: ClassWeight, classes: Label[], index: Int32Array, sw: Float64Array | null): Float64Array | null {
  if (cw === null) return sw;
  const K = classes.length;
  const n = index.length;
  const weights = new Float64Array(K);
  if (cw === 'balanced') {
    const count = new Float64Array(K);
    for (let i = 0; i < n; i++) count[index[i]]++;
    for (let k = 0; k < K; k++) weights[k] = n / (K * count[k]);
  } else {
    weights.fill(1);
    const known = new Set(classes.map(String));
    for (const [label, w] of Object.entries(cw)) {
      if (!known.has(label)) {
        throw new InvalidParameterError(`${NAME} classWeight names class ${JSON.stringify(label)}, which is not present in y`, `the classes are ${classes.join(', ')}`);
      }
      weights[classes.findIndex((c) => String(c) === label)] = w;
    }
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (sw === null ? 1 : sw[i]) * weights[index[i]];
  return out;
}

export function softmaxInto(z: Float64Array, off: number, K: number, out: Float64Array): void {
  let zmax = -Infinity;
  for (let k = 0; k < K; k++) if (z[off + k] > zmax) zmax = z[off + k];
  let sum = 0;
  for (let k = 0; k < K; k++) {
    const e = Math.exp(z[off + k] - zmax);
    out[off + k] = e;
    sum += e;
  }
  for (let k = 0; k < K; k++) out[off + k] /= sum;
}

export function argmax(v: Float64Array, off: number, n: number): number {
  let best = 0;
  for (let k = 1; k < n; k++) if (v[off + k] > v[off + best]) best = k;
  return best;
}

function rowsOf(flat: Float64Array, rows: number, cols: number): number[][] {
  const out: number[][] = new Array(rows);
  for (let i = 0; i < rows; i++) out[i] = Array.from(flat.subarray(i * cols, (i + 1) * cols));
  return out;
}

export const SEPARATION_MESSAGE =
  'the classes are perfectly separable and there is no penalty (penalty null): no finite optimum exists (the coefficients grow without bound, so the ones found are arbitrary); use penalty l2';

/**
 * Whether every row with a positive weight is strictly on its own class's side of the decision
 * values z (n×R): z > 0 for class 1 and z < 0 for class 0 (binary), or its class's score above
 * every other (multinomial). Then (w, b) scaled by any t > 1 has a lower unpenalised loss.
 */
function separates(m: Matrix, z: Float64Array, R: number, index: Int32Array, sw: Float64Array | null): boolean {
  for (let i = 0; i < m.rows; i++) {
    if (sw !== null && sw[i] === 0) continue;
    if (R === 1) {
      if (index[i] === 1 ? !(z[i] > 0) : !(z[i] < 0)) return false;
    } else {
      const own = z[i * R + index[i]];
      for (let r = 0; r < R; r++) if (r !== index[i] && !(own > z[i * R + r])) return false;
    }
  }
  return true;
}

/**
 * scikit-learn refuses a classifier's target whose type_of_target is 'continuous' (a float label
 * that is not a whole number): a regression target given to a classifier, where every distinct
 * value would become a class.
 */
function checkDiscrete(classes: readonly Label[]): void {
  for (const c of classes) {
    if (typeof c === 'number' && !Number.isInteger(c)) {
      throw new InvalidInputError(
        'CONTINUOUS_LABEL',
        `Unknown label type: continuous (the label ${c} is not a whole number); a classifier needs discrete classes`,
        'use a regressor (estimator linear or ridge) for a continuous target, or round or bin the label into classes',
      );
    }
  }
}
