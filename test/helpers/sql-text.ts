/** The in-database SQL generators, for the golden tests (compiled SQL text, no connection). */
export { type InDbSpec, dataTableSql, groupTableSql } from '../../dist/sql/in-database.js';
export { inDatabaseStatements as inDatabaseStatementsFor } from '../../dist/pipeline/train-in-database.js';
