import type { Database } from '../db/connection.js';
import { DatabaseError, UsageError } from '../errors.js';
import { camelCase } from '../estimators/params.js';
import { type EstimatorChoice, estimatorEntry } from '../estimators/registry.js';
import type { FitSpec } from '../exec/batch.js';
import { type FailureTally, type ReasonCount, topReasons } from '../exec/failure-tally.js';
import { MODEL_COLUMNS } from '../exec/encode-batch.js';
import type { Fitter } from '../exec/fitter.js';
import { AutoFitter } from '../exec/pool.js';
import type { Dialect } from '../sql/dialect.js';
import { ident, type QualifiedName } from '../sql/ident.js';
import { float8Sql } from '../sql/scoring.js';
import { CATALOG_SCHEMA, type TableMeta } from './catalog.js';
import type { RowLayout } from './group-cutter.js';
import { checkTarget, type PreviousKeeper, stagingFor, statisticsSpec, type SwapSpec, swapStatements } from './output-table.js';
import { faultPoint } from './fault.js';
import { withRun } from './run.js';
import type { ProgressListener } from './progress.js';
import { forRun, inDatabaseSpec, inDatabaseStatements, trainInDatabase } from './train-in-database.js';
import { colocationSource, distributeByFor, resolveDialect } from './dialect.js';
import { streamingStatements, trainStreaming } from './train-streaming.js';
import { checkPoolOptions, type PoolSummary, trainPooled } from './train-pooled.js';
import { column, type ResolvedSource, resolveSource, type SourceRef, type TableRef, tableName } from './source.js';
import { keyBytesAreEquality, keyTypesHaveCollation, NONDETERMINISTIC_COLLATIONS_SQL, OID } from '../sql/types.js';
import type { FeatureSpec } from '../model-io/document.js';
import type { PreprocessMeta } from '../preprocess/plan.js';
import type { PreprocessPlan } from '../preprocess/transform.js';
import { asksPreprocessing, checkPreprocessOptions, planFeatureColumns, type PreprocessOptions, weightSql } from '../preprocess/plan.js';
import { type EvaluationOptions, evaluationSpec } from '../evaluation/plan.js';

/**
 * Train's options. Held-out evaluation and grid search per group (EvaluationOptions: cv, folds,
 * holdout, seed, paramGrid, scoring) are in src/evaluation/plan.ts.
 */
export interface TrainOptions extends PreprocessOptions, EvaluationOptions {
  /** The training data: a table or view name, or { query: 'SELECT ...' }. */
  from: SourceRef;
  /** Group key column(s): one model per distinct value. */
  group: string | readonly string[];
  /**
   * Feature column(s): numeric columns, or one numeric array column per row (long form), or one
   * 2-D numeric array column per group (packed form, with an array label column).
   */
  features: string | readonly string[];
  /** The label column (an array column in packed form). */
  label: string;
  /** The models table to write. */
  into: TableRef;
  /** 'logistic' (default), 'linear', 'ridge', or a class name. */
  estimator?: EstimatorChoice;
  /** Estimator parameters, e.g. { C: 0.5, maxIter: 200 } (scikit-learn's max_iter is accepted too). */
  params?: Record<string, unknown>;
  /** Overwrite an existing table that manymodels did not write. */
  replace?: boolean;
  /** Groups with fewer usable rows fail with TOO_FEW_ROWS (default 1). */
  minRows?: number;
  /** Groups with more rows fail alone with a clear reason (default 1,000,000). */
  maxGroupRows?: number;
  onProgress?: ProgressListener;
  /**
   * 'streaming' (default): rows stream out with COPY and are fitted in worker threads, any
   * estimator. 'in-database': the per-group work runs inside the engine in plain SQL (linear
   * family, binary LogisticRegression), for distributed PostgreSQL where the rows should not
   * leave the workers.
   */
  strategy?: 'streaming' | 'in-database';
  /** 'postgres', 'citus' or 'greenplum' (Greenplum 7, Apache Cloudberry); default: detected from the server. */
  dialect?: 'postgres' | 'citus' | 'greenplum';
  /** Wait for another run writing the same table (default true), or fail at once with OUTPUT_LOCKED. */
  wait?: boolean;
  /** Cancels the run: the server-side query is cancelled, the staging table dropped, nothing replaced. */
  signal?: AbortSignal;
  /** Groups per batch handed to a worker (default 4096). */
  batchGroups?: number;
  /** Worker threads for fitting (default: one per core; 0 fits in this thread). */
  workers?: number;
  /** Where batches are fitted (default: a pool of `workers` threads, started only for jobs of more than one batch). */
  fitter?: Fitter;
  /**
   * Store each group's inference statistics (standard errors, z or t statistics, p-values, odds
   * ratios, log-likelihood, condition number, variance-covariance matrix) in its model document's
   * `inference` field, as MADlib's logregr_train / linregr_train report them (streaming strategy).
   */
  inference?: boolean;
  /**
   * Partial pooling (binary LogisticRegression, streaming strategy): 'global' fits one model on all
   * rows (with `params`), then each group's model with its penalty centred on it,
   * loss + ‖coef − coef_global‖² / (2C) + (b − b_global)² / (2C_b). A group that cannot be fitted
   * alone (one class, fewer than minRows rows) still gets a model, marked POOLED. Default 'none'.
   */
  pool?: 'none' | 'global';
  /** The pooling strength C shared by every group: a number, or 'cv' (default) to choose it by K-fold CV summed over all groups. */
  poolC?: number | 'cv';
  /** The intercept's strength C_b: a number, or 'same' (default) for C_b = C. */
  poolIntercept?: number | 'same';
  /** Folds of the cross-validation that chooses C (default 5). */
  poolFolds?: number;
  /**
   * Fail the run with TOO_MANY_FAILED when more than this fraction of the groups (0 to 1) failed:
   * nothing is replaced (the previous models table stays as it was), the run is marked failed.
   */
  maxFailedFraction?: number;
  /**
   * Refit only the groups whose rows changed since the models table was written (lifecycle/incremental.ts):
   * a per-group fingerprint of the rows, computed in SQL, against the one stored in the table's
   * `fingerprint` column; the other groups keep their row. The result is the models a full retrain
   * would write. The first incremental run into a table fits every group and records the fingerprints.
   */
  incremental?: boolean;
  /**
   * With incremental: find changed groups by a timestamp (or any ordered) column instead of
   * fingerprints: groups with a row newer than the highest value the previous run saw. Rows deleted
   * from the source, and groups that vanished, are not seen this way.
   */
  changedSince?: string;
  /** With incremental: groups of the models table that have no rows any more are 'drop'ped (default, as a full retrain) or 'keep'-t. */
  vanished?: 'keep' | 'drop';
  /** Earlier versions of the models table to keep (default 3; 0 keeps none). See lifecycle/versions.ts. */
  keep?: number;
}

export interface FailureSummary {
  /** The stable code of the reason, e.g. SINGLE_CLASS. */
  code: string;
  count: number;
  /** One full reason, as stored in the error column (the most frequent kind's). */
  example: string;
  /**
   * The kinds of reason under this code (the reason with its numbers masked), most frequent first,
   * each with its count and one full example; at most 5.
   */
  reasons: ReasonCount[];
  /** Kinds of reason beyond those in `reasons`. */
  otherKinds: number;
}

export interface TrainResult {
  runId: string;
  table: readonly string[];
  groupsOk: number;
  groupsFailed: number;
  rowsUsed: number;
  rowsSkipped: number;
  nullKeyRows: number;
  notConverged: number;
  failures: FailureSummary[];
  /** Notes on groups that were fitted but whose models are not an optimum (PERFECT_SEPARATION): also in their error column. */
  notes: FailureSummary[];
  seconds: number;
  /** With pool 'global': the global model, the shared pooling strength and how it was chosen (also in the models table's catalog entry). */
  pool?: PoolSummary;
  /** An incremental run: what it refitted and kept (the counts above are of the groups it fitted). */
  incremental?: IncrementalSummary;
}

export interface IncrementalSummary {
  /** 'incremental': only changed groups were fitted; 'full': every group (the reason says why). */
  mode: 'incremental' | 'full';
  reason?: string;
  /** Groups fitted because their rows changed (or they are new). */
  refitted: number;
  /** Of those, groups the models table did not have. */
  added: number;
  /** Groups whose row was kept as it was. */
  unchanged: number;
  /** Groups with no rows any more: dropped, or kept (vanished: 'keep'). */
  vanishedDropped: number;
  vanishedKept: number;
  /** How changes were found: 'fingerprint' or 'changed-since'. */
  detection: 'fingerprint' | 'changed-since';
}



/** A tally as FailureSummary[]: codes by count, each with its most frequent kinds of reason. */
/** A finished run's counts: what train returns, and what its row of the run catalog records. */
export function runOutcome(
  runId: string,
  table: QualifiedName,
  totals: { ok: number; failed: number; used: number; skipped: number; notConverged: number },
  nullKeyRows: number,
  failures: FailureTally,
  notes: FailureTally,
  t0: number,
): { result: TrainResult; end: { status: 'succeeded'; groupsOk: number; groupsFailed: number; rowsUsed: number; rowsSkipped: number; nullKeyRows: number } } {
  const result: TrainResult = {
    runId,
    table,
    groupsOk: totals.ok,
    groupsFailed: totals.failed,
    rowsUsed: totals.used,
    rowsSkipped: totals.skipped,
    nullKeyRows,
    notConverged: totals.notConverged,
    failures: summarize(failures),
    notes: summarize(notes),
    seconds: (performance.now() - t0) / 1000,
  };
  return { result, end: { status: 'succeeded', groupsOk: totals.ok, groupsFailed: totals.failed, rowsUsed: totals.used, rowsSkipped: totals.skipped, nullKeyRows } };
}

/** TOO_MANY_FAILED: `counts` says how many of how many, then the three most frequent reasons (or `noneListed`). */
export function tooManyFailed(counts: string, failures: FailureTally, fraction: number, noneListed: string): DatabaseError {
  const top = summarize(failures).slice(0, 3).map((f) => `${f.code} ${f.count}×`).join(', ');
  return new DatabaseError(
    'TOO_MANY_FAILED',
    `${counts} (${top || noneListed}), more than the allowed fraction ${fraction}: nothing was replaced`,
    'see why with a run that writes them (without the threshold) and manymodels models T, or raise --max-failed-fraction',
  );
}

export function summarize(t: FailureTally): FailureSummary[] {
  return Object.entries(t)
    .map(([code, f]): FailureSummary => {
      const { reasons, otherKinds } = topReasons(f.kinds);
      return { code, count: f.count, example: reasons[0]?.example ?? f.example, reasons, otherKinds };
    })
    .sort((a, b) => b.count - a.count || (a.code < b.code ? -1 : 1));
}

/** What a strategy reports back to train(). */
export interface TrainOutcome {
  totals: { ok: number; failed: number; used: number; skipped: number; notConverged: number };
  failures: FailureTally;
  notes: FailureTally;
  nullKeyRows: number;
}

export interface TrainPlan {
  /** The engine's dialect (opts.dialect, else detected), resolved once for the whole run. */
  dialect: Dialect;
  /** The source table when the source is one; after placeTraining, only when new tables are co-located with it (Citus). */
  sourceTable?: readonly string[];
  /** The type OID of the group key's first column (where Citus distributes). */
  keyType: number;
  /** After placeTraining: the columns new tables are distributed by (the group key; empty: kept on the coordinator). */
  distributeBy?: readonly string[];
  /** Per feature, a float8 SQL expression over the source alias s (columns form), or the array column (array and packed forms). */
  featureSql: string[];
  /** The label as SQL over s: float8 (numbers, booleans) or text. */
  labelSql: string;
  fitSpec: FitSpec;
  layout: RowLayout;
  group: string[];
  featureNames: string[];
  meta: Omit<TableMeta, 'runId'>;
  selectSql: string;
  source: string;
  fromSql: string;
  /** The models table's columns (the group key's with the source's types) and its primary key. */
  output: SwapSpec;
}

function list(v: string | readonly string[], what: string): string[] {
  const out = typeof v === 'string' ? [v] : [...v];
  if (out.length === 0) throw new UsageError(`no ${what} given`, `name at least one ${what} column`);
  for (const c of out) if (typeof c !== 'string' || c.length === 0) throw new UsageError(`${what} column names must be non-empty strings`);
  if (new Set(out).size !== out.length) throw new UsageError(`a ${what} column is named twice: ${out.map(ident).join(', ')}`);
  return out;
}

/** Checks the request against the source's columns and works out how rows are read. */
export async function planTraining(db: Database, opts: TrainOptions): Promise<TrainPlan> {
  const entry = estimatorEntry(opts.estimator ?? 'logistic');
  // validates the parameters before anything is read; the given ones are kept under the library's names
  const known = entry.create(opts.params ?? {}).getParams() as Record<string, unknown>;
  const params = Object.fromEntries(Object.entries(opts.params ?? {}).filter(([, v]) => v !== undefined).map(([k, v]) => [k in known ? k : camelCase(k), v]));
  const group = list(opts.group, 'group');
  const features = list(opts.features, 'feature');
  if (typeof opts.label !== 'string' || opts.label.length === 0) throw new UsageError('no label column given');
  const clash = group.find((g) => (MODEL_COLUMNS as readonly string[]).includes(g));
  if (clash !== undefined) {
    throw new UsageError(`the group key column ${ident(clash)} has the name of an output column`, `rename it in a query: SELECT ${ident(clash)} AS ${ident(`${clash}_key`)}, ... FROM ...`, 'NAME_CLASH');
  }
  const src = await resolveSource(db.main, opts.from, 'training source');
  for (const g of group) column(src, g, 'group key'); // each must exist
  const featCols = features.map((f) => column(src, f, 'feature'));
  const labelCol = column(src, opts.label, 'label');
  checkPreprocessOptions(opts);
  const weightCol = opts.weight === undefined ? null : column(src, opts.weight, 'weight');
  if (weightCol !== null && (group.includes(weightCol.name) || weightCol.name === opts.label || features.includes(weightCol.name))) {
    throw new UsageError(`column ${ident(weightCol.name)} is both the weight and a ${features.includes(weightCol.name) ? 'feature' : group.includes(weightCol.name) ? 'group key' : 'label'}`, 'a column can play one part only', 'NAME_CLASH');
  }
  for (const f of featCols) {
    if (group.includes(f.name) || f.name === opts.label) throw new UsageError(`column ${ident(f.name)} is both a feature and the ${group.includes(f.name) ? 'group key' : 'label'}`, 'a column can play one part only', 'NAME_CLASH');
  }
  const packed = labelCol.kind.endsWith('[]');
  const evaluation = evaluationSpec(opts, entry.kind, Object.keys(known), (p) => entry.create(p), params);
  if (evaluation !== null && (weightCol !== null || asksPreprocessing(opts))) {
    throw new UsageError('held-out evaluation and grid search do not take sample weights or preprocessing yet: each fold would need its own fitted imputer and scaler, and weighted scores', 'train without weight / standardize / impute / categorical to evaluate or search', 'INVALID_OPTION');
  }
  let foldSql: string[] = [];
  if (evaluation?.split.kind === 'folds') {
    const fc = column(src, evaluation.split.column, 'fold');
    if (group.includes(fc.name) || fc.name === opts.label || features.includes(fc.name)) throw new UsageError(`column ${ident(fc.name)} is both the fold column and a ${group.includes(fc.name) ? 'group key' : fc.name === opts.label ? 'label' : 'feature'}`, 'a column can play one part only', 'NAME_CLASH');
    if (packed) throw new UsageError('folds needs one row per observation, and the training data is packed (one row per group)', 'use cv K or holdout F with packed data, or unpack it in a query', 'INVALID_OPTION');
    if (fc.kind !== 'number') throw new UsageError(`the fold column ${ident(fc.name)} is not numeric`, 'fold ids are numbers (−1: never held out), as scikit-learn\'s PredefinedSplit takes them; cast it in a query', 'INVALID_OPTION');
    foldSql = [float8Sql(`s.${ident(fc.name)}`, fc.oid === OID.numeric ? 'numeric' : 'other', ident(CATALOG_SCHEMA))];
  }
  let layout: RowLayout;
  let featureSql: string[];
  let selectFeatures: string[];
  let meta: Omit<TableMeta, 'runId'>;
  let featureSpec: FeatureSpec;
  const labelKind: 'number' | 'text' = labelCol.kind.startsWith('text') ? 'text' : 'number';
  if (labelCol.kind === 'other') {
    throw new DatabaseError('LABEL_NOT_USABLE', `label column ${ident(opts.label)} has a type manymodels cannot read (type oid ${labelCol.oid})`, 'use a numeric, boolean or text column (or an array of those in packed form)');
  }
  if (labelKind === 'text' && entry.kind === 'regressor') {
    throw new DatabaseError('LABEL_NOT_NUMERIC', `${entry.name} needs a numeric label, but ${ident(opts.label)} is text`, 'cast it in a query, or use a classifier (estimator logistic)');
  }
  // a bigint class label is read exactly (a float8 cast would merge labels beyond 2^53)
  const int8Label = !packed && entry.kind !== 'regressor' && labelCol.oid === OID.int8;
  // numeric goes through manymodels.to_float8: a value beyond float8's range becomes ±Infinity (its
  // group then fails with NON_FINITE_INPUT) instead of aborting the run
  const S = ident(CATALOG_SCHEMA);
  const labelSql = int8Label
    ? `s.${ident(opts.label)}::int8`
    : labelKind === 'text'
      ? `s.${ident(opts.label)}::text${packed ? '[]' : ''}`
      : labelCol.kind.startsWith('boolean')
        ? `s.${ident(opts.label)}::int${packed ? '[]' : ''}::float8${packed ? '[]' : ''}`
        : float8Sql(`s.${ident(opts.label)}`, labelCol.oid === OID.numeric ? 'numeric' : labelCol.oid === OID.numericArray ? 'numeric[]' : packed ? 'other[]' : 'other', S);
  const arraySql = (c: { name: string; oid: number }): string => float8Sql(`s.${ident(c.name)}`, c.oid === OID.numericArray ? 'numeric[]' : 'other[]', S);
  if ((packed || featCols[0].kind === 'number[]') && asksPreprocessing(opts)) {
    throw new UsageError('standardize, impute and one-hot encoding need feature columns, not an array', 'give the features as columns (unnest the array in a query)', 'INVALID_OPTION');
  }
  if (packed && weightCol !== null) throw new UsageError('sample weights need the long form (one row per observation), not packed arrays', 'unnest the packed arrays in a query', 'INVALID_OPTION');
  let prepMeta: PreprocessMeta | null = null;
  let prepPlan: PreprocessPlan | null = null;
  if (packed) {
    if (featCols.length !== 1 || featCols[0].kind !== 'number[]') {
      throw new DatabaseError('FEATURES_NOT_NUMERIC', `in packed form (the label ${ident(opts.label)} is an array) the features must be one 2-D numeric array column`, 'give --features the name of the array column, e.g. features');
    }
    layout = { keyFields: group.length, features: { kind: 'packed' }, label: labelKind };
    featureSpec = { array: featCols[0].name };
    featureSql = [featCols[0].oid === OID.numericArray ? arraySql(featCols[0]) : `s.${ident(featCols[0].name)}`];
    selectFeatures = [arraySql(featCols[0])];
    meta = { manymodels: 'models', version: 1, group, features: { kind: 'array', name: featCols[0].name }, label: opts.label, labelKind, estimator: entry.name, form: 'packed' };
  } else if (featCols.length === 1 && featCols[0].kind === 'number[]') {
    layout = { keyFields: group.length, features: { kind: 'array' }, label: int8Label ? 'int8' : labelKind };
    featureSpec = { array: featCols[0].name };
    featureSql = [featCols[0].oid === OID.numericArray ? arraySql(featCols[0]) : `s.${ident(featCols[0].name)}`];
    selectFeatures = [arraySql(featCols[0])];
    meta = { manymodels: 'models', version: 1, group, features: { kind: 'array', name: featCols[0].name }, label: opts.label, labelKind, estimator: entry.name, form: 'long' };
  } else {
    // number columns as float8, text (and categorical boolean) columns as text, one-hot encoded per group
    const cols = planFeatureColumns(featCols, opts, S);
    prepPlan = cols.plan;
    prepMeta = cols.meta;
    const categories = cols.kinds.map((k) => k === 'category');
    layout = {
      keyFields: group.length,
      features: { kind: 'columns', count: featCols.length, ...(categories.includes(true) ? { categories } : {}), ...(opts.impute !== undefined ? { keepMissing: true } : {}) },
      label: int8Label ? 'int8' : labelKind,
    };
    featureSpec = featCols.map((f) => f.name);
    featureSql = cols.selectSql;
    selectFeatures = featureSql;
    meta = { manymodels: 'models', version: 1, group, features: { kind: 'columns', names: features }, label: opts.label, labelKind, estimator: entry.name, form: 'long' };
  }
  if (prepMeta !== null) meta = { ...meta, preprocess: prepMeta };
  if (prepMeta !== null && prepMeta.categorical.length > 0 && opts.pool === 'global') {
    throw new UsageError(`partial pooling (pool global) needs number features, but ${prepMeta.categorical.map(ident).join(', ')} ${prepMeta.categorical.length === 1 ? 'is' : 'are'} one-hot encoded per group`, 'pool number features only, or train without pool', 'INVALID_OPTION');
  }
  if (prepMeta !== null && prepMeta.categorical.length > 0 && opts.strategy === 'in-database') {
    throw new DatabaseError('FEATURES_NOT_NUMERIC', `the in-database strategy needs number features, but ${prepMeta.categorical.map(ident).join(', ')} ${prepMeta.categorical.length === 1 ? 'is' : 'are'} one-hot encoded`, 'use the streaming strategy (the default), which one-hot encodes text columns per group');
  }
  if (weightCol !== null) {
    layout = { ...layout, weight: true };
    meta = { ...meta, weight: weightCol.name };
  }
  if (labelCol.kind.startsWith('boolean') && entry.kind !== 'regressor') meta = { ...meta, labelType: 'boolean' };
  if (foldSql.length > 0) layout = { ...layout, fold: true };
  const keySql = group.map((g) => `s.${ident(g)}`);
  await checkKeysOrderable(db, src, group);
  // Where a group ends, under the key's own equality (see group-cutter.ts): where its bytes change
  // for key types whose equality is byte equality; otherwise each row carries the size of its SQL
  // group and the cutter ends a group after that many rows.
  const dialect = await resolveDialect(db, opts.dialect);
  if (await cutOnKeyBytes(db, dialect, group.map((g) => column(src, g, 'group key').oid))) layout = { ...layout, keyBytes: true };
  const groupSize = layout.keyBytes === true ? [] : [`count(*) OVER (PARTITION BY ${keySql.join(', ')})`];
  const selectSql = `SELECT ${[...keySql, ...selectFeatures, labelSql, ...(weightCol !== null ? [weightSql(weightCol, S)] : []), ...foldSql, ...groupSize].join(', ')} FROM ${src.fromSql} ORDER BY ${keySql.join(', ')}`;
  const mff = opts.maxFailedFraction;
  if (mff !== undefined && !(typeof mff === 'number' && mff >= 0 && mff <= 1)) throw new UsageError(`maxFailedFraction must be a number from 0 to 1, got ${mff}`, undefined, 'INVALID_OPTION');
  const minRows = opts.minRows ?? 1;
  if (!Number.isInteger(minRows) || minRows < 1) throw new UsageError(`minRows must be an integer ≥ 1, got ${minRows}`, undefined, 'INVALID_OPTION');
  for (const [name, v] of [['maxGroupRows', opts.maxGroupRows], ['batchGroups', opts.batchGroups], ['workers', opts.workers]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < (name === 'workers' ? 0 : 1))) throw new UsageError(`${name} must be an integer ≥ ${name === 'workers' ? 0 : 1}, got ${v}`, undefined, 'INVALID_OPTION');
  }
  return {
    dialect,
    fitSpec: { estimator: entry.name, params, minRows, features: featureSpec, ...(opts.inference === true ? { inference: true } : {}), ...(prepPlan !== null ? { preprocess: prepPlan } : {}), ...(evaluation !== null ? { evaluation } : {}) },
    layout,
    group,
    featureNames: features,
    meta,
    selectSql,
    source: src.display,
    fromSql: src.fromSql,
    sourceTable: typeof opts.from === 'object' && opts.from !== null && 'query' in opts.from ? undefined : tableName(opts.from as TableRef),
    keyType: src.columns.get(group[0])?.dataTypeID ?? 0,
    featureSql,
    labelSql,
    output: {
      columns: [...group.map((g) => ({ name: g, typeOid: column(src, g, 'group key').oid })), ...MODEL_COLUMNS.map((c) => ({ name: c, typeOid: null }))],
      // a composite key may hold NULL in some columns (a group of its own), which a primary key refuses:
      // then the key goes on only at the swap, when no row has such a NULL (see swapIn)
      primaryKey: group,
      analyze: statisticsSpec(dialect, [...group, ...MODEL_COLUMNS]),
    },
  };
}

/**
 * Whether the rows of one group can be told by their key's bytes (keyBytesAreEquality).
 * MANYMODELS_KEY_BOUNDARY=count makes every run count group sizes in SQL instead (to compare the two).
 */
async function cutOnKeyBytes(db: Database, dialect: Dialect, oids: readonly number[]): Promise<boolean> {
  if (process.env.MANYMODELS_KEY_BOUNDARY === 'count' || dialect.mergeMaySplitKeys === true) return false;
  if (!keyBytesAreEquality(oids, false)) return false;
  if (!keyTypesHaveCollation(oids)) return true;
  const r = await db.main.query<{ any: boolean }>(NONDETERMINISTIC_COLLATIONS_SQL);
  return keyBytesAreEquality(oids, r.rows[0]?.any !== false);
}

/**
 * A group key needs an ordering (the rows are read ordered by it) and an equality (GROUP BY):
 * json, point, xml and the like have neither, and would fail deep in a run with a raw error.
 */
async function checkKeysOrderable(db: Database, src: ResolvedSource, group: readonly string[]): Promise<void> {
  // WHERE false: planned (so a missing operator still fails), never run (Greenplum runs InitPlans under LIMIT 0)
  const probe = (cols: readonly string[]) => db.main.query(`SELECT ${cols.map((g) => `s.${ident(g)}`).join(', ')} FROM ${src.fromSql} WHERE false GROUP BY ${cols.map((_, i) => i + 1).join(', ')} ORDER BY ${cols.map((_, i) => i + 1).join(', ')} LIMIT 0`);
  try {
    await probe(group);
  } catch (e) {
    if ((e as DatabaseError).sqlState !== '42883') throw e;
    for (const g of group) {
      try {
        await probe([g]);
      } catch (e2) {
        if ((e2 as DatabaseError).sqlState !== '42883') throw e2;
        const type = (await db.main.query<{ t: string }>('SELECT format_type($1::oid, NULL) AS t', [src.columns.get(g)?.dataTypeID ?? 0])).rows[0]?.t ?? 'its type';
        throw new DatabaseError(
          'KEY_NOT_ORDERABLE',
          `group key column ${ident(g)} is of type ${type}, which has no ordering or equality operator: rows cannot be grouped by it`,
          `group by a comparable form of it in a query, e.g. from: { query: 'SELECT ${ident(g)}::jsonb AS ${ident(g)}, ... FROM ...' } (json → jsonb, xml or point → text)`,
          '42883',
        );
      }
    }
    throw e;
  }
}

/** The plan for a dialect: new tables co-located with the source only where the engine allows it. */
export async function placeTraining(db: Database, plan: TrainPlan, dialect: Dialect): Promise<TrainPlan> {
  const sourceTable = await colocationSource(db, dialect, plan.sourceTable, plan.group);
  return { ...plan, sourceTable, distributeBy: await distributeByFor(db, dialect, sourceTable, plan.fromSql, plan.group, 'groups', plan.keyType) };
}

/** The statements a run would execute, without running them (train --explain). */
export async function explainTraining(db: Database, opts: TrainOptions): Promise<string[]> {
  const planned = await planTraining(db, opts);
  checkPoolOptions(opts, planned.fitSpec.estimator, planned.fitSpec.params);
  const dialect = planned.dialect;
  const plan = await placeTraining(db, planned, dialect);
  const target = tableName(opts.into);
  const runId = '00000000-0000-4000-8000-000000000000';
  const staging = stagingFor(target, runId);
  const body =
    (opts.strategy ?? 'streaming') === 'in-database'
      ? inDatabaseStatements(await inDatabaseSpec(db, plan, dialect, staging, runId))
      : streamingStatements(plan, staging, dialect);
  return [`-- manymodels train, ${opts.strategy ?? 'streaming'} strategy, ${dialect.name} dialect`, ...body, ...swapStatements(staging, plan.output)];
}

/** What the lifecycle adds to a train: keeping the state it replaces (lifecycle/versions.ts). */
export interface TrainHooks {
  keeper?: (dialect: Dialect, plan: TrainPlan) => PreviousKeeper;
}

/** Trains one model per group and swaps the models table in. See TrainOptions. */
export async function train(db: Database, opts: TrainOptions, version: string, hooks: TrainHooks = {}): Promise<TrainResult> {
  const t0 = performance.now();
  const planned = await planTraining(db, opts);
  const strategy = opts.strategy ?? 'streaming';
  if (strategy !== 'streaming' && strategy !== 'in-database') throw new UsageError(`unknown strategy '${strategy}'`, "use 'streaming' or 'in-database'");
  if (strategy === 'in-database' && planned.fitSpec.evaluation != null) {
    throw new UsageError('the in-database strategy does not evaluate or search: cv, folds, holdout and paramGrid need the streaming strategy', 'drop --strategy in-database (the streaming strategy is the default)', 'INVALID_OPTION');
  }
  if ((opts.pool ?? 'none') !== 'none' && planned.fitSpec.evaluation != null) {
    throw new UsageError('partial pooling (pool) is not evaluated per group: cv, folds, holdout and paramGrid train each group alone', 'train without pool to evaluate or search per group', 'INVALID_OPTION');
  }
  const dialect = planned.dialect;
  const plan = await placeTraining(db, planned, dialect);
  const pooled = checkPoolOptions(opts, plan.fitSpec.estimator, plan.fitSpec.params);
  const target = tableName(opts.into);
  await checkTarget(db.main, target, opts.replace === true, 'models');
  // checked before anything is written: the in-database strategy's own limits
  const inDb = strategy === 'in-database' ? await inDatabaseSpec(db, plan, dialect, stagingFor(target, '00000000-0000-4000-8000-000000000000'), '') : null;
  await faultPoint('plan');
  const fitter = opts.fitter ?? new AutoFitter(opts.workers);
  try {
    return await withRun(
      db,
      {
        target,
        version,
        wait: opts.wait,
        signal: opts.signal,
        output: { ...plan.output, keeper: hooks.keeper?.(dialect, plan) },
        record: {
          kind: 'train',
          source: plan.source,
          groupKey: plan.group,
          features: plan.featureNames,
          label: opts.label,
          inputForm: plan.meta.form,
          estimator: plan.fitSpec.estimator,
          params: plan.fitSpec.params,
        },
      },
      async ({ runId, staging, checkCancelled }) => {
        const outcome =
          inDb !== null
            ? await trainInDatabase(db, forRun(inDb, staging, runId), opts, checkCancelled)
            : pooled
              ? await trainPooled(db, plan, staging, runId, opts, fitter, dialect)
              : await trainStreaming(db, plan, staging, runId, opts, fitter, dialect);
        const { totals, failures, notes, nullKeyRows } = outcome;
        const pool = 'pool' in outcome ? (outcome.pool as PoolSummary) : undefined;
        if (totals.ok + totals.failed === 0) {
          throw new DatabaseError(
            'NO_GROUPS',
            `the training source ${plan.source} has no rows with a group key: there is nothing to train`,
            'check the source (and its WHERE clause, for a query); rows whose group key is NULL are skipped',
          );
        }
        const mff = opts.maxFailedFraction;
        if (mff !== undefined && totals.failed > mff * (totals.ok + totals.failed)) {
          throw tooManyFailed(`${totals.failed} of ${totals.ok + totals.failed} groups failed`, failures, mff, '');
        }
        const { result, end } = runOutcome(runId, target, totals, nullKeyRows, failures, notes, t0);
        if (pool !== undefined) result.pool = pool;
        return { result, meta: pool === undefined ? plan.meta : { ...plan.meta, pool }, end };
      },
    );
  } catch (e) {
    throw keyTooLong(e);
  } finally {
    if (opts.fitter === undefined) await fitter.close();
  }
}

/**
 * The models table's primary key refused a group key longer than a btree index entry can be
 * (about 2,700 bytes; SQLSTATE 54000 on one node): that error as KEY_TOO_LONG, with what to do. Any other error as it is.
 */
export function keyTooLong(e: unknown): unknown {
  // (Citus passes a worker's error on under another SQLSTATE: the message decides)
  if (!(e instanceof DatabaseError) || !/index row (size \d+ exceeds|requires \d+ bytes)/.test(e.message)) return e;
  const size = /index row size (\d+) exceeds .*?maximum (\d+)/.exec(e.message);
  return new DatabaseError(
    'KEY_TOO_LONG',
    `a group key is too long for the models table's primary key: ${size !== null ? `it takes ${size[1]} bytes in the index, more than PostgreSQL's maximum of ${size[2]}` : 'PostgreSQL indexes values up to about 2,700 bytes'}`,
    'group by a shorter key that tells the groups apart, such as md5 of the long column in a query (--from "SELECT md5(k) AS k_md5, ... FROM t")',
    e.sqlState,
  );
}

