/** manymodels: train, store and score one model per group in PostgreSQL-family databases. */
export * from './core.js';
export { open, ManyModels } from './api.js';
export type { TrainOptions, TrainResult, FailureSummary } from './pipeline/train.js';
export type { SourceRef, TableRef } from './pipeline/source.js';
export type { ProgressEvent, ProgressListener } from './pipeline/progress.js';
export type { Database, Connection, QueryResult } from './db/connection.js';
export { VERSION } from './version.js';
