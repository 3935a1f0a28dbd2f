import { randomUUID } from 'node:crypto';
import { BinaryCopyDecoder } from '../copy/binary-decoder.js';
import type { Database } from '../db/connection.js';
import { DatabaseError, UsageError } from '../errors.js';
import { estimatorEntry } from '../estimators/registry.js';
import type { BatchOutput, EncodeSpec, FitSpec, GroupBatch } from '../exec/batch.js';
import { MODEL_COLUMNS, MODEL_COLUMN_TYPES } from '../exec/encode-batch.js';
import type { Fitter } from '../exec/fitter.js';
import { AutoFitter } from '../exec/pool.js';
import { ident, qident } from '../sql/ident.js';
import { ensureCatalog, recordRunStart, type TableMeta } from './catalog.js';
import { type CutterLimits, GroupCutter, type RowLayout } from './group-cutter.js';
import { abandon, checkTarget, stagingFor, type Staging, swapIn } from './output-table.js';
import { type ProgressListener, ProgressTracker } from './progress.js';
import { BoundedQueue } from './queue.js';
import { column, resolveSource, type SourceRef, type TableRef, tableName } from './source.js';

export interface TrainOptions {
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
  estimator?: string;
  /** Estimator parameters, e.g. { C: 0.5 }. */
  params?: Record<string, unknown>;
  /** Overwrite an existing table that manymodels did not write. */
  replace?: boolean;
  /** Groups with fewer usable rows fail with TOO_FEW_ROWS (default 1). */
  minRows?: number;
  /** Groups with more rows fail alone with a clear reason (default 1,000,000). */
  maxGroupRows?: number;
  onProgress?: ProgressListener;
  /** Worker threads for fitting (default: one per core; 0 fits in this thread). */
  workers?: number;
  /** Where batches are fitted (default: a pool of `workers` threads, started only for jobs of more than one batch). */
  fitter?: Fitter;
}

export interface FailureSummary {
  /** The stable code of the reason, e.g. SINGLE_CLASS. */
  code: string;
  count: number;
  /** One full reason, as stored in the error column. */
  example: string;
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
  seconds: number;
}


const BATCH_LIMITS = { batchNumbers: 1 << 18, batchGroups: 4096 };

export interface TrainPlan {
  fitSpec: FitSpec;
  layout: RowLayout;
  group: string[];
  featureNames: string[];
  meta: Omit<TableMeta, 'runId'>;
  selectSql: string;
  source: string;
  fromSql: string;
}

function list(v: string | readonly string[], what: string): string[] {
  const out = typeof v === 'string' ? [v] : [...v];
  if (out.length === 0) throw new UsageError(`no ${what} given`, `name at least one ${what} column`);
  for (const c of out) if (typeof c !== 'string' || c.length === 0) throw new UsageError(`${what} column names must be non-empty strings`);
  if (new Set(out).size !== out.length) throw new UsageError(`a ${what} column is named twice: ${out.join(', ')}`);
  return out;
}

/** Checks the request against the source's columns and works out how rows are read. */
export async function planTraining(db: Database, opts: TrainOptions): Promise<TrainPlan> {
  const entry = estimatorEntry(opts.estimator ?? 'logistic');
  const params = opts.params ?? {};
  entry.create(params); // validates the parameters before anything is read
  const group = list(opts.group, 'group');
  const features = list(opts.features, 'feature');
  if (typeof opts.label !== 'string' || opts.label.length === 0) throw new UsageError('no label column given');
  const clash = group.find((g) => (MODEL_COLUMNS as readonly string[]).includes(g));
  if (clash !== undefined) {
    throw new UsageError(`the group key column ${ident(clash)} has the name of an output column`, `rename it in a query: from: { query: 'SELECT ${clash} AS ${clash}_key, ... FROM ...' }`);
  }
  const src = await resolveSource(db.main, opts.from, 'training source');
  const keyCols = group.map((g) => column(src, g, 'group key'));
  const featCols = features.map((f) => column(src, f, 'feature'));
  const labelCol = column(src, opts.label, 'label');
  for (const f of featCols) {
    if (group.includes(f.name) || f.name === opts.label) throw new UsageError(`column ${ident(f.name)} is both a feature and the ${group.includes(f.name) ? 'group key' : 'label'}`);
  }
  const packed = labelCol.kind.endsWith('[]');
  let layout: RowLayout;
  let featureSql: string[];
  let meta: Omit<TableMeta, 'runId'>;
  const labelKind: 'number' | 'text' = labelCol.kind.startsWith('text') ? 'text' : 'number';
  if (labelCol.kind === 'other') {
    throw new DatabaseError('LABEL_NOT_USABLE', `label column ${ident(opts.label)} has a type manymodels cannot read (type oid ${labelCol.oid})`, 'use a numeric, boolean or text column (or an array of those in packed form)');
  }
  if (labelKind === 'text' && entry.kind === 'regressor') {
    throw new DatabaseError('LABEL_NOT_NUMERIC', `${entry.name} needs a numeric label, but ${ident(opts.label)} is text`, 'cast it in a query, or use a classifier (estimator logistic)');
  }
  const labelSql = labelKind === 'text' ? `s.${ident(opts.label)}::text${packed ? '[]' : ''}` : labelCol.kind.startsWith('boolean') ? `s.${ident(opts.label)}::int${packed ? '[]' : ''}::float8${packed ? '[]' : ''}` : `s.${ident(opts.label)}::float8${packed ? '[]' : ''}`;
  if (packed) {
    if (featCols.length !== 1 || featCols[0].kind !== 'number[]') {
      throw new DatabaseError('FEATURES_NOT_NUMERIC', `in packed form (the label ${ident(opts.label)} is an array) the features must be one 2-D numeric array column`, 'give --features the name of the array column, e.g. features');
    }
    layout = { keyFields: group.length, features: { kind: 'packed' }, label: labelKind };
    featureSql = [`s.${ident(featCols[0].name)}::float8[]`];
    meta = { manymodels: 'models', version: 1, group, features: { kind: 'array', name: featCols[0].name }, label: opts.label, labelKind, estimator: entry.name, form: 'packed' };
  } else if (featCols.length === 1 && featCols[0].kind === 'number[]') {
    layout = { keyFields: group.length, features: { kind: 'array' }, label: labelKind };
    featureSql = [`s.${ident(featCols[0].name)}::float8[]`];
    meta = { manymodels: 'models', version: 1, group, features: { kind: 'array', name: featCols[0].name }, label: opts.label, labelKind, estimator: entry.name, form: 'long' };
  } else {
    for (const f of featCols) {
      if (f.kind !== 'number' && f.kind !== 'boolean') {
        throw new DatabaseError(
          'FEATURES_NOT_NUMERIC',
          `feature column ${ident(f.name)} is not numeric${f.kind === 'number[]' ? ' (an array column must be the only feature)' : ''}`,
          'features must be numeric or boolean columns, or a single numeric array column; cast or encode the others in a query',
        );
      }
    }
    layout = { keyFields: group.length, features: { kind: 'columns', count: featCols.length }, label: labelKind };
    featureSql = featCols.map((f) => `s.${ident(f.name)}${f.kind === 'boolean' ? '::int' : ''}::float8`);
    meta = { manymodels: 'models', version: 1, group, features: { kind: 'columns', names: features }, label: opts.label, labelKind, estimator: entry.name, form: 'long' };
  }
  const keySql = group.map((g) => `s.${ident(g)}`);
  const selectSql = `SELECT ${[...keySql, ...featureSql, labelSql].join(', ')} FROM ${src.fromSql} ORDER BY ${keySql.join(', ')}`;
  const minRows = opts.minRows ?? 1;
  if (!Number.isInteger(minRows) || minRows < 1) throw new UsageError(`minRows must be an integer ≥ 1, got ${minRows}`);
  return {
    fitSpec: { estimator: entry.name, params, minRows },
    layout,
    group,
    featureNames: features,
    meta,
    selectSql,
    source: src.display,
    fromSql: src.fromSql,
  };
}

/** Trains one model per group and swaps the models table in. See TrainOptions. */
export async function train(db: Database, opts: TrainOptions, version: string): Promise<TrainResult> {
  const t0 = performance.now();
  const plan = await planTraining(db, opts);
  const target = tableName(opts.into);
  await checkTarget(db.main, target, opts.replace === true, 'models');
  await ensureCatalog(db.main, version);

  const runId = randomUUID();
  let staging: Staging | null = null;
  let runRecorded = false;
  const fitter = opts.fitter ?? new AutoFitter(opts.workers);
  try {
    await recordRunStart(db.main, {
      runId,
      kind: 'train',
      source: plan.source,
      outputTable: target,
      groupKey: plan.group,
      features: plan.featureNames,
      label: opts.label,
      inputForm: plan.meta.form,
      estimator: plan.fitSpec.estimator,
      params: plan.fitSpec.params,
      version,
    });
    runRecorded = true;
    staging = stagingFor(target, runId);
    const keySql = plan.group.map((g) => `s.${ident(g)}`);
    const nulls = MODEL_COLUMNS.map((c, i) => `NULL::${MODEL_COLUMN_TYPES[i]} AS ${ident(c)}`);
    await db.main.exec(`CREATE TABLE ${qident(staging.staging)} AS SELECT ${[...keySql, ...nulls].join(', ')} FROM ${plan.fromSql} WITH NO DATA`);

    if (process.env.MANYMODELS_TRACE) process.stderr.write(`trace: staging ready ${((performance.now() - t0) / 1000).toFixed(3)}\n`);
    const rowsTotal = await estimateRows(db, opts.from);
    const progress = new ProgressTracker('train', rowsTotal, opts.onProgress);
    const totals = { ok: 0, failed: 0, used: 0, skipped: 0, notConverged: 0 };
    const failures = new Map<string, FailureSummary>();
    const spec: EncodeSpec = { ...plan.fitSpec, keyFields: plan.group.length, runId, serializedOn: Date.now() };
    const reader = await db.openStream();
    const writer = db.concurrentStreams ? await db.openStream() : null;
    let cutter: GroupCutter | null = null;
    try {
      const limits: CutterLimits = { ...BATCH_LIMITS, maxGroupRows: opts.maxGroupRows ?? 1_000_000 };
      cutter = new GroupCutter(plan.layout, limits);
      const c = cutter;
      const decoder = new BinaryCopyDecoder(plan.layout.keyFields + (plan.layout.features.kind === 'columns' ? plan.layout.features.count : 1) + 1);
      const tally = (batch: GroupBatch, out: BatchOutput): void => {
        totals.ok += out.ok;
        totals.failed += out.failed;
        totals.used += out.rowsUsed;
        totals.skipped += out.rowsSkipped;
        totals.notConverged += out.notConverged;
        for (const [code, f] of Object.entries(out.failures)) {
          const have = failures.get(code);
          if (have === undefined) failures.set(code, { code, count: f.count, example: f.example });
          else have.count += f.count;
        }
        let rows = 0;
        for (let g = 0; g < batch.count; g++) rows += batch.nRows[g] + batch.nSkipped[g];
        progress.add(batch.count, rows);
      };
      // Batches are fitted up to 2 × parallelism at a time and written in order; reading waits
      // when that many are in flight (backpressure from the fitters), and the COPY into the
      // staging table pulls from here (backpressure from the database).
      // Reading and fitting run ahead of writing, up to a bounded number of batches: the reader
      // waits when the queue is full (backpressure from the fitters and the writer), and the COPY
      // into the staging table pulls finished batches, in order, as fast as the database takes them.
      const queue = new BoundedQueue<{ batch: GroupBatch; out: Promise<BatchOutput> }>(Math.max(4, fitter.parallelism * 3));
      const dispatch = (batch: GroupBatch) => queue.push({ batch, out: fitter.fit(batch, { ...spec, serializedOn: Date.now() }) });
      const produce = (async () => {
        try {
          for await (const chunk of reader.copyOut(`(${plan.selectSql})`, 'binary')) {
            decoder.feed(chunk, c.onRow);
            for (const batch of c.takeReady()) await dispatch(batch);
          }
          decoder.finish();
          c.finish();
          if (process.env.MANYMODELS_TRACE) process.stderr.write(`trace: read done ${((performance.now() - t0) / 1000).toFixed(3)}\n`);
          for (const batch of c.takeReady()) await dispatch(batch);
          queue.close();
        } catch (e) {
          queue.fail(e);
        }
      })();
      async function* body(): AsyncIterable<Uint8Array> {
        try {
          for (let item = await queue.shift(); item !== undefined; item = await queue.shift()) {
            const out = await item.out;
            tally(item.batch, out);
            yield out.rows;
          }
        } catch (e) {
          queue.fail(e);
          throw e;
        } finally {
          queue.fail(new Error('the write ended'));
          await produce;
        }
      }
      const target = `${qident(staging.staging)} (${[...plan.group, ...MODEL_COLUMNS].map(ident).join(', ')})`;
      await (writer ?? db.main).copyIn(target, 'binary', body());
      if (process.env.MANYMODELS_TRACE) process.stderr.write(`trace: write done ${((performance.now() - t0) / 1000).toFixed(3)}\n`);
      progress.finish();
    } finally {
      if (reader !== db.main) await reader.close();
      if (writer !== null) await writer.close();
    }
    const nullKeyRows = cutter?.nullKeyRows ?? 0;
    const end = { status: 'succeeded' as const, groupsOk: totals.ok, groupsFailed: totals.failed, rowsUsed: totals.used, rowsSkipped: totals.skipped, nullKeyRows };
    await swapIn(db.main, staging, { ...plan.meta, runId }, runId, end);
    if (process.env.MANYMODELS_TRACE) process.stderr.write(`trace: swap done ${((performance.now() - t0) / 1000).toFixed(3)}\n`);
    return {
      runId,
      table: target,
      groupsOk: totals.ok,
      groupsFailed: totals.failed,
      rowsUsed: totals.used,
      rowsSkipped: totals.skipped,
      nullKeyRows,
      notConverged: totals.notConverged,
      failures: [...failures.values()].sort((a, b) => b.count - a.count),
      seconds: (performance.now() - t0) / 1000,
    };
  } catch (e) {
    await abandon(db.main, staging, runRecorded ? runId : null, e);
    throw e;
  } finally {
    if (opts.fitter === undefined) await fitter.close();
  }
}

/** The planner's row estimate for a table source (free), or null for queries and unanalysed tables. */
export async function estimateRows(db: Database, ref: SourceRef): Promise<number | null> {
  if (typeof ref === 'object' && ref !== null && 'query' in ref) return null;
  try {
    const r = await db.main.query<{ n: number | null }>(`SELECT reltuples::float8 AS n FROM pg_class WHERE oid = to_regclass($1)`, [qident(tableName(ref as TableRef))]);
    const n = r.rows[0]?.n;
    return n !== undefined && n !== null && n > 0 ? Math.round(n) : null;
  } catch {
    return null;
  }
}

export { MODEL_COLUMNS };
