import { type Dialect, identList } from '../dialect.js';
import { qident } from '../ident.js';

/**
 * Greenplum 7 and Apache Cloudberry: every table manymodels creates says DISTRIBUTED BY the group
 * key (without it ORCA makes a CREATE TABLE AS result DISTRIBUTED RANDOMLY, and every later join
 * on the key needs a motion). Tables distributed by the same key are co-located by construction.
 */
export const greenplum: Dialect = Object.freeze<Dialect>({
  name: 'greenplum',
  fence: 'OFFSET 0',
  // its planners spend seconds to minutes on the written-out solve's chain of LATERAL subqueries
  solver: 'function',
  distributed: true,
  mergeMaySplitKeys: true,
  createTableAs: (table, select, by) => [`CREATE TABLE ${qident(table)} AS ${select} DISTRIBUTED BY (${identList(by)})`],
  createEmptyTableAs: (table, select, by) => [`CREATE TABLE ${qident(table)} AS ${select} WITH NO DATA DISTRIBUTED BY (${identList(by)})`],
});
