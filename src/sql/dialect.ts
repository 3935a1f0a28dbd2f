import { literal, qident, type QualifiedName, ident } from './ident.js';

/**
 * What differs between the PostgreSQL-family engines manymodels runs on, as capability flags and
 * a few statement builders. Everything else in the SQL is the same for all of them. One file per
 * dialect in dialects/; see ../shared/DISTRIBUTED.md for the facts they encode.
 */
export interface Dialect {
  readonly name: 'postgres' | 'citus' | 'greenplum';
  /** Whether tables manymodels creates are spread over workers/segments by the group key. */
  readonly distributed: boolean;
  /**
   * What ends a LATERAL subquery over no table that must be computed once (per row, per group)
   * rather than inlined at each use of its columns: 'OFFSET 0' (the planner does not flatten it).
   * Every engine here pushes such a subquery down with the query around it.
   */
  readonly fence: string;
  /**
   * How the per-group linear solve of the in-database strategy is written: 'written-out' (the
   * Cholesky factorisation as a chain of fenced LATERAL subqueries of plain arithmetic; the
   * default) or 'function' (one call of the installed PL/pgSQL manymodels.spd_solve per group),
   * where the engine's planner is slow on the long chain (Greenplum 7: minutes per statement).
   */
  readonly solver?: 'written-out' | 'function';
  /**
   * true where an ORDER BY read over a distributed table may bring rows with equal keys out apart,
   * so a training read never ends a group where its key's bytes change there, only after its SQL
   * group size (pipeline/group-cutter.ts). Greenplum: MatrixDB 5.0 (Greenplum 7.0.0) sorts uuid on
   * its segments in another order than its Gather Motion merges them, and equal uuids come out
   * apart; the group size's window redistributes by the key first, which keeps each group whole.
   */
  readonly mergeMaySplitKeys?: boolean;
  /**
   * false where `ANALYZE table (columns)` cannot be given a column list: Citus 12.1 sends the list
   * on to its workers unquoted, and a column named "User Id" fails there with a syntax error; the
   * whole table is analyzed instead. Default true.
   */
  readonly analyzeColumnList?: boolean;
  /**
   * What ends a subquery over a table that should be computed once (predict's unpacking of the
   * models' coefficients); default `fence`. '' on Citus, which pulls a subquery over a distributed
   * table that has an OFFSET to the coordinator (recursive planning) instead of pushing it down.
   */
  readonly tableFence?: string;
  /**
   * A query ($1: a table's name, as regclass text) giving the column the table is hash-distributed
   * on (one row, column `col`; no row when it is not), where the engine co-locates tables by name
   * (Citus). New tables are co-located with a source only when it is distributed on the group key.
   */
  readonly distributionColumnSql?: string;
  /** The engine refuses NULL in a distribution column (Citus): a table whose key may hold NULL stays on the coordinator. */
  readonly distributionKeyNotNull?: boolean;
  /**
   * Statements that create `table` holding the rows of `select` (a SELECT statement), spread by
   * `distributeBy` (the group key; empty: not spread, a table on the coordinator) where the engine
   * distributes tables, co-located with `colocateWith` when given (a table distributed on the
   * same column).
   */
  createTableAs(table: QualifiedName, select: string, distributeBy: readonly string[], colocateWith?: QualifiedName): string[];
  /** Statements that create an empty `table` with the columns of `select`, distributed like createTableAs. */
  createEmptyTableAs(table: QualifiedName, select: string, distributeBy: readonly string[], colocateWith?: QualifiedName): string[];
}

export const postgresBase = {
  createTableAs(table: QualifiedName, select: string): string[] {
    return [`CREATE TABLE ${qident(table)} AS ${select}`];
  },
  createEmptyTableAs(table: QualifiedName, select: string): string[] {
    return [`CREATE TABLE ${qident(table)} AS ${select} WITH NO DATA`];
  },
};

/** A regclass literal for functions such as create_distributed_table. */
export function regclassLiteral(table: QualifiedName): string {
  return literal(qident(table));
}

export function identList(cols: readonly string[]): string {
  return cols.map(ident).join(', ');
}
