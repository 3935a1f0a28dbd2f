/** manymodels: train, store and score one model per group in PostgreSQL-family databases. */
export * from './core.js';
export { open, ManyModels } from './api.js';
export type { PredictOptions, PredictResult } from './pipeline/predict.js';
export type { RecommendOptions, RecommendResult } from './decide/recommend.js';
export type { ReportOptions, ReportData } from './report/data.js';
export type { ReportResult } from './report/report.js';
export type { TrainOptions, TrainResult, FailureSummary } from './pipeline/train.js';
export type { ImportOptions, ImportResult } from './pipeline/import-csv.js';
export type { ModelsSummary } from './pipeline/models-summary.js';
export type { RunRecord } from './pipeline/runs.js';
export type { SourceRef, TableRef } from './pipeline/source.js';
export type { ProgressEvent, ProgressListener } from './pipeline/progress.js';
export type { Database, Connection, QueryResult, TextQueryResult, TextValue, Field } from './db/connection.js';
export type { TextSink, TextQuerySummary } from './db/text-query.js';
export type { OpenOptions } from './db/open.js';
export { VERSION } from './version.js';
export { runDemo, DEMO_SCHEMA, DEMO_SETUP_SQL, DEMO_TESTS_SQL, type DemoOptions, type DemoOutput } from './demo.js';
export { parseQualifiedName, parseNameList } from './sql/ident.js';
