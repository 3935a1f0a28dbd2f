import { type Dialect, postgresBase } from '../dialect.js';

/** PostgreSQL and PGlite: one node, nothing to distribute. */
export const postgres: Dialect = Object.freeze<Dialect>({
  name: 'postgres',
  fence: 'OFFSET 0',
  distributed: false,
  createTableAs: (table, select) => postgresBase.createTableAs(table, select),
  createEmptyTableAs: (table, select) => postgresBase.createEmptyTableAs(table, select),
});
