import type { Connection, Database, Field } from '../db/connection.js';
import { DatabaseError, UsageError } from '../errors.js';
import { displayName, ident, qident, type QualifiedName } from '../sql/ident.js';
import { kindOf, type ValueKind } from '../sql/types.js';

/** A table or view by name (a string is one unqualified name, taken as it is; an array is schema-first parts), or a query. */
export type TableRef = string | readonly string[];
export type SourceRef = TableRef | { readonly query: string };

export function tableName(ref: TableRef): QualifiedName {
  const parts = typeof ref === 'string' ? [ref] : [...ref];
  if (parts.length === 0 || parts.length > 3 || parts.some((p) => typeof p !== 'string' || p.length === 0)) {
    throw new UsageError(`${JSON.stringify(ref)} is not a table name`, 'give a name, or [schema, name]');
  }
  return Object.freeze(parts);
}

/** The FROM item for a source, aliased `s`. */
export interface ResolvedSource {
  /** SQL for the FROM clause: "schema"."table" AS s, or (query) AS s. */
  readonly fromSql: string;
  /** For messages and the run catalog. */
  readonly display: string;
  /** Its columns, by exact name. */
  readonly columns: ReadonlyMap<string, Field>;
  /** Its columns in order. */
  readonly fields: readonly Field[];
}

export async function resolveSource(conn: Connection, ref: SourceRef, role: string): Promise<ResolvedSource> {
  let fromSql: string;
  let display: string;
  if (typeof ref === 'object' && ref !== null && 'query' in ref) {
    const q = ref.query.trim().replace(/;\s*$/, '');
    if (q.length === 0) throw new UsageError(`the ${role} query is empty`);
    fromSql = `(${q}) AS s`;
    display = q.length > 200 ? `${q.slice(0, 200)}…` : q;
  } else {
    const name = tableName(ref as TableRef);
    fromSql = `${qident(name)} AS s`;
    display = displayName(name);
  }
  let fields: readonly Field[];
  try {
    // WHERE false: Greenplum runs a query's InitPlans (a pg_sleep, a nextval) even under LIMIT 0
    fields = (await conn.query(`SELECT s.* FROM ${fromSql} WHERE false LIMIT 0`)).fields;
  } catch (e) {
    const err = e as DatabaseError;
    if (err.code === 'TABLE_NOT_FOUND' || err.code === 'SCHEMA_NOT_FOUND') {
      throw new DatabaseError(err.code, `the ${role} ${display} does not exist (${err.message.split('\n')[0]})`, 'check the name and schema; create or import the table first (manymodels import FILE.csv --into T)', err.sqlState);
    }
    throw new DatabaseError(err.code ?? 'DATABASE_ERROR', `the ${role} ${display} cannot be read: ${err.message}`, err.hint, err.sqlState);
  }
  return { fromSql, display, columns: new Map(fields.map((f) => [f.name, f])), fields };
}

/** Looks a column up, or says which columns there are. */
export function column(src: ResolvedSource, name: string, role: string): { name: string; kind: ValueKind; oid: number } {
  const f = src.columns.get(name);
  if (f === undefined) {
    const names = [...src.columns.keys()];
    const folded = names.find((n) => n.toLowerCase() === name.toLowerCase());
    throw new DatabaseError(
      'COLUMN_NOT_FOUND',
      `${role} column ${ident(name)} does not exist in ${src.display}`,
      folded !== undefined ? `did you mean ${ident(folded)}? names are case-sensitive` : `its columns are: ${names.map(ident).join(', ') || '(none)'}`,
    );
  }
  return { name, kind: kindOf(f.dataTypeID), oid: f.dataTypeID };
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

