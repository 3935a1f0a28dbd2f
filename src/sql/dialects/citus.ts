import { type Dialect, postgresBase, regclassLiteral } from '../dialect.js';
import { literal, qident } from '../ident.js';

/**
 * Citus: CREATE TABLE ... AS makes a local table on the coordinator, so a table is created empty,
 * distributed on the group key's first column with create_distributed_table (co-located with the
 * source when the source is a table distributed on that column; otherwise with Citus's default
 * co-location group for the column's type), then filled with INSERT ... SELECT, which runs on the
 * workers when it groups or joins by the distribution column. A distribution column cannot hold
 * NULL: a table that may (predictions of a source with NULL keys) is left on the coordinator.
 * A LATERAL subquery over no table with OFFSET 0 is pushed down with the rest (each per-group
 * value of the in-database strategy is computed once); one over a distributed table is not, so
 * predict's models subquery goes unfenced (tableFence).
 */
export const citus: Dialect = Object.freeze<Dialect>({
  name: 'citus',
  fence: 'OFFSET 0',
  tableFence: '',
  distributed: true,
  distributionColumnSql: `SELECT distribution_column::text AS col FROM citus_tables WHERE table_name = to_regclass($1) AND citus_table_type = 'distributed'`,
  distributionKeyNotNull: true,
  analyzeColumnList: false,
  createEmptyTableAs: (table, select, by, colocateWith) =>
    by.length === 0
      ? postgresBase.createEmptyTableAs(table, select)
      : [
          `CREATE TABLE ${qident(table)} AS ${select} WITH NO DATA`,
          `SELECT create_distributed_table(${regclassLiteral(table)}, ${literal(by[0])}${colocateWith ? `, colocate_with => ${regclassLiteral(colocateWith)}` : ''})`,
        ],
  createTableAs: (table, select, by, colocateWith) =>
    by.length === 0 ? postgresBase.createTableAs(table, select) : [...citus.createEmptyTableAs(table, select, by, colocateWith), `INSERT INTO ${qident(table)} ${select}`],
});
