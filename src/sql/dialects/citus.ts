import { type Dialect, regclassLiteral } from '../dialect.js';
import { literal, qident } from '../ident.js';

/**
 * Citus: CREATE TABLE ... AS makes a local table on the coordinator, so a table is created empty,
 * distributed on the group key's first column with create_distributed_table (co-located with the
 * source when the source is a distributed table), then filled with INSERT ... SELECT, which runs
 * on the workers when it groups or joins by the distribution column.
 */
export const citus: Dialect = Object.freeze<Dialect>({
  name: 'citus',
  fence: '',
  distributed: true,
  createEmptyTableAs: (table, select, by, colocateWith) => [
    `CREATE TABLE ${qident(table)} AS ${select} WITH NO DATA`,
    `SELECT create_distributed_table(${regclassLiteral(table)}, ${literal(by[0])}${colocateWith ? `, colocate_with => ${regclassLiteral(colocateWith)}` : ''})`,
  ],
  createTableAs: (table, select, by, colocateWith) => [
    ...citus.createEmptyTableAs(table, select, by, colocateWith),
    `INSERT INTO ${qident(table)} ${select}`,
  ],
});
