import type { Connection } from '../db/connection.js';
import { DatabaseError } from '../errors.js';
import { displayName, ident, qident, type QualifiedName } from '../sql/ident.js';

/**
 * What a user has attached to an existing output table, read from the catalog: anything that
 * depends on the table (indexes, constraints, views, rules, triggers, policies, statistics,
 * publications, sequences, child tables, functions of its row type), and what is stored on it
 * without a dependency (grants other than the owner's default ones, column comments, owner, storage options, row security, columns
 * manymodels does not write). The primary key on the group key and the table's own comment are
 * manymodels' and do not count.
 *
 * A table with nothing attached is replaced by DROP + RENAME, which costs nothing; a table with
 * something attached is kept and its contents replaced (TRUNCATE + INSERT), which keeps every
 * object on it. See output-table.ts.
 */
export interface OutputTableState {
  /** The table's oid, or null when it does not exist. */
  oid: number | null;
  /** One line per attached object, e.g. `index models_score_idx`, `view v`, `privileges granted to reader`. */
  attached: string[];
  /** Attached objects that a kept table cannot keep through a retrain (foreign keys that reference it). */
  blockers: string[];
  /** Its columns and their type oids. */
  columns: Map<string, number>;
  /** Whether it has a primary key (any). */
  hasPrimaryKey: boolean;
  /** Its owner, and whether this connection's role may act as its owner (the owner, a member of it, a superuser). */
  owner?: { name: string; mine: boolean };
}

/** The names of a table's columns, in order. */
export async function columnNames(conn: Connection, table: QualifiedName): Promise<string[]> {
  const r = await conn.query<{ name: string }>(`SELECT attname AS name FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, [qident(table)]);
  return r.rows.map((c) => c.name);
}

/** The output columns a run will write: name, and the type oid where it must match (the group key, the source's columns). */
export interface OutputColumn {
  name: string;
  typeOid: number | null;
}

export async function readOutputTable(conn: Connection, target: QualifiedName, ownKey: readonly string[]): Promise<OutputTableState> {
  const rel = (await conn.query<{ oid: number | null }>(`SELECT to_regclass($1)::oid AS oid`, [qident(target)])).rows[0];
  const oid = rel?.oid ?? null;
  if (oid === null) return { oid: null, attached: [], blockers: [], columns: new Map(), hasPrimaryKey: false };
  const t = (await conn.query<Record<string, unknown>>(
    `SELECT c.relkind::text AS kind, c.relacl IS NOT NULL AND c.relacl <> acldefault('r', c.relowner) AS acl, pg_get_userbyid(c.relowner) AS owner, c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) AS own, pg_has_role(c.relowner, 'USAGE') AS mine,
            c.reloptions IS NOT NULL AS opts, c.relpersistence::text AS persistence, c.reltablespace <> 0 AS tablespace,
            c.relrowsecurity OR c.relforcerowsecurity AS rls, c.relreplident::text <> 'd' AS replident, c.reltoastrelid::oid AS toast, c.reltype::oid AS rowtype,
            (SELECT t.typarray FROM pg_type t WHERE t.oid = c.reltype)::oid AS arraytype
     FROM pg_class c WHERE c.oid = $1`,
    [oid],
  )).rows[0];
  const cols = (await conn.query<{ name: string; type: number; acl: boolean; notnull: boolean; comment: string | null }>(
    `SELECT a.attname AS name, a.atttypid::oid AS type, a.attacl IS NOT NULL AS acl, a.attnotnull AS notnull, col_description(a.attrelid, a.attnum) AS comment
     FROM pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [oid],
  )).rows;
  const pk = (await conn.query<{ con: number; idx: number; idxname: string; relname: string; cols: string[] }>(
    `SELECT con.oid::oid AS con, con.conindid::oid AS idx, (SELECT i.relname::text FROM pg_class i WHERE i.oid = con.conindid) AS idxname,
            (SELECT r.relname::text FROM pg_class r WHERE r.oid = con.conrelid) AS relname,
            array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(n, i) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i) AS cols
     FROM pg_constraint con WHERE con.conrelid = $1 AND con.contype = 'p'`,
    [oid],
  )).rows[0];
  // the primary key manymodels put on the group key: on this run's key, or, named as manymodels names it
  // (<table>_pkey, mm_pkey_<run>), on an earlier run's key when the group key changes
  const ours =
    pk !== undefined &&
    ownKey.length > 0 &&
    ((pk.cols.length === ownKey.length && pk.cols.every((c, i) => c === ownKey[i])) || pk.idxname === `${pk.relname}_pkey` || pk.idxname.startsWith('mm_pkey_'));
  const attached: string[] = [];
  const blockers: string[] = [];
  // objects that depend on the table, or on its row type (other than its array type)
  const deps = (await conn.query<{ what: string; cls: string; objid: number; foreign: boolean; contype: string | null; conkey: string[] | null }>(
    `SELECT DISTINCT pg_describe_object(d.classid, d.objid, 0) AS what, d.classid::regclass::text AS cls, d.objid::oid AS objid,
            coalesce(con.conrelid <> $1, false) AS foreign, con.contype::text AS contype,
            CASE WHEN con.oid IS NOT NULL THEN array(SELECT a.attname::text FROM unnest(con.conkey) AS k(n) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n) END AS conkey
     FROM pg_depend d
     LEFT JOIN pg_constraint con ON d.classid = 'pg_constraint'::regclass AND con.oid = d.objid
     LEFT JOIN pg_trigger tg ON d.classid = 'pg_trigger'::regclass AND tg.oid = d.objid
     WHERE ((d.refclassid = 'pg_class'::regclass AND d.refobjid = $1) OR (d.refclassid = 'pg_type'::regclass AND d.refobjid = $2))
       AND NOT (d.classid = 'pg_type'::regclass AND d.objid IN ($2, $3))
       AND NOT (d.classid = 'pg_class'::regclass AND d.objid = $4)
       -- Citus's own TRUNCATE trigger, which every distributed table has (a new one gets its own)
       AND NOT coalesce(tg.tgfoid = to_regproc('pg_catalog.citus_truncate_trigger'), false)
     ORDER BY 1`,
    [oid, t.rowtype, t.arraytype ?? 0, t.toast ?? 0],
  )).rows;
  const pkCols = new Set(pk?.cols ?? []);
  for (const d of deps) {
    if (ours && (d.objid === pk.con || d.objid === pk.idx)) continue;
    // PostgreSQL 18 records the NOT NULL of a primary key's columns as constraints of their own
    if (d.contype === 'n' && d.conkey !== null && d.conkey.every((c) => pkCols.has(c))) continue;
    if (d.foreign && d.contype === 'f') blockers.push(d.what);
    attached.push(d.what);
  }
  if (t.acl) attached.push('privileges granted on it (GRANT)');
  if (!t.own) attached.push(`its owner ${ident(String(t.owner))}`);
  if (t.opts) attached.push('storage parameters (WITH (...))');
  if (t.persistence !== 'p') attached.push(t.persistence === 'u' ? 'UNLOGGED' : 'its persistence');
  if (t.tablespace) attached.push('its tablespace');
  if (t.rls) attached.push('row level security (ENABLE ROW LEVEL SECURITY)');
  if (t.replident) attached.push('its REPLICA IDENTITY');
  if (t.kind !== 'r') attached.push(t.kind === 'p' ? 'partitions' : `relation kind ${t.kind}`);
  for (const c of cols) {
    if (c.acl) attached.push(`privileges granted on column ${ident(c.name)}`);
    if (c.comment !== null) attached.push(`the comment on column ${ident(c.name)}`);
    if (c.notnull && !pkCols.has(c.name)) attached.push(`NOT NULL on column ${ident(c.name)}`);
  }
  return { oid, attached, blockers, columns: new Map(cols.map((c) => [c.name, c.type])), hasPrimaryKey: pk !== undefined, owner: { name: String(t.owner), mine: t.mine === true } };
}

/**
 * Checks, before a run does any work, that what is attached to its output table can be kept:
 * a table with attached objects is kept, so it must have every column the run writes, with the
 * same types, and no foreign key may reference it (its rows are replaced with TRUNCATE).
 */
export function checkKeepable(state: OutputTableState, target: QualifiedName, columns: readonly OutputColumn[]): void {
  if (state.oid === null) return;
  // replacing a table, or its rows and comment, is its owner's to do: said before any work, not at the swap
  if (state.owner !== undefined && !state.owner.mine) {
    throw new DatabaseError(
      'PERMISSION_DENIED',
      `the output table ${displayName(target)} belongs to the role ${ident(state.owner.name)}, and a run replaces it (or its rows and its comment), which only its owner may do`,
      `connect as ${ident(state.owner.name)} (or a member of it), make this role the owner (ALTER TABLE ... OWNER TO), or write to another table with --into`,
    );
  }
  if (state.attached.length === 0) return;
  const list = (xs: string[]) => (xs.length > 6 ? `${xs.slice(0, 6).join('; ')}; and ${xs.length - 6} more` : xs.join('; '));
  if (state.blockers.length > 0) {
    throw new DatabaseError(
      'OUTPUT_TABLE_DEPENDENCY',
      `the output table ${displayName(target)} is referenced by a foreign key (${list(state.blockers)}); its rows cannot be replaced while the reference stands`,
      'drop the foreign key (ALTER TABLE ... DROP CONSTRAINT), or write to another table with --into',
    );
  }
  const wrong: string[] = [];
  for (const c of columns) {
    const have = state.columns.get(c.name);
    if (have === undefined) wrong.push(`column ${ident(c.name)} is missing`);
    else if (c.typeOid !== null && have !== c.typeOid) wrong.push(`column ${ident(c.name)} has another type`);
  }
  if (wrong.length > 0) {
    throw new DatabaseError(
      'OUTPUT_TABLE_DEPENDENCY',
      `the output table ${displayName(target)} has objects attached (${list(state.attached)}) and would change shape (${list(wrong)}), so they cannot be kept`,
      'drop what is attached to it (or the table) first, or write to another table with --into',
    );
  }
}
