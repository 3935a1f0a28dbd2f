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
 * How to spread a table keyed by `group` whose rows come from the source: by the key, unless the engine
 * refuses NULL in a distribution column (Citus) and the source is not distributed on the key and has a
 * row the table keeps whose first key column is NULL (predictions keep every row; a models table keeps
 * composite keys that are partly NULL), or the key's collation is nondeterministic, which Citus cannot
 * hash; then the table stays on the coordinator.
 */
export async function distributeByFor(
  db: Database,
  dialect: Dialect,
  colocateWith: QualifiedName | undefined,
  fromSql: string,
  group: readonly string[],
  keeps: 'every row' | 'groups',
  keyType: number,
): Promise<readonly string[]> {
  if (!dialect.distributionKeyNotNull || colocateWith !== undefined) return group;
  const k0 = `s.${ident(group[0])}`;
  // a table of groups keeps no row with a NULL single-column key: no pass over the source for it
  if (keeps === 'every row' || group.length > 1) {
    const kept = keeps === 'every row' ? `${k0} IS NULL` : `${k0} IS NULL AND (${group.slice(1).map((g) => `s.${ident(g)} IS NOT NULL`).join(' OR ')})`;
    const nulls = (await db.main.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${fromSql} WHERE ${kept}) AS any`)).rows[0].any;
    if (nulls) return [];
  }
  // pg_collation_for() of a type without collations is an error, so only for a collatable key
  const collatable = (await db.main.query<{ c: boolean }>('SELECT typcollation <> 0 AS c FROM pg_type WHERE oid = $1', [keyType])).rows[0]?.c === true;
  if (!collatable) return group;
  const r = await db.main.query<{ nd: boolean }>(
    `SELECT coalesce((SELECT NOT c.collisdeterministic FROM pg_collation AS c WHERE c.oid = (SELECT pg_collation_for(${k0})::regcollation FROM ${fromSql} LIMIT 1)), false) AS nd`,
  );
  return r.rows[0].nd ? [] : group;
}
