import type { Connection } from '../db/connection.js';
import { DatabaseError } from '../errors.js';
import { displayName, qident, type QualifiedName } from '../sql/ident.js';
import { CATALOG_SCHEMA, runEndStatement } from './catalog.js';
import { workTablesOf } from './output-table.js';

/**
 * Advisory locks that keep runs apart, and the clean-up of runs that died:
 *  - a run holds the lock of its output table from start to swap, so two runs writing the same
 *    table never interleave (the second waits, or fails at once with OUTPUT_LOCKED);
 *  - a run holds a lock of its own while it lives, so a later run can tell a killed run (its
 *    lock is free) from a running one, and drop the killed run's staging tables.
 * Locks are session locks of the main connection: they vanish with its session, even on SIGKILL.
 */
const TABLE_SPACE = `hashtext('manymodels.table')`;
const RUN_SPACE = `hashtext('manymodels.run')`;

export async function lockOutputTable(conn: Connection, target: QualifiedName, wait: boolean): Promise<void> {
  if (wait) {
    await conn.query(`SELECT pg_advisory_lock(${TABLE_SPACE}, hashtext($1))`, [qident(target)]);
    return;
  }
  const r = await conn.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${TABLE_SPACE}, hashtext($1)) AS ok`, [qident(target)]);
  if (!r.rows[0].ok) {
    throw new DatabaseError(
      'OUTPUT_LOCKED',
      `another manymodels run is writing ${displayName(target)} right now`,
      'wait for it to finish and run again, or leave out --no-wait (wait: false) to queue behind it',
    );
  }
}

export async function unlockOutputTable(conn: Connection, target: QualifiedName): Promise<void> {
  await conn.query(`SELECT pg_advisory_unlock(${TABLE_SPACE}, hashtext($1))`, [qident(target)]).catch(() => undefined);
}

export async function lockRun(conn: Connection, runId: string): Promise<void> {
  await conn.query(`SELECT pg_advisory_lock(${RUN_SPACE}, hashtext($1))`, [runId]);
}

export async function unlockRun(conn: Connection, runId: string): Promise<void> {
  await conn.query(`SELECT pg_advisory_unlock(${RUN_SPACE}, hashtext($1))`, [runId]).catch(() => undefined);
}

/**
 * Finds runs still marked 'running' whose process is gone (their run lock is free), drops their
 * staging and work tables, and marks them 'abandoned'. Returns how many it cleaned.
 */
export async function cleanStaleRuns(conn: Connection, byRun: string, skip: ReadonlySet<string> = new Set()): Promise<number> {
  const r = await conn.query<{ run_id: string; staging_table: string[] | null }>(
    `SELECT run_id::text AS run_id, staging_table FROM ${qident([CATALOG_SCHEMA, 'runs'])} WHERE status = 'running'`,
  );
  let cleaned = 0;
  for (const run of r.rows) {
    if (skip.has(run.run_id)) continue;
    const free = await conn.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${RUN_SPACE}, hashtext($1)) AS ok`, [run.run_id]);
    if (!free.rows[0].ok) continue; // alive
    try {
      if (run.staging_table !== null && run.staging_table.length > 0) {
        for (const t of workTablesOf({ target: run.staging_table, staging: run.staging_table })) {
          await conn.exec(`DROP TABLE IF EXISTS ${qident(t)}`);
        }
      }
      const [sql, params] = runEndStatement(run.run_id, { status: 'abandoned', error: `the process running it stopped before it finished; run ${byRun} dropped its staging tables` });
      await conn.query(sql, params);
      cleaned++;
    } finally {
      await unlockRun(conn, run.run_id);
    }
  }
  // A run that ended (failed, cancelled) drops its staging tables itself, but that DROP can fail too
  // (a lock_timeout, a lost connection): such tables are dropped here, and the run keeps its status
  const left = await conn.query<{ staging_table: string[] }>(
    `SELECT staging_table FROM ${qident([CATALOG_SCHEMA, 'runs'])}
     WHERE status IN ('failed', 'cancelled') AND staging_table IS NOT NULL
       AND to_regclass((SELECT string_agg(quote_ident(x), '.' ORDER BY i) FROM unnest(staging_table) WITH ORDINALITY AS u(x, i))) IS NOT NULL`,
  );
  for (const run of left.rows) {
    for (const t of workTablesOf({ target: run.staging_table, staging: run.staging_table })) await conn.exec(`DROP TABLE IF EXISTS ${qident(t)}`);
  }
  return cleaned;
}
