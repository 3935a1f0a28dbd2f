import { BinaryCopyDecoder } from '../copy/binary-decoder.js';
import type { Database } from '../db/connection.js';
import { CancelledError, ManyModelsError, SingleClassError, UsageError } from '../errors.js';
import type { Label } from '../estimators/input.js';
import { LogisticRegression } from '../estimators/logistic-regression.js';
import { encodeAgainst, type PoolChoice, type PoolPrior, priorOf, SharedCSearch } from '../estimators/pooling.js';
import type { BatchOutput, EncodeSpec, GroupBatch, PoolSpec } from '../exec/batch.js';
import type { FailureTally } from '../exec/failure-tally.js';
import { MODEL_COLUMNS } from '../exec/encode-batch.js';
import type { Fitter } from '../exec/fitter.js';
import { encodeModel, type ModelDocument } from '../model-io/document.js';
import type { Dialect } from '../sql/dialect.js';
import { ident, qident } from '../sql/ident.js';
import { faultPoint } from './fault.js';
import { type CutterLimits, GroupCutter, rowFieldCount } from './group-cutter.js';
import type { Staging } from './output-table.js';
import { ProgressTracker } from './progress.js';
import { estimateRows } from './source.js';
import type { TrainOptions, TrainOutcome, TrainPlan } from './train.js';
import { addBatchOutput, streamingSetupSql } from './train-streaming.js';

/** What a pooled run records (TrainResult.pool, and the models table's catalog entry, where predict --fallback global finds the global model). */
export interface PoolSummary {
  centre: 'global';
  /** The global LogisticRegression, fitted on every usable row of every group, as a model document. */
  global: ModelDocument;
  /** The pooling strength C shared by every group, the intercept's C_b, and how C was set. */
  C: number;
  interceptC: number;
  chosenBy: 'given' | 'cv';
  /** cv only: folds per group, the groups and rows the search used, and the mean held-out log loss per candidate C. */
  folds?: number;
  groups?: number;
  rows?: number;
  curve?: { C: number; logLoss: number }[];
}

/** Options of `pool` checked before anything runs (the in-database strategy and regressors refuse it). */
export function checkPoolOptions(opts: TrainOptions, estimator: string, params: Record<string, unknown>): boolean {
  const pool = opts.pool ?? 'none';
  if (pool !== 'none' && pool !== 'global') throw new UsageError(`unknown pool '${String(pool)}'`, "use 'global' (partial pooling towards one model of all rows) or 'none'", 'INVALID_OPTION');
  const given = (['poolC', 'poolIntercept', 'poolFolds'] as const).filter((k) => opts[k] !== undefined);
  if (pool === 'none') {
    if (given.length > 0) throw new UsageError(`${given.join(', ')} given without pool: 'global'`, "add pool: 'global' (--pool global)", 'INVALID_OPTION');
    return false;
  }
  if ((opts.strategy ?? 'streaming') !== 'streaming') {
    throw new ManyModelsError('UNSUPPORTED', 'partial pooling (pool: global) runs with the streaming strategy only', 'leave out strategy in-database (--strategy), or train without pooling');
  }
  if (estimator !== 'LogisticRegression') {
    throw new ManyModelsError('UNSUPPORTED', `partial pooling supports LogisticRegression (binary) only, not ${estimator}`, 'use estimator logistic, or train without pooling');
  }
  if (params.classWeight !== undefined && params.classWeight !== null) {
    throw new ManyModelsError('UNSUPPORTED', 'partial pooling does not take classWeight (a group of one class has no weight for the other)', 'leave out classWeight, or train without pooling');
  }
  if (opts.inference === true) {
    throw new ManyModelsError('UNSUPPORTED', 'inference statistics are not computed for pooled models (their penalty is centred on the global model, which the standard errors would have to account for)', 'leave out inference (--inference), or train without pooling');
  }
  const c = opts.poolC;
  if (c !== undefined && c !== 'cv' && !(typeof c === 'number' && Number.isFinite(c) && c > 0)) {
    throw new UsageError(`poolC must be a finite number > 0 or 'cv', got ${String(c)}`, "leave it out to choose it by cross-validation over all groups ('cv')", 'INVALID_OPTION');
  }
  const b = opts.poolIntercept;
  if (b !== undefined && b !== 'same' && !(typeof b === 'number' && Number.isFinite(b) && b > 0)) {
    throw new UsageError(`poolIntercept must be a finite number > 0 or 'same', got ${String(b)}`, "leave it out for the same strength as the coefficients ('same')", 'INVALID_OPTION');
  }
  const k = opts.poolFolds;
  if (k !== undefined && !(Number.isInteger(k) && k >= 2)) throw new UsageError(`poolFolds must be an integer ≥ 2, got ${String(k)}`, undefined, 'INVALID_OPTION');
  return true;
}

/** The CV over all groups reads at most this many groups (evenly spaced in key order above it). */
const CV_MAX_GROUPS = 5_000;

/**
 * Partial pooling with the streaming strategy. The rows are read once (COPY, cut into groups and
 * batches as trainStreaming does) and kept in memory, since three passes need them: the global
 * LogisticRegression on every row, the choice of the shared C (K-fold CV over all groups), and the
 * pooled fit of each group (in the worker pool) whose rows go back with COPY. Memory is therefore
 * the source's numbers, 8·(features + 1) bytes a row plus the group keys, held until the write.
 */
export async function trainPooled(
  db: Database,
  plan: TrainPlan,
  staging: Staging,
  runId: string,
  opts: TrainOptions,
  fitter: Fitter,
  dialect: Dialect,
): Promise<TrainOutcome & { pool: PoolSummary }> {
  for (const sql of streamingSetupSql(plan, staging, dialect, db.concurrentStreams)) await db.main.exec(sql);
  await faultPoint('staging-created');
  const progress = new ProgressTracker('train', await estimateRows(db, opts.from), opts.onProgress, undefined, opts.signal);
  const t0 = performance.now();
  const trace = (what: string): void => {
    if (process.env.MANYMODELS_TRACE) process.stderr.write(`trace: pooled ${what} ${((performance.now() - t0) / 1000).toFixed(3)}\n`);
  };
  const { batches, nullKeyRows } = await readAll(db, plan, opts);
  trace('read done');

  // 1. the global model, on every usable row
  const global = fitGlobal(batches, plan.fitSpec.params);
  const prior = priorOf(global);
  const d = prior.coef.length;
  trace('global model fitted');
  // 2. the shared strength
  let choice: PoolChoice;
  const Cb = opts.poolIntercept ?? 'same';
  if (opts.poolC === undefined || opts.poolC === 'cv') {
    choice = await chooseC(batches, prior, d, opts.poolFolds ?? 5, Cb, global.maxIter, opts.signal);
  } else {
    choice = { C: opts.poolC, interceptC: Cb === 'same' ? opts.poolC : Cb, chosenBy: 'given' };
  }
  const pool: PoolSpec = { prior, C: choice.C, interceptC: choice.interceptC, chosenBy: choice.chosenBy };
  trace('strength chosen');
  // 3. every group, centred on the global model, written back as the streaming strategy writes
  const totals = { ok: 0, failed: 0, used: 0, skipped: 0, notConverged: 0 };
  const failures: FailureTally = {};
  const notes: FailureTally = {};
  const spec: EncodeSpec = { ...plan.fitSpec, pool, keyFields: plan.group.length, runId, serializedOn: Date.now() };
  const writer = db.concurrentStreams ? await db.openStream() : null;
  const onAbort = (): void => void writer?.cancel();
  opts.signal?.addEventListener('abort', onAbort);
  try {
    async function* body(): AsyncIterable<Uint8Array> {
      const ahead = Math.max(2, fitter.parallelism * 2);
      const pending: Promise<BatchOutput>[] = [];
      let next = 0;
      for (let i = 0; i < batches.length; i++) {
        while (next < batches.length && next < i + ahead) {
          pending[next] = fitter.fit(batches[next] as GroupBatch, { ...spec, serializedOn: Date.now() });
          next++;
        }
        const out = await pending[i];
        const batch = batches[i] as GroupBatch;
        batches[i] = null; // its rows are no longer needed
        delete pending[i];
        if (opts.signal?.aborted === true) throw new CancelledError(String(opts.signal.reason ?? 'aborted'));
        addBatchOutput(totals, failures, notes, out);
        progress.add(batch.count, batch.rowsRead);
        yield out.rows;
        await faultPoint(`write:${i + 1}`);
      }
    }
    const target = `${qident(staging.staging)} (${[...plan.group, ...MODEL_COLUMNS].map(ident).join(', ')})`;
    await (writer ?? db.main).copyIn(target, 'binary', body());
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (writer !== null) await writer.close();
  }
  await faultPoint('copy-done');
  trace('groups fitted and written');
  progress.finish();
  const summary: PoolSummary = { centre: 'global', global: encodeModel(global), C: choice.C, interceptC: choice.interceptC, chosenBy: choice.chosenBy };
  if (choice.chosenBy === 'cv') Object.assign(summary, { folds: choice.folds, groups: choice.groups, rows: choice.rows, curve: choice.curve });
  return { totals, failures, notes, nullKeyRows, pool: summary };
}

/** Every batch of the source, in key order. */
async function readAll(db: Database, plan: TrainPlan, opts: TrainOptions): Promise<{ batches: (GroupBatch | null)[]; nullKeyRows: number }> {
  const limits: CutterLimits = { batchNumbers: 1 << 18, batchGroups: opts.batchGroups ?? 4096, maxGroupRows: opts.maxGroupRows ?? 1_000_000 };
  const cutter = new GroupCutter(plan.layout, limits);
  const decoder = new BinaryCopyDecoder(rowFieldCount(plan.layout));
  const reader = await db.openStream();
  const onAbort = (): void => void reader.cancel();
  opts.signal?.addEventListener('abort', onAbort);
  const out: (GroupBatch | null)[] = [];
  try {
    let n = 0;
    for await (const chunk of reader.copyOut(`(${plan.selectSql})`, 'binary')) {
      decoder.feed(chunk, cutter.onRow);
      for (const b of cutter.takeReady()) {
        out.push(b);
        await faultPoint(`read:${++n}`);
      }
    }
    decoder.finish();
    cutter.finish();
    out.push(...cutter.takeReady());
  } catch (e) {
    if (opts.signal?.aborted === true) throw new CancelledError(String(opts.signal.reason ?? 'aborted'));
    throw e;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (reader !== db.main) await reader.close();
  }
  return { batches: out, nullKeyRows: cutter.nullKeyRows };
}

/**
 * A group whose rows enter the global model and the choice of C: read without a reason to fail, with
 * rows, of width d, and every number finite. A group with a NaN or infinite value fails alone when
 * it is fitted (NON_FINITE_INPUT), as without pooling; it must not fail the global fit of every group.
 */
function usable(b: GroupBatch, g: number, d: number): boolean {
  const n = b.nRows[g];
  if (b.preError[g] !== null || n === 0 || b.nFeatures[g] !== d) return false;
  const x = b.x;
  for (let i = b.xStart[g], end = i + n * d; i < end; i++) if (!Number.isFinite(x[i])) return false;
  if (b.yNum !== null) for (let i = b.rowStart[g], end = i + n; i < end; i++) if (!Number.isFinite(b.yNum[i])) return false;
  return true;
}

/** The global LogisticRegression on every usable row of every readable group (of the first such group's width). */
function fitGlobal(batches: readonly (GroupBatch | null)[], params: Record<string, unknown>): LogisticRegression {
  let d = -1;
  let total = 0;
  for (const b of batches as GroupBatch[]) {
    for (let g = 0; g < b.count; g++) {
      if (!usable(b, g, d < 0 ? b.nFeatures[g] : d)) continue;
      if (d < 0) d = b.nFeatures[g];
      total += b.nRows[g];
    }
  }
  if (total === 0) throw new ManyModelsError('NO_GROUPS', 'no group has a usable row: there is no global model to pool towards', 'check the source: rows with a NULL feature or label are skipped');
  const x = new Float64Array(total * d);
  const text = (batches[0] as GroupBatch).yText !== null;
  const yNum = text ? null : new Float64Array(total);
  const yText: string[] | null = text ? new Array<string>(total) : null;
  let r = 0;
  for (const b of batches as GroupBatch[]) {
    for (let g = 0; g < b.count; g++) {
      const n = b.nRows[g];
      if (!usable(b, g, d)) continue;
      x.set(b.x.subarray(b.xStart[g], b.xStart[g] + n * d), r * d);
      const r0 = b.rowStart[g];
      if (yNum !== null) yNum.set((b.yNum as Float64Array).subarray(r0, r0 + n), r);
      else for (let i = 0; i < n; i++) (yText as string[])[r + i] = (b.yText as string[])[r0 + i];
      r += n;
    }
  }
  try {
    return new LogisticRegression(params).fit({ data: x, rows: total, cols: d }, (yNum ?? yText) as Float64Array | Label[]);
  } catch (e) {
    if (e instanceof SingleClassError) {
      throw new ManyModelsError('SINGLE_CLASS', `every usable row of the source has the same label (${String(e.label)}): there is no global classifier to pool towards`, 'train on a source with both classes');
    }
    throw e;
  }
}

/**
 * The shared C by K-fold CV over (up to CV_MAX_GROUPS evenly spaced) groups, in this thread; between
 * batches it lets the event loop run, so that a cancel request (SIGINT) is seen.
 */
async function chooseC(
  batches: readonly (GroupBatch | null)[],
  prior: PoolPrior,
  d: number,
  folds: number,
  interceptC: number | 'same',
  maxIter: number,
  signal: AbortSignal | undefined,
): Promise<PoolChoice> {
  const search = new SharedCSearch(prior, { folds, interceptC, maxIter });
  let groups = 0;
  for (const b of batches as GroupBatch[]) groups += b.count;
  const stride = Math.max(1, Math.ceil(groups / CV_MAX_GROUPS));
  let k = 0;
  for (const b of batches as GroupBatch[]) {
    for (let g = 0; g < b.count; g++, k++) {
      if (k % 256 === 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (signal?.aborted === true) throw new CancelledError(String(signal.reason ?? 'aborted'));
      }
      const n = b.nRows[g];
      if (k % stride !== 0 || !usable(b, g, d)) continue;
      const r0 = b.rowStart[g];
      const y = b.yNum !== null ? b.yNum.subarray(r0, r0 + n) : (b.yText as string[]).slice(r0, r0 + n);
      search.add({ x: b.x.subarray(b.xStart[g], b.xStart[g] + n * d), rows: n, cols: d, y01: encodeAgainst(prior.classes, y, n) });
    }
  }
  return search.result();
}
