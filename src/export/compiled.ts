import type { Label } from '../estimators/input.js';
import { LogisticRegression, argmax, softmaxInto } from '../estimators/logistic-regression.js';
import type { Estimator } from '../estimators/registry.js';
import { sigmoid } from '../loss/objective.js';
import { decodeModel } from '../model-io/document.js';
import { type Preprocessor, preprocessor } from '../preprocess/preprocessor.js';

/** A prediction: a class label (a boolean for a boolean label column) or a regressor's value. */
export type Prediction = number | string | boolean;

/**
 * One decoded model in the form the in-process scorer reads fastest: the coefficient rows in one
 * Float64Array (R rows × d, R = 1 for binary classifiers and regressors, K for multinomial), the
 * intercepts in another. Scoring follows the rules of pipeline/score-rules.ts (and so of the SQL
 * functions): z = b + x₁·w₁ + … + x_d·w_d left to right in double precision; a non-finite feature,
 * a NaN score, a multiclass row with two +Infinity scores and an overflowing regressor have no
 * answer (null).
 */
export interface CompiledModel {
  readonly kind: 'binary' | 'multiclass' | 'regressor';
  readonly nFeatures: number;
  readonly coef: Float64Array;
  readonly intercept: Float64Array;
  /** Class labels in scikit-learn's classes_ order (booleans for a boolean label column); empty for regressors. */
  readonly classes: readonly Prediction[];
  /** The estimator the document decodes to (for model(key)). */
  readonly estimator: Estimator;
  /** The document's stored preprocessing (imputer, scaler, one-hot), applied to raw rows before scoring; null when none. */
  readonly prep: Preprocessor | null;
  /** Values a raw row holds: the preprocessing's input columns, else nFeatures. */
  readonly nInputs: number;
}

/** A raw input value: a number, a category (text, or a boolean read as one), or null for missing. */
export type RawValue = number | string | boolean | null;

/**
 * The model's features of one raw row: the row itself without preprocessing; else the stored
 * preprocessing applied (numbers in x, NaN for NULL; text in c), null when the row cannot be
 * scored (a missing number with no imputer), as both predict engines do. The result of a
 * preprocessed row is a buffer reused by the next call.
 */
export function featuresOf(m: CompiledModel, row: ArrayLike<RawValue>): ArrayLike<number> | null {
  if (m.prep === null) return row as ArrayLike<number>;
  const n = row.length;
  const x = new Float64Array(n);
  let c: (string | null)[] | null = null;
  for (let j = 0; j < n; j++) {
    const v = row[j];
    if (typeof v === 'number') x[j] = v;
    else {
      x[j] = NaN;
      c ??= new Array<string | null>(n).fill(null);
      c[j] = v === null || v === undefined ? null : typeof v === 'boolean' ? (v ? 'true' : 'false') : v;
    }
  }
  return m.prep.apply(x, true, c ?? new Array<string | null>(n).fill(null));
}

/**
 * Decodes a model document for scoring, with its stored preprocessing (`preprocess`, checked by
 * preprocess/document.ts) when it has one.
 */
export function compileModel(doc: unknown, opts: { booleanLabel?: boolean } = {}): CompiledModel {
  let parsed = doc;
  if (typeof parsed === 'string') {
    try {
      parsed = JSON.parse(parsed);
    } catch {
      parsed = doc; // decodeModel reports it
    }
  }
  const est = decodeModel(parsed);
  const d = est.nFeaturesIn_;
  const prep = preprocessor(parsed, d);
  const nInputs = prep === null ? d : prep.doc.columns.length;
  if (est instanceof LogisticRegression) {
    const R = est.coef_.length;
    const coef = new Float64Array(R * d);
    for (let r = 0; r < R; r++) coef.set(est.coef_[r], r * d);
    const classes = opts.booleanLabel === true ? est.classes_.map((c) => c === 1) : (est.classes_.slice() as Label[]);
    return Object.freeze({ kind: R === 1 ? 'binary' : 'multiclass', nFeatures: d, coef, intercept: Float64Array.from(est.intercept_), classes, estimator: est, prep, nInputs });
  }
  return Object.freeze({ kind: 'regressor', nFeatures: d, coef: Float64Array.from(est.coef_), intercept: Float64Array.of(est.intercept_), classes: [], estimator: est, prep, nInputs });
}

function allFinite(x: ArrayLike<number>, d: number): boolean {
  for (let j = 0; j < d; j++) if (!Number.isFinite(x[j])) return false;
  return true;
}

/** Decision value of row r: intercept first, then the features left to right (the order of the estimators and of the SQL). */
function decision(m: CompiledModel, r: number, x: ArrayLike<number>): number {
  const d = m.nFeatures;
  const c = m.coef;
  const o = r * d;
  let z = m.intercept[r];
  for (let j = 0; j < d; j++) z += x[j] * c[o + j];
  return z;
}

/** Class probabilities in classes order, or null (no honest answer). x must hold nFeatures values (checked by the caller). */
export function probaOf(m: CompiledModel, x: ArrayLike<number>): number[] | null {
  if (!allFinite(x, m.nFeatures)) return null;
  if (m.kind === 'binary') {
    const z = decision(m, 0, x);
    if (Number.isNaN(z)) return null;
    const p = sigmoid(z);
    return [1 - p, p];
  }
  const d = classDecisions(m, x);
  if (d === null) return null;
  const { z, inf, best } = d;
  const K = z.length;
  if (inf > 1 || z[best] === -Infinity) return null;
  const out = new Float64Array(K);
  if (inf === 1) out[best] = 1;
  else softmaxInto(z, 0, K, out);
  return Array.from(out);
}

/** The predicted label or value, or null. */
export function predictOf(m: CompiledModel, x: ArrayLike<number>): Prediction | null {
  if (!allFinite(x, m.nFeatures)) return null;
  if (m.kind === 'regressor') {
    const v = decision(m, 0, x);
    return Number.isFinite(v) ? v : null;
  }
  if (m.kind === 'binary') {
    const z = decision(m, 0, x);
    return Number.isNaN(z) ? null : m.classes[z > 0 ? 1 : 0];
  }
  const d = classDecisions(m, x);
  if (d === null) return null;
  const { z, inf, best } = d;
  return inf > 1 || z[best] === -Infinity ? null : m.classes[best];
}

/** A multiclass model's decision values of a row, how many are +Infinity, and the largest's index; null when one is NaN. */
function classDecisions(m: CompiledModel, x: ArrayLike<number>): { z: Float64Array; inf: number; best: number } | null {
  const K = m.classes.length;
  const z = new Float64Array(K);
  let inf = 0;
  for (let k = 0; k < K; k++) {
    z[k] = decision(m, k, x);
    if (Number.isNaN(z[k])) return null;
    if (z[k] === Infinity) inf++;
  }
  return { z, inf, best: argmax(z, 0, K) };
}
