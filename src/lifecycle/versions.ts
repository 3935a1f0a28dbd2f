import type { Connection, Database } from '../db/connection.js';
import { DatabaseError, UsageError } from '../errors.js';
import type { Dialect } from '../sql/dialect.js';
import { displayName, ident, qident, type QualifiedName } from '../sql/ident.js';
import { keyMatch } from '../sql/key-match.js';
import { CATALOG_SCHEMA, readTableMeta, type TableMeta } from '../pipeline/catalog.js';
import { columnNames } from '../pipeline/attached.js';
import { colocationSource } from '../pipeline/dialect.js';
import type { PreviousKeeper } from '../pipeline/output-table.js';

/**
 * Versions of a models table: every run that writes one keeps the state it replaces, inside the
 * swap's transaction, as an archive table beside it (`mm_v_<run>`), recorded in manymodels.versions
 * under the run that wrote that state:
 *
 *  - 'full': every row of the replaced table. When nothing is attached to the table the old table
 *    itself is renamed (no row moves); otherwise its rows are copied before they are replaced.
 *  - 'delta' (incremental runs, which change the rows of a few groups in place): the replaced
 *    state's rows of the groups the run touched, and one row per group the run added
 *    (mm_present false). The state is then that of the run that replaced it (replaced_by),
 *    with those groups taken from the archive.
 *
 * Retention keeps the newest `keep` versions of a table and drops the others, in the same
 * transaction. A delta depends only on newer states, so dropping the oldest first is always safe.
 */
export const DEFAULT_KEEP = 3;
const S = ident(CATALOG_SCHEMA);
const VERSIONS = `${S}.versions`;

export interface VersionRecord {
  runId: string;
  modelsTable: string;
  kind: 'full' | 'delta';
  archive: QualifiedName;
  replacedBy: string;
  archivedAt: Date;
  meta: TableMeta;
}

/** The archive table of the state a run wrote: beside the models table. */
export function archiveName(target: QualifiedName, runId: string): QualifiedName {
  return Object.freeze([...target.slice(0, -1), `mm_v_${runId.replaceAll('-', '').slice(0, 16)}`]);
}

export function checkKeep(keep: number | undefined): number {
  const k = keep ?? DEFAULT_KEEP;
  if (!Number.isInteger(k) || k < 0) throw new UsageError(`keep must be an integer ≥ 0 (how many earlier versions of the models table to keep), got ${keep}`, 'pass --keep 0 to keep none, or a small number such as 3', 'INVALID_OPTION');
  return k;
}

/** Where new tables for a models table go: co-located with it where the engine distributes tables on the key (Citus), by the key elsewhere. */
export async function placementLike(db: Database, dialect: Dialect, table: QualifiedName, group: readonly string[]): Promise<{ distributeBy: readonly string[]; colocateWith?: QualifiedName }> {
  if (!dialect.distributed) return { distributeBy: group };
  const exists = (await db.main.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [qident(table)])).rows[0].ok;
  const co = exists ? await colocationSource(db, dialect, table, group) : undefined;
  if (co !== undefined) return { distributeBy: group, colocateWith: co };
  // Citus refuses NULL in a distribution column (a partly NULL composite key): such tables stay on the coordinator
  return { distributeBy: dialect.distributionKeyNotNull ? [] : group };
}

/** The versions of a models table, newest first. */
export async function listVersions(conn: Connection, target: QualifiedName): Promise<VersionRecord[]> {
  const exists = (await conn.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [qident([CATALOG_SCHEMA, 'versions'])])).rows[0].ok;
  if (!exists) return [];
  const r = await conn.query<{ run_id: string; models_table: string; kind: 'full' | 'delta'; archive: string[]; replaced_by: string; archived_at: Date; meta: TableMeta }>(
    `SELECT run_id::text AS run_id, models_table, kind, archive, replaced_by::text AS replaced_by, archived_at, meta FROM ${VERSIONS} WHERE models_table = $1 ORDER BY archived_at DESC, run_id`,
    [qident(target)],
  );
  return r.rows.map((x) => ({ runId: x.run_id, modelsTable: x.models_table, kind: x.kind, archive: Object.freeze([...x.archive]), replacedBy: x.replaced_by, archivedAt: x.archived_at, meta: x.meta }));
}

/**
 * Keeps the state a swap replaces as a 'full' version (see PreviousKeeper): renamed away when
 * nothing is attached to the table, copied otherwise; then retention.
 */
export function fullVersionKeeper(dialect: Dialect, keep: number, placement: { distributeBy: readonly string[]; colocateWith?: QualifiedName }): PreviousKeeper {
  let pending: { runId: string; archive: QualifiedName; meta: TableMeta } | null = null;
  return {
    async beforeReplace(conn, target, how) {
      pending = null;
      const prev = await readTableMeta(conn, target);
      if (keep === 0 || prev === null || prev === undefined || prev.manymodels !== 'models' || typeof prev.runId !== 'string') return;
      const archive = archiveName(target, prev.runId);
      await dropVersion(conn, prev.runId); // a state restored by a rollback and replaced again: its newest copy wins
      if (how === 'rename') {
        await conn.exec(`ALTER TABLE ${qident(target)} RENAME TO ${ident(archive[archive.length - 1])}`);
        await renameIndexes(conn, archive);
      } else {
        for (const sql of dialect.createTableAs(archive, `SELECT * FROM ${qident(target)}`, placement.distributeBy, placement.colocateWith)) await conn.exec(sql);
      }
      pending = { runId: prev.runId, archive, meta: prev };
    },
    async afterReplace(conn, target, runId) {
      if (pending !== null) await recordVersion(conn, target, pending.runId, 'full', pending.archive, runId, pending.meta);
      pending = null;
      await applyRetention(conn, target, keep);
    },
  };
}

/** The archive's indexes (its primary key, named after the table it was) get names of their own, so the new table's can take theirs. */
async function renameIndexes(conn: Connection, archive: QualifiedName): Promise<void> {
  const r = await conn.query<{ idx: string }>(`SELECT c.relname AS idx FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass($1) ORDER BY 1`, [qident(archive)]);
  const base = archive[archive.length - 1];
  let n = 0;
  for (const { idx } of r.rows) {
    const name = `${base}_${n === 0 ? 'pkey' : `i${n}`}`;
    n++;
    if (name !== idx) await conn.exec(`ALTER INDEX ${qident([...archive.slice(0, -1), idx])} RENAME TO ${ident(name)}`);
  }
}

export async function recordVersion(conn: Connection, target: QualifiedName, runId: string, kind: 'full' | 'delta', archive: QualifiedName, replacedBy: string, meta: TableMeta): Promise<void> {
  await conn.query(
    `INSERT INTO ${VERSIONS} (run_id, models_table, kind, archive, replaced_by, archived_at, meta) VALUES ($1::uuid, $2, $3, $4, $5::uuid, clock_timestamp(), $6::jsonb)`,
    [runId, qident(target), kind, [...archive], replacedBy, JSON.stringify(meta)],
  );
  // a full archive is a models table of its own: predict can read it
  if (kind === 'full') {
    await conn.query(`DELETE FROM ${S}.tables WHERE table_name = $1 OR table_oid = to_regclass($1)::oid`, [qident(archive)]);
    await conn.query(`INSERT INTO ${S}.tables (table_name, table_oid, meta, run_id) VALUES ($1, to_regclass($1)::oid, $2::jsonb, $3::uuid)`, [qident(archive), JSON.stringify(meta), runId]);
  }
}

/** Drops the archive of a version and its record (nothing when there is none). */
export async function dropVersion(conn: Connection, runId: string): Promise<void> {
  const r = await conn.query<{ archive: string[] }>(`DELETE FROM ${VERSIONS} WHERE run_id = $1::uuid RETURNING archive`, [runId]);
  for (const { archive } of r.rows) {
    await conn.exec(`DROP TABLE IF EXISTS ${qident(archive)}`);
    await conn.query(`DELETE FROM ${S}.tables WHERE table_name = $1`, [qident(archive)]);
  }
}

/** Drops the versions of a table beyond the newest `keep`. */
export async function applyRetention(conn: Connection, target: QualifiedName, keep: number): Promise<void> {
  const r = await conn.query<{ run_id: string }>(`SELECT run_id::text AS run_id FROM ${VERSIONS} WHERE models_table = $1 ORDER BY archived_at DESC, run_id OFFSET $2`, [qident(target), keep]);
  for (const { run_id } of r.rows) await dropVersion(conn, run_id);
}

/** A state of a models table as SQL: a relation (table name or parenthesised SELECT) and the metadata of the run that wrote it. */
export interface StateSource {
  sql: string;
  meta: TableMeta;
  /** 'live' (the table itself) or the kind of its version. */
  where: 'live' | 'full' | 'delta';
}

/**
 * The state of `target` that run `runId` wrote: the table itself when it is the current state, an
 * archive for a full version, the newer state with the archived groups put back for a delta.
 */
export async function stateSource(conn: Connection, target: QualifiedName, runId: string, depth = 0): Promise<StateSource> {
  const live = await readTableMeta(conn, target);
  if (live !== null && live !== undefined && live.runId === runId) return { sql: qident(target), meta: live, where: 'live' };
  const v = (await listVersions(conn, target)).find((x) => x.runId === runId);
  if (v === undefined || depth > 1000) {
    const kept = await listVersions(conn, target);
    throw new DatabaseError(
      'VERSION_NOT_FOUND',
      `run ${runId} wrote no state of ${displayName(target)} that is kept${live ? ` (the current state is run ${live.runId})` : ''}`,
      kept.length === 0 ? 'no earlier version is kept; later runs keep them (train --keep N)' : `the kept versions are runs ${kept.map((k) => k.runId).join(', ')}; see manymodels runs --models ${displayName(target)}`,
    );
  }
  if (v.kind === 'full') return { sql: qident(v.archive), meta: v.meta, where: 'full' };
  const base = await stateSource(conn, target, v.replacedBy, depth + 1);
  const group = v.meta.group;
  const nullSafe = group.map(() => group.length > 1);
  const cols = (await columnNames(conn, v.archive)).filter((n) => n !== 'mm_present').map(ident);
  const sql = `(SELECT ${cols.map((c) => `b.${c}`).join(', ')} FROM ${base.sql} AS b WHERE NOT EXISTS (SELECT 1 FROM ${qident(v.archive)} AS d WHERE ${keyMatch('b', 'd', group, nullSafe)})
    UNION ALL SELECT ${cols.map((c) => `d.${c}`).join(', ')} FROM ${qident(v.archive)} AS d WHERE d.mm_present)`;
  return { sql, meta: v.meta, where: 'delta' };
}

/** Whether run `runId` has a kept state of `target` (the current one or a version). */
export async function hasState(conn: Connection, target: QualifiedName, runId: string): Promise<boolean> {
  const live = await readTableMeta(conn, target);
  if (live?.runId === runId) return true;
  return (await listVersions(conn, target)).some((v) => v.runId === runId);
}
