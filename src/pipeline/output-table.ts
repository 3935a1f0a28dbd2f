import type { Connection } from '../db/connection.js';
import { DatabaseError } from '../errors.js';
import { displayName, ident, literal, qident, type QualifiedName } from '../sql/ident.js';
import { redactUrls } from '../db/errors.js';
import { faultPoint } from './fault.js';
import { META_PREFIX, type RunEnd, metaComment, readTableMeta, runEndStatement, type TableMeta } from './catalog.js';

/**
 * Safe writes: a run builds its table under a staging name beside the target and swaps it in
 * within one transaction, so a failed or interrupted run leaves the previous table as it was.
 */
export interface Staging {
  readonly target: QualifiedName;
  readonly staging: QualifiedName;
}

export function stagingFor(target: QualifiedName, runId: string): Staging {
  const stagingName = `mm_stage_${runId.replaceAll('-', '').slice(0, 16)}`;
  return { target, staging: Object.freeze([...target.slice(0, -1), stagingName]) };
}

/** Refuses to overwrite a table that manymodels did not write, unless replace is set. */
export async function checkTarget(conn: Connection, target: QualifiedName, replace: boolean, what: TableMeta['manymodels']): Promise<void> {
  if (target.length > 1) {
    const schema = target[target.length - 2];
    const r = await conn.query<{ ok: boolean }>(`SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS ok`, [schema]);
    if (!r.rows[0].ok) {
      throw new DatabaseError('SCHEMA_NOT_FOUND', `the schema ${ident(schema)} of the output table ${displayName(target)} does not exist`, `create it first: CREATE SCHEMA ${ident(schema)}`);
    }
  }
  const meta = await readTableMeta(conn, target);
  if (meta === undefined || replace) return;
  if (meta === null || meta.manymodels !== what) {
    throw new DatabaseError(
      'OUTPUT_TABLE_NOT_MANAGED',
      `the output table ${displayName(target)} exists and was not written by manymodels ${what === 'models' ? 'train' : 'predict'}`,
      'choose another name, or pass --replace (replace: true) to overwrite it',
    );
  }
}

/** The swap, as --explain shows it. */
export function swapStatements(s: Staging): string[] {
  return [
    `-- the run holds SELECT pg_advisory_lock(hashtext('manymodels.table'), hashtext(${literal(qident(s.target))})) from its start`,
    'BEGIN',
    `DROP TABLE IF EXISTS ${qident(s.target)}`,
    `ALTER TABLE ${qident(s.staging)} RENAME TO ${ident(s.target[s.target.length - 1])}`,
    `COMMENT ON TABLE ${qident(s.target)} IS '${META_PREFIX}{...}'`,
    `UPDATE manymodels.runs SET status = 'succeeded', ... WHERE run_id = $1`,
    'COMMIT',
  ];
}

/** Drops the target (if any), renames the staging table to it, labels it, and closes the run, all in one transaction. */
export async function swapIn(conn: Connection, s: Staging, meta: TableMeta, runId: string, end: RunEnd): Promise<void> {
  const name = s.target[s.target.length - 1];
  await conn.exec('BEGIN');
  try {
    await conn.exec(`DROP TABLE IF EXISTS ${qident(s.target)}`);
    await faultPoint('swap:dropped');
    await conn.exec(`ALTER TABLE ${qident(s.staging)} RENAME TO ${ident(name)}`);
    await faultPoint('swap:renamed');
    await conn.exec(`COMMENT ON TABLE ${qident(s.target)} IS ${literal(metaComment(meta))}`);
    const [sql, params] = runEndStatement(runId, end);
    await conn.query(sql, params);
    await faultPoint('swap:catalogued');
    await conn.exec('COMMIT');
    await faultPoint('swap:committed');
  } catch (e) {
    await conn.exec('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** After a failure: drop the staging table and mark the run failed; never throws. */
export async function abandon(conn: Connection, s: Staging | null, runId: string | null, error: unknown): Promise<void> {
  await conn.exec('ROLLBACK').catch(() => undefined);
  if (s !== null) {
    for (const t of workTablesOf(s)) await conn.exec(`DROP TABLE IF EXISTS ${qident(t)}`).catch(() => undefined);
  }
  if (runId !== null) {
    const msg = error instanceof Error ? error.message : String(error);
    const status = (error as { code?: string })?.code === 'CANCELLED' ? 'cancelled' : 'failed';
    const [sql, params] = runEndStatement(runId, { status, error: redactUrls(msg) });
    await conn.query(sql, params).catch(() => undefined);
  }
}

/** The staging table and the in-database strategy's work tables beside it (<staging>_d, <staging>_g). */
export function workTablesOf(s: Staging): QualifiedName[] {
  const base = s.staging[s.staging.length - 1];
  const at = (name: string) => Object.freeze([...s.staging.slice(0, -1), name]);
  return [s.staging, at(`${base}_d`), at(`${base}_g`)];
}
