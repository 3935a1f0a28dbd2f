/**
 * A batch of groups, laid out for one message to a worker: every number of every group in one
 * contiguous Float64Array (transferable), offsets per group, and labels. Produced by the group
 * cutter, consumed by fitBatch (in this thread or a worker).
 */
import type { JsonColumn } from '../model-io/json-column.js';
import type { FeatureSpec } from '../model-io/document.js';
import type { EvaluationSpec } from '../evaluation/search.js';
import type { FailureTally } from './failure-tally.js';
import type { PoolPrior } from '../estimators/pooling.js';
import type { PreprocessPlan } from '../preprocess/transform.js';
export interface GroupBatch {
  /** Number of groups. */
  count: number;
  /** Rows of all groups, row-major, group after group. */
  x: Float64Array;
  /** Group g's numbers start at x[xStart[g]]. */
  xStart: Int32Array;
  /** Group g has nRows[g] usable rows of nFeatures[g] features. */
  nRows: Int32Array;
  nFeatures: Int32Array;
  /** Numeric labels (group g's start at rowStart[g]), or null when labels are text. */
  yNum: Float64Array | null;
  /** Text labels, or null when labels are numeric. */
  yText: string[] | null;
  rowStart: Int32Array;
  /** Sample weights (group g's start at rowStart[g]), or null when the run has none. */
  w?: Float64Array | null;
  /** The values of one-hot (category) feature columns, which x holds as indexes into this list (NaN for NULL); null when there are none. */
  strings?: string[] | null;
  /** The fold column's value per row (as labels, from rowStart[g]; NaN for NULL), when the run has one (train's folds). */
  fold?: Float64Array | null;
  /** Rows skipped for a NULL feature or label, per group. */
  nSkipped: Int32Array;
  /** A reason the group cannot be fitted, found while reading it (ragged arrays, too many rows), or null. */
  preError: (string | null)[];
  /** Rows of the source read into this batch's groups: used, skipped, or dropped with a failed group. */
  rowsRead: number;
  /** Group keys as framed binary COPY fields, all groups in one buffer; group g's are keys[keyStart[g] .. keyStart[g + 1]). */
  keys: Uint8Array;
  keyStart: Int32Array;
}

/** A fitted batch, ready to write: its rows of the models table as binary COPY data, and its counts. */
export interface BatchOutput {
  /** Binary COPY rows (no header or trailer), one per group, in the batch's order. */
  rows: Uint8Array;
  groups: number;
  ok: number;
  failed: number;
  notConverged: number;
  rowsUsed: number;
  rowsSkipped: number;
  /** Failure reasons by code: how many, the first one seen, and how many of each kind. */
  failures: FailureTally;
  /** Notes on groups that were fitted (PERFECT_SEPARATION), tallied the same way. */
  notes: FailureTally;
}

/** Everything a worker needs besides the batch. */
export interface EncodeSpec extends FitSpec {
  /** Number of group key columns (framed in GroupBatch.keys). */
  keyFields: number;
  runId: string;
  /** serialized_on for every model of the batch, in milliseconds since 1970. */
  serializedOn: number;
}

/** The outcome of fitting a batch, group by group, in the batch's order. */
export interface BatchResult {
  /** 1 for ok, 0 for failed. */
  ok: Uint8Array;
  /** Model documents as UTF-8 JSON (NULL for failed groups). */
  model: JsonColumn;
  /** Reasons of failed groups, as "CODE: message" (null for ok groups). */
  error: (string | null)[];
  /** Solver iterations (−1 when the estimator has none or the group failed). */
  nIter: Int32Array;
  /** 1 converged, 0 not, −1 failed. */
  converged: Int8Array;
  /** Accuracy (classifiers) or R² (regressors) on the training rows; NaN for failed groups. */
  trainScore: Float64Array;
  /** Held-out metrics as JSON text (the metrics column; null without an evaluation, or for failed groups). */
  metrics: (string | null)[];
}

/** What to fit: an estimator by name and its parameters. */
export interface FitSpec {
  estimator: string;
  params: Record<string, unknown>;
  /** The inputs' names, written into each model document's `features` (absent: not written). */
  features?: FeatureSpec;
  /** Compute each group's inference statistics into its document's `inference` (inference/stats.ts). */
  inference?: boolean;
  /** A group with fewer usable rows fails with TOO_FEW_ROWS (with `pool`: gets a pooled model, marked POOLED). */
  minRows: number;
  /** Partial pooling: every group's penalty is centred on the global model (exec/fit-pooled.ts). */
  pool?: PoolSpec;
  /** Preprocessing fitted per group and stored with its model (preprocess/transform.ts); absent: none. */
  preprocess?: PreprocessPlan | null;
  /** Held-out evaluation and grid search per group (src/evaluation/), or none. */
  evaluation?: EvaluationSpec | null;
}

/** The global model as the prior's centre, and the pooling strength chosen for every group. */
export interface PoolSpec {
  prior: PoolPrior;
  C: number;
  interceptC: number;
  chosenBy: 'given' | 'cv';
}
