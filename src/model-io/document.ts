import type { Evaluation, SearchRecord } from '../evaluation/search.js';
import { ModelDocumentError } from '../errors.js';
import type { Label } from '../estimators/input.js';
import { LinearRegression } from '../estimators/linear-regression.js';
import { LogisticRegression } from '../estimators/logistic-regression.js';
import { PooledLogisticRegression, type PoolState } from '../estimators/pooling.js';
import { type Estimator, estimatorEntry } from '../estimators/registry.js';
import { Ridge } from '../estimators/ridge.js';
import type { InferenceStats } from '../inference/stats.js';
import type { JsonColumn } from './json-column.js';
import { decodePreprocess } from '../preprocess/document.js';
import type { PreprocessDoc } from '../preprocess/transform.js';

export const MODEL_FORMAT = 'manymodels.model';
export const MODEL_VERSION = 1;

/**
 * A fitted estimator as a self-describing JSON value. Numbers are IEEE doubles written with
 * JavaScript's shortest round-trip representation, so decoding gives back the same bits.
 *
 *   { format: 'manymodels.model', version: 1, estimator: 'LogisticRegression',
 *     params: {C: 1, ...}, features?: ['asktimes', ...],
 *     state: { nFeatures, coef, intercept, classes?, nIter, converged } }
 *
 * For LogisticRegression coef is number[][] (one row per coefficient row of scikit-learn's coef_)
 * and intercept number[]; for LinearRegression and Ridge coef is number[] and intercept a number.
 *
 * Optional top-level fields (documents without them stay valid): `features`, the names of the
 * model's inputs in order (a feature column's name, or `col[1]`, `col[2]`, ... for the elements of
 * a feature array column; without a `preprocess` field, one per coefficient column: nFeatures of
 * them); see coefficientNames in names.ts for the names of the coefficients.
 */
export interface ModelDocument {
  format: typeof MODEL_FORMAT;
  version: typeof MODEL_VERSION;
  estimator: string;
  params: Record<string, unknown>;
  features?: string[];
  state: ModelState;
  /** Partial pooling (optional): the global model the penalty was centred on, and the strength. */
  pool?: PoolState;
  /** Inference statistics of the fit (train with inference: true); see inference/stats.ts. */
  inference?: InferenceStats;
  /**
   * Optional: the preprocessing fitted with the model on its group (imputer, scaler, one-hot
   * categories; see preprocess/transform.ts). Scoring applies it to the raw input columns; the
   * coefficients are over its expanded columns.
   */
  preprocess?: PreprocessDoc;
  /** Held-out evaluation (optional; train's cv, folds, holdout): see src/evaluation/search.ts. Written after `state`. */
  evaluation?: Evaluation;
  /** Per-group grid search (optional; train's paramGrid): the chosen parameters and every candidate's score. */
  search?: SearchRecord;
}

/** What a document says besides the fitted estimator. */
export interface DocumentExtras {
  /** The inputs' names, in order (see ModelDocument). */
  features?: readonly string[];
  /** Inference statistics, written after state. */
  inference?: InferenceStats | null;
  /** The preprocessing fitted with the model (preprocess/transform.ts), written after inference. */
  preprocess?: PreprocessDoc | null;
}

export interface ModelState {
  nFeatures: number;
  coef: number[] | number[][];
  intercept: number | number[];
  classes?: Label[];
  nIter: number | null;
  converged: boolean;
}

/** Turns a fitted estimator into its model document. */
export function encodeModel(est: Estimator, extras: DocumentExtras = {}): ModelDocument {
  const state: ModelState =
    est instanceof LogisticRegression
      ? {
          nFeatures: est.nFeaturesIn_,
          coef: est.coef_.map((r) => r.slice()),
          intercept: est.intercept_.slice(),
          classes: est.classes_.slice(),
          nIter: est.nIter_,
          converged: est.converged_,
        }
      : { nFeatures: est.nFeaturesIn_, coef: est.coef_.slice(), intercept: est.intercept_, nIter: est.nIter_, converged: est.converged_ };
  const doc: ModelDocument = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    estimator: est.estimatorName,
    params: { ...est.getParams() },
    ...(extras.features !== undefined ? { features: extras.features.slice() } : {}),
    state,
  };
  // a partially pooled model: the prior's centre and strength (estimators/pooling.ts)
  if (est instanceof PooledLogisticRegression && est.pool_ !== null) doc.pool = { ...est.pool_, global: { coef: est.pool_.global.coef.slice(), intercept: est.pool_.global.intercept } };
  // after state and pool, in the order the fast writer writes them
  if (extras.inference !== undefined && extras.inference !== null) doc.inference = extras.inference;
  if (extras.preprocess !== undefined && extras.preprocess !== null) doc.preprocess = extras.preprocess;
  return doc;
}

/**
 * Where a run's feature names come from: the feature columns, in order, or one array column whose
 * elements are the features (named `col[1]`, `col[2]`, ... as SQL subscripts them).
 */
export type FeatureSpec = readonly string[] | { readonly array: string };

/** The names of a model's inputs for a group with `n` of them (the document's `features`). */
export function featureNames(spec: FeatureSpec, n: number): string[] {
  if ('array' in spec) return Array.from({ length: n }, (_, i) => `${spec.array}[${i + 1}]`);
  return spec.slice();
}

/**
 * Writes model documents as JSON text, fast, for many fits of one estimator configuration: the
 * parameters are serialised once. The text is exactly JSON.stringify(encodeModel(est)) (tested).
 */
export class ModelJsonEncoder {
  private readonly head: string;
  private readonly tail = ',"state":{"nFeatures":';
  /** `"features":[...]` text for a feature array column, by length. */
  private readonly arrayNames = new Map<number, string>();
  /** The features' text when it is the same for every group (feature columns, or none given). */
  private readonly fixed: string | null;

  /** `features`: as for featureNames, the same for every model this encoder writes (absent: no `features` field). */
  constructor(template: Estimator, private readonly features?: FeatureSpec) {
    this.head = `{"format":"${MODEL_FORMAT}","version":${MODEL_VERSION},"estimator":${JSON.stringify(template.estimatorName)},"params":${JSON.stringify(template.getParams())}`;
    this.fixed = features === undefined ? this.tail : 'array' in features ? null : `,"features":${JSON.stringify(features)}${this.tail}`;
  }

  private prefix(n: number): string {
    if (this.fixed !== null) return this.head + this.fixed;
    let t = this.arrayNames.get(n);
    if (t === undefined) {
      t = `,"features":${JSON.stringify(featureNames(this.features as FeatureSpec, n))}${this.tail}`;
      this.arrayNames.set(n, t);
    }
    return this.head + t;
  }

  /**
   * Writes the document of `est` (as `json` would) into value g of `out`. A LogisticRegression
   * with number classes and no extras, most runs' models, goes straight to UTF-8: its fixed text
   * is copied from bytes encoded once, and its number arrays are JSON.stringify's ASCII, copied
   * byte by byte. The bytes are exactly those of `json`'s text (tested).
   */
  write(out: JsonColumn, g: number, est: Estimator, inference?: InferenceStats | null, preprocess?: PreprocessDoc | null): void {
    if (!(est instanceof LogisticRegression) || (est instanceof PooledLogisticRegression && est.pool_ !== null) || (inference ?? null) !== null || (preprocess ?? null) !== null || !est.classes_.every((c) => typeof c === 'number')) {
      out.setText(g, this.json(est, inference, preprocess));
      return;
    }
    const head = this.headBytes(est.nFeaturesIn_);
    const coef = est.coef_;
    // an upper bound: 25 bytes per number (its longest shortest form, 24 characters as in -1.2345678901234567e-308,
    // and a comma), two brackets per coefficient row, and the fixed text between (under 128 bytes)
    let numbers = est.intercept_.length + est.classes_.length;
    for (const row of coef) numbers += row.length;
    const buf = out.ensure(head.length + 25 * numbers + 2 * coef.length + 128);
    let p = out.length;
    out.start[g] = p;
    buf.set(head, p);
    p += head.length;
    // JSON.stringify writes an array's numbers in their shortest form without a string each
    p = ascii(buf, p, JSON.stringify(coef));
    p = ascii(buf, p, ',"intercept":');
    p = ascii(buf, p, JSON.stringify(est.intercept_));
    p = ascii(buf, p, ',"classes":');
    p = ascii(buf, p, JSON.stringify(est.classes_));
    p = ascii(buf, p, ',"nIter":');
    p = ascii(buf, p, String(est.nIter_));
    p = ascii(buf, p, est.converged_ ? ',"converged":true}}' : ',"converged":false}}');
    out.length = p;
    out.end[g] = p;
  }

  /** The UTF-8 of a LogisticRegression document up to its coefficients (`..."nFeatures":n,"coef":`), by n. */
  private readonly heads = new Map<number, Uint8Array>();

  private headBytes(n: number): Uint8Array {
    let h = this.heads.get(n);
    if (h === undefined) {
      h = new TextEncoder().encode(`${this.prefix(n)}${n},"coef":`);
      this.heads.set(n, h);
    }
    return h;
  }

  /** The document of `est`, with its inference statistics and preprocessing when given (as encodeModel's extras). */
  json(est: Estimator, inference?: InferenceStats | null, preprocess?: PreprocessDoc | null): string {
    const prefix = this.prefix(est.nFeaturesIn_);
    const tail =
      (inference === undefined || inference === null ? '' : `,"inference":${JSON.stringify(inference)}`) +
      (preprocess === undefined || preprocess === null ? '' : `,"preprocess":${JSON.stringify(preprocess)}`) +
      '}';
    // Arrays of numbers go through JSON.stringify itself: it writes each number's shortest form
    // straight into its output, about twice as fast as String(number) per number and a join
    if (est instanceof LogisticRegression) {
      const pool = est instanceof PooledLogisticRegression && est.pool_ !== null ? `,"pool":${JSON.stringify(est.pool_)}` : '';
      return `${prefix}${est.nFeaturesIn_},"coef":${JSON.stringify(est.coef_)},"intercept":${JSON.stringify(est.intercept_)},"classes":${JSON.stringify(est.classes_)},"nIter":${est.nIter_},"converged":${est.converged_}}${pool}${tail}`;
    }
    return `${prefix}${est.nFeaturesIn_},"coef":${JSON.stringify(est.coef_)},"intercept":${num(est.intercept_)},"nIter":${est.nIter_ === null ? 'null' : est.nIter_},"converged":${est.converged_}}${tail}`;
  }
}

/** Writes the ASCII text s into buf at p; returns the end. */
function ascii(buf: Uint8Array, p: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[p + i] = s.charCodeAt(i);
  return p + s.length;
}

/** A number as JSON writes it (shortest round-trip form; −0 as 0; non-finite as null). */
function num(v: number): string {
  return Number.isFinite(v) ? (v === 0 ? '0' : String(v)) : 'null';
}

function fail(what: string): never {
  throw new ModelDocumentError(`invalid model document: ${what}`, 'retrain the model with this version of manymodels');
}

function finiteArray(v: unknown, len: number, what: string): number[] {
  if (!Array.isArray(v) || v.length !== len) fail(`${what} must be an array of ${len} numbers`);
  for (const x of v) if (typeof x !== 'number' || !Number.isFinite(x)) fail(`${what} holds a non-finite or non-numeric value ${JSON.stringify(x)}`);
  return v as number[];
}

/**
 * Validates a model document (parsed JSON or a JSON string) and rebuilds the fitted estimator.
 * Nothing in the document is evaluated: every field is checked for type, shape and finiteness.
 */
export function decodeModel(input: unknown): Estimator {
  let doc = input;
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc);
    } catch {
      fail('not valid JSON');
    }
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) fail('not a JSON object');
  const d = doc as Record<string, unknown>;
  if (d.format !== MODEL_FORMAT) fail(`unknown format ${JSON.stringify(d.format)} (expected "${MODEL_FORMAT}")`);
  if (d.version !== MODEL_VERSION) {
    throw new ModelDocumentError(
      `unsupported model document version ${JSON.stringify(d.version)}: this manymodels reads version ${MODEL_VERSION}`,
      typeof d.version === 'number' && d.version > MODEL_VERSION ? 'upgrade manymodels to read it' : 'retrain the model',
    );
  }
  if (typeof d.estimator !== 'string') fail('estimator must be a string');
  let entry;
  try {
    entry = estimatorEntry(d.estimator);
  } catch {
    fail(`unknown estimator ${JSON.stringify(d.estimator)}`);
  }
  if (entry.name !== d.estimator) fail(`unknown estimator ${JSON.stringify(d.estimator)}`);
  if (d.params === null || typeof d.params !== 'object' || Array.isArray(d.params)) fail('params must be an object');
  const s = d.state as Record<string, unknown> | null;
  if (s === null || typeof s !== 'object' || Array.isArray(s)) fail('state must be an object');
  const nf = s.nFeatures;
  if (typeof nf !== 'number' || !Number.isInteger(nf) || nf < 1) fail('state.nFeatures must be an integer ≥ 1');
  if (typeof s.converged !== 'boolean') fail('state.converged must be a boolean');
  if (s.nIter !== null && (typeof s.nIter !== 'number' || !Number.isInteger(s.nIter) || s.nIter < 0)) fail('state.nIter must be null or an integer ≥ 0');

  if (d.features !== undefined) {
    if (!Array.isArray(d.features) || d.features.some((f) => typeof f !== 'string')) fail('features must be an array of strings');
    if (d.preprocess === undefined && d.features.length !== nf) fail(`features must name the ${nf} inputs (state.nFeatures), got ${d.features.length}`);
  }

  if (d.inference !== undefined) checkInference(d.inference, nf);

  let est: Estimator;
  try {
    est = entry.create(d.params as Record<string, unknown>);
  } catch (e) {
    fail(`params rejected: ${(e as Error).message}`);
  }
  if (est instanceof LogisticRegression) {
    const classes = s.classes;
    if (!Array.isArray(classes) || classes.length < 2) fail('state.classes must list at least 2 classes');
    const numeric = typeof classes[0] === 'number';
    for (const c of classes) {
      if (numeric ? typeof c !== 'number' || !Number.isFinite(c) : typeof c !== 'string') fail('state.classes must be all finite numbers or all strings');
    }
    if (new Set(classes).size !== classes.length) fail('state.classes has duplicates');
    const rows = classes.length === 2 ? 1 : classes.length;
    if (!Array.isArray(s.coef) || s.coef.length !== rows) fail(`state.coef must have ${rows} row(s) for ${classes.length} classes`);
    est.coef_ = (s.coef as unknown[]).map((r, i) => finiteArray(r, nf, `state.coef[${i}]`).slice());
    est.intercept_ = finiteArray(s.intercept, rows, 'state.intercept').slice();
    est.classes_ = classes.slice() as Label[];
    est.nIter_ = (s.nIter as number | null) ?? 0;
  } else if (est instanceof LinearRegression || est instanceof Ridge) {
    est.coef_ = finiteArray(s.coef, nf, 'state.coef').slice();
    if (typeof s.intercept !== 'number' || !Number.isFinite(s.intercept)) fail('state.intercept must be a finite number');
    est.intercept_ = s.intercept;
    est.nIter_ = s.nIter as number | null;
  }
  est.nFeaturesIn_ = nf;
  est.converged_ = s.converged as boolean;
  if (est instanceof LinearRegression || est instanceof Ridge) est.converged_ = true;
  // the optional preprocessing must be well formed and expand to the model's features
  decodePreprocess(d, nf);
  return est;
}

/** The shape of a document's inference statistics: an object of named arrays of numbers or nulls. */
function checkInference(v: unknown, nf: number): void {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail('inference must be an object');
  const o = v as Record<string, unknown>;
  if (!Array.isArray(o.names) || o.names.some((x) => typeof x !== 'string')) fail('inference.names must be an array of strings');
  const p = o.names.length;
  if (p !== nf && p !== nf + 1) fail(`inference.names must name the ${nf} coefficients (and the intercept), got ${p}`);
  const numOrNull = (x: unknown) => x === null || (typeof x === 'number' && Number.isFinite(x));
  for (const k of ['coef', 'stdErr', 'zStats', 'tStats', 'pValues', 'oddsRatios']) {
    const a = o[k];
    if (a === undefined && k !== 'coef' && k !== 'stdErr' && k !== 'pValues') continue;
    if (!Array.isArray(a) || a.length !== p || !a.every(numOrNull)) fail(`inference.${k} must be an array of ${p} numbers or nulls`);
  }
  const vc = o.varianceCovariance;
  if (!Array.isArray(vc) || vc.length !== p || vc.some((r) => !Array.isArray(r) || r.length !== p || !r.every(numOrNull))) fail(`inference.varianceCovariance must be a ${p}×${p} array`);
  for (const k of ['logLikelihood', 'r2', 'conditionNo']) if (o[k] !== undefined && !numOrNull(o[k])) fail(`inference.${k} must be a number or null`);
}
