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
   * What ends a subquery that must be computed once rather than inlined where it is used:
   * 'OFFSET 0' (the planner does not flatten it), or '' where the engine cannot push such a
   * subquery down to its workers (Citus), which then recomputes the expression at each use.
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
   * Statements that create `table` holding the rows of `select` (a SELECT statement), spread by
   * `distributeBy` (the group key) where the engine distributes tables, co-located with
   * `colocateWith` when given (a table distributed on the same column).
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
