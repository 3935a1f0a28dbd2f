import { randomUUID } from 'node:crypto';
import type { Connection, Database } from '../db/connection.js';
import { CancelledError } from '../errors.js';
import type { QualifiedName } from '../sql/ident.js';
import { ensureCatalog, recordRunStart, type RunEnd, type RunStart, type TableMeta } from './catalog.js';
import { faultPoint } from './fault.js';
import { abandon, checkSwap, type Staging, stagingFor, type SwapSpec, swapIn } from './output-table.js';
import { cleanStaleRuns, lockOutputTable, lockRun, unlockOutputTable, unlockRun } from './run-guard.js';

/** Runs of this process that are under way: never mistaken for dead ones by cleanStaleRuns. */
const active = new Set<string>();

export interface RunContext {
  runId: string;
  staging: Staging;
  /** Throws CancelledError once the run's signal has fired. */
  checkCancelled(): void;
}

export interface RunOptions {
  target: QualifiedName;
  version: string;
  /** Wait for another run writing the same table (default), or fail at once with OUTPUT_LOCKED. */
  wait?: boolean;
  signal?: AbortSignal;
  record: Omit<RunStart, 'runId' | 'staging' | 'outputTable' | 'version'>;
  /** The columns the run writes and the models table's primary key; checked against the target before any work. */
  output: SwapSpec;
  /**
   * Puts the staging table's rows in place and closes the run, in one transaction (default swapIn,
   * which replaces the table); an incremental run replaces only the rows of the groups it refitted.
   */
  swap?: (conn: Connection, s: Staging, meta: TableMeta, runId: string, end: RunEnd, spec: SwapSpec) => Promise<void>;
}

/**
 * The life of a run that writes a table: catalog, locks, clean-up of dead runs, the run's catalog
 * row, the body (which fills the staging table), the swap; on any failure or cancellation the
 * staging tables are dropped and the run is marked failed or cancelled, and the previous table is
 * left exactly as it was.
 */
export async function withRun<T>(
  db: Database,
  o: RunOptions,
  body: (ctx: RunContext) => Promise<{ result: T; meta: Omit<TableMeta, 'runId'>; end: RunEnd }>,
): Promise<T> {
  const conn = db.main;
  const cancelled = (): void => {
    if (o.signal?.aborted) throw new CancelledError(String(o.signal.reason ?? 'aborted'));
  };
  cancelled();
  await ensureCatalog(conn, o.version);
  await faultPoint('catalog');
  await lockOutputTable(conn, o.target, o.wait !== false);
  const runId = randomUUID();
  active.add(runId);
  let staging: Staging | null = null;
  let recorded = false;
  try {
    await checkSwap(conn, o.target, o.output);
    await cleanStaleRuns(conn, runId, active);
    staging = stagingFor(o.target, runId);
    await recordRunStart(conn, { ...o.record, runId, outputTable: o.target, version: o.version, staging: staging.staging });
    recorded = true;
    await lockRun(conn, runId);
    await faultPoint('run-recorded');
    cancelled();
    const { result, meta, end } = await body({ runId, staging, checkCancelled: cancelled });
    cancelled();
    await faultPoint('swap:begin');
    await (o.swap ?? swapIn)(conn, staging, { ...meta, runId } as TableMeta, runId, end, o.output);
    await faultPoint('done');
    return result;
  } catch (e) {
    const err = o.signal?.aborted && !(e instanceof CancelledError) ? new CancelledError(String(o.signal.reason ?? 'aborted')) : e;
    await abandon(conn, staging, recorded ? runId : null, err);
    throw err;
  } finally {
    active.delete(runId);
    await unlockRun(conn, runId);
    await unlockOutputTable(conn, o.target);
  }
}

