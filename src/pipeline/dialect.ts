import type { Database } from '../db/connection.js';
import type { Dialect } from '../sql/dialect.js';
import { DETECT_SQL, dialectByName, dialectFromServer } from '../sql/dialects/index.js';
import { ident, qident, type QualifiedName } from '../sql/ident.js';

/** The dialect asked for, or the one the server is (PGlite is PostgreSQL). */
export async function resolveDialect(db: Database, name?: string): Promise<Dialect> {
  if (name !== undefined) return dialectByName(name);
  if (db.kind === 'pglite') return dialectByName('postgres');
  const r = await db.main.query<{ citus: boolean; version: string }>(DETECT_SQL);
  return dialectFromServer(r.rows[0].citus, r.rows[0].version);
}

/**
 * The table to co-locate new tables with: the source table when the engine distributes it on the
 * group key's first column (Citus). Undefined for a query, a view, a reference or plain local
 * table, or a table distributed on another column: new tables then get the engine's default
 * placement for the key. Engines that do not co-locate by name (Greenplum) get the table as is.
 */
export async function colocationSource(db: Database, dialect: Dialect, table: QualifiedName | undefined, group: readonly string[]): Promise<QualifiedName | undefined> {
  if (table === undefined || dialect.distributionColumnSql === undefined) return table;
  let col: string | undefined;
  try {
    col = (await db.main.query<{ col: string }>(dialect.distributionColumnSql, [qident(table)])).rows[0]?.col;
  } catch {
    return table; // not the engine the dialect was asked for (--dialect citus on PostgreSQL, for --explain): as asked
  }
  return col === group[0] ? table : undefined;
}

/**
 * How to spread a table holding source rows keyed by `group` (predictions): by the key, unless the
 * engine refuses NULL in a distribution column and the source is not distributed on the key (so its
 * key may be NULL) and has a row with a NULL key; then the table stays on the coordinator.
 */
export async function rowsDistributeBy(db: Database, dialect: Dialect, colocateWith: QualifiedName | undefined, fromSql: string, group: readonly string[]): Promise<readonly string[]> {
  if (!dialect.distributionKeyNotNull || colocateWith !== undefined) return group;
  const r = await db.main.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${fromSql} WHERE s.${ident(group[0])} IS NULL) AS any`);
  return r.rows[0].any ? [] : group;
}
