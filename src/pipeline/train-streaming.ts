import { BinaryCopyDecoder } from '../copy/binary-decoder.js';
import type { Database } from '../db/connection.js';
import type { BatchOutput, EncodeSpec, GroupBatch } from '../exec/batch.js';
import { MODEL_COLUMNS, MODEL_COLUMN_TYPES } from '../exec/encode-batch.js';
import type { Fitter } from '../exec/fitter.js';
import type { Dialect } from '../sql/dialect.js';
import { ident, qident } from '../sql/ident.js';
import { type CutterLimits, GroupCutter, rowFieldCount } from './group-cutter.js';
import type { Staging } from './output-table.js';
import { ProgressTracker } from './progress.js';
import { BoundedQueue } from './queue.js';
import { CancelledError } from '../errors.js';
import { faultPoint } from './fault.js';
import { estimateRows } from './source.js';
import type { TrainOptions, TrainOutcome, TrainPlan } from './train.js';
import { type FailureTally, mergeTally } from '../exec/failure-tally.js';

const BATCH_LIMITS = { batchNumbers: 1 << 18, batchGroups: 4096 };

/**
 * The empty staging table: the group key columns as the source has them (its primary key), then the
 * model columns. `keyNow` false leaves the primary key to the swap (see swapIn), for a database
 * that runs in this process (PGlite, !concurrentStreams): there every index entry written during
 * the COPY is main-thread time on the run's critical path, and one index build after it is cheaper
 * (100k groups: 0.22 s more for the COPY with the key, 0.06 s for the build). A server maintains
 * it beside the fitting, at no cost to the run's time, and finds a repeated key as it arrives.
 */
export function streamingSetupSql(plan: TrainPlan, staging: Staging, dialect: Dialect, keyNow = true): string[] {
  const keySql = plan.group.map((g) => `s.${ident(g)}`);
  const nulls = MODEL_COLUMNS.map((c, i) => `NULL::${MODEL_COLUMN_TYPES[i]} AS ${ident(c)}`);
  return [
    ...dialect.createEmptyTableAs(staging.staging, `SELECT ${[...keySql, ...nulls].join(', ')} FROM ${plan.fromSql}`, plan.distributeBy ?? plan.group, plan.sourceTable),
    // one row per group, checked as the rows arrive; a composite key may have NULL columns, as
    // (1, NULL) is a group of GROUP BY's, so its primary key waits for the swap (see swapIn)
    ...(plan.group.length === 1 && keyNow ? [`ALTER TABLE ${qident(staging.staging)} ADD PRIMARY KEY (${ident(plan.group[0])})`] : []),
  ];
}

/** The statements of a streaming run, for --explain. */
export function streamingStatements(plan: TrainPlan, staging: Staging, dialect: Dialect): string[] {
  return [
    ...streamingSetupSql(plan, staging, dialect),
    `COPY (${plan.selectSql}) TO STDOUT WITH (FORMAT binary)`,
    `-- every group is fitted in a worker thread; its row of the models table is written with:`,
    `COPY ${qident(staging.staging)} (${[...plan.group, ...MODEL_COLUMNS].map(ident).join(', ')}) FROM STDIN WITH (FORMAT binary)`,
  ];
}

/**
 * The streaming strategy: rows come out ordered by group with COPY, are cut into groups and
 * batches, fitted by the worker pool, and their rows of the models table go back with COPY.
 */
export async function trainStreaming(
  db: Database,
  plan: TrainPlan,
  staging: Staging,
  runId: string,
  opts: TrainOptions,
  fitter: Fitter,
  dialect: Dialect,
): Promise<TrainOutcome> {
  const t0 = performance.now();
  for (const sql of streamingSetupSql(plan, staging, dialect, db.concurrentStreams)) await db.main.exec(sql);
  await faultPoint('staging-created');
  if (process.env.MANYMODELS_TRACE) process.stderr.write(`trace: staging ready ${((performance.now() - t0) / 1000).toFixed(3)}\n`);
  const rowsTotal = await estimateRows(db, opts.from);
  const progress = new ProgressTracker('train', rowsTotal, opts.onProgress, undefined, opts.signal);
  const totals = { ok: 0, failed: 0, used: 0, skipped: 0, notConverged: 0 };
  const failures: FailureTally = {};
  const notes: FailureTally = {};
  const spec: EncodeSpec = { ...plan.fitSpec, keyFields: plan.group.length, runId, serializedOn: Date.now() };
  const reader = await db.openStream();
  const writer = db.concurrentStreams ? await db.openStream() : null;
  let cutter: GroupCutter | null = null;
  try {
    const limits: CutterLimits = { ...BATCH_LIMITS, batchGroups: opts.batchGroups ?? BATCH_LIMITS.batchGroups, maxGroupRows: opts.maxGroupRows ?? 1_000_000 };
    cutter = new GroupCutter(plan.layout, limits);
    const c = cutter;
    const decoder = new BinaryCopyDecoder(rowFieldCount(plan.layout));
    const tally = (batch: GroupBatch, out: BatchOutput): void => {
      addBatchOutput(totals, failures, notes, out);
      progress.add(batch.count, batch.rowsRead);
    };
    // Reading and fitting run ahead of writing, up to a bounded number of batches: the reader
    // waits when the queue is full (backpressure from the fitters and the writer), and the COPY
    // into the staging table pulls finished batches, in order, as fast as the database takes them.
    const queue = new BoundedQueue<{ batch: GroupBatch; out: Promise<BatchOutput> }>(Math.max(4, fitter.parallelism * 3));
    let dispatched = 0;
    const dispatch = async (batch: GroupBatch): Promise<void> => {
      await queue.push({ batch, out: fitter.fit(batch, { ...spec, serializedOn: Date.now() }) });
      await faultPoint(`read:${++dispatched}`);
    };
    // a cancel request (SIGINT) stops both COPY statements on the server and the pipeline here
    const onAbort = (): void => {
      queue.fail(new CancelledError(String(opts.signal?.reason ?? 'aborted')));
      void reader.cancel();
      void writer?.cancel();
    };
    opts.signal?.addEventListener('abort', onAbort);
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
      let written = 0;
      try {
        for (let item = await queue.shift(); item !== undefined; item = await queue.shift()) {
          const out = await item.out;
          tally(item.batch, out);
          yield out.rows;
          await faultPoint(`write:${++written}`);
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
    try {
      await (writer ?? db.main).copyIn(target, 'binary', body());
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    await faultPoint('copy-done');
    if (process.env.MANYMODELS_TRACE) process.stderr.write(`trace: write done ${((performance.now() - t0) / 1000).toFixed(3)}\n`);
    progress.finish();
  } finally {
    if (reader !== db.main) await reader.close();
    if (writer !== null) await writer.close();
  }
  return { totals, failures, notes, nullKeyRows: cutter?.nullKeyRows ?? 0 };
}

/** Adds a fitted batch's counts and reasons to a run's (streaming and pooled runs alike). */
export function addBatchOutput(
  totals: { ok: number; failed: number; used: number; skipped: number; notConverged: number },
  failures: FailureTally,
  notes: FailureTally,
  out: BatchOutput,
): void {
  totals.ok += out.ok;
  totals.failed += out.failed;
  totals.used += out.rowsUsed;
  totals.skipped += out.rowsSkipped;
  totals.notConverged += out.notConverged;
  mergeTally(failures, out.failures);
  mergeTally(notes, out.notes);
}
