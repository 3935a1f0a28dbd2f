/**
 * Held-out evaluation and grid search for one group, as scikit-learn's
 * GridSearchCV(estimator, grid, cv=..., scoring=..., refit=True) does it: every candidate is fitted
 * on each fold's training rows and scored on its held-out rows; a candidate's score is the mean over
 * the folds (NaN if any fold could not be scored, which ranks it last); the best is the first
 * candidate, in ParameterGrid order, with the highest score (all NaN: the first); the model is then
 * refitted on all the group's rows with the best parameters. Without a grid there is one
 * candidate, the given parameters, and the result is cross_validate's mean held-out metrics.
 *
 * Warm start: along the grid, each fold's fit starts from the previous candidate's solution on the
 * same fold (as LogisticRegressionCV walks its C path), and the refit from the best candidate's; the
 * solvers go to the exact optimum, so where they start changes their iterations, not the model.
 *
 * Pure: no Node, no database; runs in the worker threads.
 */
import { ManyModelsError } from '../errors.js';
import { encodeLabels, type Label, type Matrix } from '../estimators/input.js';
import { LogisticRegression, softmaxInto } from '../estimators/logistic-regression.js';
import { sigmoid } from '../loss/objective.js';
import { snakeCase } from '../estimators/params.js';
import { createEstimator, type Estimator } from '../estimators/registry.js';
import type { InferenceStats } from '../inference/stats.js';
import { type FeatureSpec, ModelJsonEncoder } from '../model-io/document.js';
import { assignFolds, type SplitSpec } from './folds.js';
import { accuracy, brier, CLASSIFICATION_METRICS, logLoss, REGRESSION_METRICS, regressionMetrics, rocAuc } from './metrics.js';

export type Scoring = 'neg_log_loss' | 'roc_auc' | 'accuracy' | 'r2' | 'neg_mean_squared_error';
export const CLASSIFIER_SCORINGS: readonly Scoring[] = ['neg_log_loss', 'roc_auc', 'accuracy'];
export const REGRESSOR_SCORINGS: readonly Scoring[] = ['r2', 'neg_mean_squared_error'];

/** What a run evaluates: how rows are held out, the candidates (null: no search), the scoring. */
export interface EvaluationSpec {
  split: SplitSpec;
  /** Parameter sets in ParameterGrid order, each merged over the run's parameters; null: no search. */
  grid: Record<string, unknown>[] | null;
  scoring: Scoring;
  /** Start each fit from the previous candidate's solution (default true; false for the benchmark's side-by-side). */
  warmStart?: boolean;
}

/** A group's held-out evaluation, as stored in the `metrics` column and the document's `evaluation`. */
export interface Evaluation {
  split: 'cv' | 'holdout' | 'folds';
  /** Number of folds (1 for a holdout). */
  folds?: number;
  seed?: number;
  fraction?: number;
  column?: string;
  /** Rows held out, over all folds. */
  heldOut?: number;
  /** Why the group was not evaluated (too small to split): the model is still fitted on all its rows. */
  reason?: string;
  /** Mean over the folds; null where scikit-learn's scorer fails on a fold (see metrics.ts). */
  log_loss?: number | null;
  roc_auc?: number | null;
  brier?: number | null;
  accuracy?: number | null;
  r2?: number | null;
  rmse?: number | null;
  mae?: number | null;
}

/** The document's `search`: the scoring, the chosen parameters, and every candidate's score. */
export interface SearchRecord {
  scoring: Scoring;
  /** The chosen candidate's parameters (scikit-learn's best_params_), under the library's names. */
  best: Record<string, unknown>;
  /** Its mean held-out score (best_score_); null when no candidate could be scored. */
  bestScore: number | null;
  /** Every candidate in grid order: its parameters, mean and standard deviation over the folds, rank (rank_test_score). */
  candidates: { params: Record<string, unknown>; score: number | null; std: number | null; rank: number }[];
  reason?: string;
}

export interface GroupSearchResult {
  est: Estimator;
  evaluation: Evaluation;
  search: SearchRecord | null;
}

/**
 * scikit-learn's ParameterGrid: the parameters sorted by (scikit-learn's) name, every combination
 * with the last name varying fastest.
 */
export function expandGrid(grid: Readonly<Record<string, readonly unknown[]>>): Record<string, unknown>[] {
  const names = Object.keys(grid).sort((a, b) => (snakeCase(a) < snakeCase(b) ? -1 : snakeCase(a) > snakeCase(b) ? 1 : 0));
  let out: Record<string, unknown>[] = [{}];
  for (const name of names) out = out.flatMap((p) => grid[name].map((v) => ({ ...p, [name]: v })));
  return out;
}

const SCORE_METRIC: Record<Scoring, { metric: number; sign: number }> = {
  neg_log_loss: { metric: 0, sign: -1 },
  roc_auc: { metric: 1, sign: 1 },
  accuracy: { metric: 3, sign: 1 },
  r2: { metric: 0, sign: 1 },
  neg_mean_squared_error: { metric: 3, sign: -1 },
};

interface Candidate {
  /** The grid point only (what `search` records). */
  point: Record<string, unknown>;
  est: Estimator;
  encoder: ModelJsonEncoder;
}

/**
 * Evaluates and searches groups for one run: the candidates' estimators and document encoders are
 * made once and reused for every group.
 */
export class GroupSearch {
  private readonly cands: Candidate[];
  private readonly classifier: boolean;
  private best = 0;

  /** `features`: the inputs' names for the documents (as ModelJsonEncoder takes them). */
  constructor(estimator: string, params: Record<string, unknown>, readonly spec: EvaluationSpec, features?: FeatureSpec) {
    const points = spec.grid ?? [{}];
    this.cands = points.map((point) => {
      const est = createEstimator(estimator, { ...params, ...point });
      return { point, est, encoder: new ModelJsonEncoder(est, features) };
    });
    this.classifier = this.cands[0].est instanceof LogisticRegression;
  }

  /** Evaluates (and searches) one group and returns its model refitted on all its rows. `given`: the fold column's values. */
  run(m: Matrix, y: Float64Array | readonly string[], given: Float64Array | null): GroupSearchResult {
    const { split } = this.spec;
    const n = m.rows;
    const d = m.cols;
    const evaluation: Evaluation =
      split.kind === 'cv' ? { split: 'cv', folds: split.k, seed: split.seed } : split.kind === 'holdout' ? { split: 'holdout', fraction: split.fraction, seed: split.seed } : { split: 'folds', column: split.column };
    let classes: Label[] = [];
    let cls: Int32Array | null = null;
    if (this.classifier) {
      ({ classes, index: cls } = encodeLabels(y as Float64Array, n));
    }
    const assigned = assignFolds(split, m.data, n, d, y, cls, classes, given);
    const C = this.cands.length;
    const nm = this.classifier ? CLASSIFICATION_METRICS.length : REGRESSION_METRICS.length + 1;
    if ('reason' in assigned) {
      this.best = 0;
      const est = this.cands[0].est.fit(m, y as Float64Array);
      evaluation.reason = assigned.reason;
      const search = this.spec.grid === null ? null : this.record(new Float64Array(C).fill(NaN), new Float64Array(C).fill(NaN), assigned.reason);
      return { est, evaluation, search };
    }
    const { fold, nFolds } = assigned;
    if (split.kind === 'folds') evaluation.folds = nFolds;
    // per candidate, per fold, per metric
    const scores = new Float64Array(C * nFolds * nm).fill(NaN);
    const warm: (Float64Array | null)[] = new Array(C).fill(null);
    let heldOut = 0;
    const parts: FoldData[] = [];
    for (let f = 0; f < nFolds; f++) {
      const p = foldData(m, y, cls, fold, f);
      heldOut += p.test.rows;
      parts.push(p);
    }
    // candidates outer, folds inner: a fit starts from the same candidate's solution on the
    // previous fold (training rows mostly shared, so it is nearly the optimum), the first fold
    // from the previous candidate's
    const noWarm = this.spec.warmStart === false;
    const scoreMetric = SCORE_METRIC[this.spec.scoring].metric;
    const lazy = this.classifier && C > 1;
    const kept: ({ z: Float64Array; yIdx: Int32Array; K: number } | null)[] = lazy ? new Array(C * nFolds).fill(null) : [];
    let first: Float64Array | null = null;
    for (let c = 0; c < C; c++) {
      const est = this.cands[c].est;
      let prev: Float64Array | null = first;
      for (let f = 0; f < nFolds; f++) {
        const { train, yTr, test, yTe, clsTe } = parts[f];
        const at = (c * nFolds + f) * nm;
        if (train.rows === 0 || test.rows === 0) continue;
        try {
          if (est instanceof LogisticRegression) {
            est.fit(train, yTr, null, noWarm ? null : prev);
            prev = solution(est);
            if (f === 0) first = prev;
            warm[c] = prev;
          } else est.fit(train, yTr as Float64Array);
        } catch (e) {
          // a fold that cannot be fitted (its training rows have one class) is not scored: NaN, as scikit-learn's error_score
          if (e instanceof ManyModelsError) continue;
          throw e;
        }
        if (est instanceof LogisticRegression) {
          const K = est.classes_.length;
          const yIdx = K === classes.length ? clsTe : indexIn(est.classes_, yTe);
          const z = est.decisionFlat(test);
          if (lazy) {
            // only the scoring's metric now; the others for the chosen candidate, from its kept decision values
            kept[c * nFolds + f] = { z, yIdx, K };
            classificationMetrics(scores, at, yIdx, z, K, scoreMetric);
          } else classificationMetrics(scores, at, yIdx, z, K, -1);
        } else {
          const r = regressionMetrics(yTe as Float64Array, est.predictFlat(test));
          scores[at] = r.r2;
          scores[at + 1] = r.rmse;
          scores[at + 2] = r.mae;
          scores[at + 3] = r.mse;
        }
      }
    }
    // the scoring's mean and standard deviation over the folds, per candidate
    const { metric, sign } = SCORE_METRIC[this.spec.scoring];
    const mean = new Float64Array(C);
    const std = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let f = 0; f < nFolds; f++) s += sign * scores[(c * nFolds + f) * nm + metric];
      mean[c] = s / nFolds;
      let v = 0;
      for (let f = 0; f < nFolds; f++) v += (sign * scores[(c * nFolds + f) * nm + metric] - mean[c]) ** 2;
      std[c] = Math.sqrt(v / nFolds);
    }
    const search = this.spec.grid === null ? null : this.record(mean, std, undefined);
    if (search === null) this.best = 0;
    const best = this.best;
    for (let f = 0; f < nFolds && lazy; f++) {
      const k = kept[best * nFolds + f];
      if (k !== null) classificationMetrics(scores, (best * nFolds + f) * nm, k.yIdx, k.z, k.K, -1);
    }
    // the best candidate's held-out metrics, each the mean over the folds
    const names = this.classifier ? CLASSIFICATION_METRICS : REGRESSION_METRICS;
    evaluation.heldOut = heldOut;
    for (let k = 0; k < names.length; k++) {
      let s = 0;
      for (let f = 0; f < nFolds; f++) s += scores[(best * nFolds + f) * nm + k];
      evaluation[names[k]] = finite(s / nFolds);
    }
    const est = this.cands[best].est;
    const start = warm[best];
    if (est instanceof LogisticRegression) est.fit(m, y, null, this.spec.warmStart !== false && start !== null && start.length === solutionLength(est, d, classes.length) ? start : null);
    else est.fit(m, y as Float64Array);
    return { est, evaluation, search };
  }

  /** The document of the group's model: the chosen candidate's, with `evaluation` and `search` after its state. */
  json(r: GroupSearchResult, inference?: InferenceStats | null): string {
    const base = this.cands[this.best].encoder.json(r.est, inference);
    return `${base.slice(0, -1)},"evaluation":${JSON.stringify(r.evaluation)}${r.search === null ? '' : `,"search":${JSON.stringify(r.search)}`}}`;
  }

  /** Ranks the candidates (rank_test_score: ties share the lower rank; NaN last) and picks the first best. */
  private record(mean: Float64Array, std: Float64Array, reason: string | undefined): SearchRecord {
    const C = mean.length;
    const key = (c: number): number => (Number.isNaN(mean[c]) ? -Infinity : mean[c]);
    const allNaN = mean.every((v) => Number.isNaN(v));
    const rank = Array.from({ length: C }, (_, c) => {
      if (allNaN) return 1;
      let above = 0;
      for (let o = 0; o < C; o++) if (key(o) > key(c)) above++;
      return 1 + above;
    });
    let best = 0;
    for (let c = 1; c < C; c++) if (rank[c] < rank[best]) best = c;
    this.best = best;
    const out: SearchRecord = {
      scoring: this.spec.scoring,
      best: this.cands[best].point,
      bestScore: finite(mean[best]),
      candidates: this.cands.map((cand, c) => ({ params: cand.point, score: finite(mean[c]), std: finite(std[c]), rank: rank[c] })),
    };
    if (reason !== undefined) out.reason = reason;
    return out;
  }
}

interface FoldData {
  train: Matrix;
  yTr: Float64Array | string[];
  test: Matrix;
  yTe: Float64Array | string[];
  /** The held-out rows' class indices in the group's classes (classifiers). */
  clsTe: Int32Array;
}

/** Fold f's training rows (fold ≠ f) and held-out rows (fold = f), copied out of the group's. */
function foldData(m: Matrix, y: Float64Array | readonly string[], cls: Int32Array | null, fold: Int32Array, f: number): FoldData {
  const n = m.rows;
  const d = m.cols;
  let nTest = 0;
  for (let i = 0; i < n; i++) if (fold[i] === f) nTest++;
  const nTrain = n - nTest;
  const xTr = new Float64Array(nTrain * d);
  const xTe = new Float64Array(nTest * d);
  const numeric = y instanceof Float64Array;
  const yTr: Float64Array | string[] = numeric ? new Float64Array(nTrain) : new Array<string>(nTrain);
  const yTe: Float64Array | string[] = numeric ? new Float64Array(nTest) : new Array<string>(nTest);
  const clsTe = new Int32Array(nTest);
  let a = 0;
  let b = 0;
  for (let i = 0; i < n; i++) {
    if (fold[i] === f) {
      xTe.set(m.data.subarray(i * d, i * d + d), b * d);
      yTe[b] = y[i] as never;
      if (cls !== null) clsTe[b] = cls[i];
      b++;
    } else {
      xTr.set(m.data.subarray(i * d, i * d + d), a * d);
      yTr[a] = y[i] as never;
      a++;
    }
  }
  return { train: { data: xTr, rows: nTrain, cols: d }, yTr, test: { data: xTe, rows: nTest, cols: d }, yTe, clsTe };
}

/** A classifier's metrics of one fold into scores[at ..]: all four, or only `only` (0 log loss, 1 ROC AUC, 2 Brier, 3 accuracy). */
function classificationMetrics(scores: Float64Array, at: number, yIdx: Int32Array, z: Float64Array, K: number, only: number): void {
  if (only === 3) {
    scores[at + 3] = accuracy(yIdx, z, K);
    return;
  }
  const proba = probaOf(z, yIdx.length, K);
  if (only === -1 || only === 0) scores[at] = logLoss(yIdx, proba, K);
  if (only === -1 || only === 1) scores[at + 1] = rocAuc(yIdx, proba, z, K);
  if (only === -1) {
    scores[at + 2] = brier(yIdx, proba, K);
    scores[at + 3] = accuracy(yIdx, z, K);
  }
}

/** The probabilities of n rows from their decision values, as LogisticRegression.predictProbaFlat computes them. */
function probaOf(z: Float64Array, n: number, K: number): Float64Array {
  const out = new Float64Array(n * K);
  if (K === 2) {
    for (let i = 0; i < n; i++) {
      const p1 = sigmoid(z[i]);
      out[2 * i] = 1 - p1;
      out[2 * i + 1] = p1;
    }
    return out;
  }
  for (let i = 0; i < n; i++) softmaxInto(z, i * K, K, out);
  return out;
}

function finite(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** The held-out labels' positions in a fold model's classes (−1: a class the fold's training rows lacked). */
function indexIn(classes: readonly Label[], y: Float64Array | readonly string[]): Int32Array {
  const pos = new Map<Label, number>(classes.map((c, k) => [c, k]));
  const out = new Int32Array(y.length);
  for (let i = 0; i < y.length; i++) out[i] = pos.get(y[i]) ?? -1;
  return out;
}

/** A fitted LogisticRegression's coefficients as its solver's vector (rows of coef then intercept). */
function solution(est: LogisticRegression): Float64Array {
  const d = est.nFeaturesIn_;
  const stride = d + (est.fitIntercept ? 1 : 0);
  const R = est.coef_.length;
  const w = new Float64Array(R * stride);
  for (let r = 0; r < R; r++) {
    for (let j = 0; j < d; j++) w[r * stride + j] = est.coef_[r][j];
    if (est.fitIntercept) w[r * stride + d] = est.intercept_[r];
  }
  return w;
}

function solutionLength(est: LogisticRegression, d: number, K: number): number {
  return (K === 2 ? 1 : K) * (d + (est.fitIntercept ? 1 : 0));
}
