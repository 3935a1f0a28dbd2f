import type { Database, QueryResult } from './db/connection.js';
import { queryText, type TextQuerySummary, type TextSink } from './db/text-query.js';
import { type OpenOptions, openDatabase } from './db/open.js';
import { type RecommendOptions, type RecommendResult, recommend } from './decide/recommend.js';
import { type ImportOptions, type ImportResult, importCsv } from './pipeline/import-csv.js';
import { type ModelsSummary, describeModels } from './pipeline/models-summary.js';
import { type PredictOptions, type PredictResult, predict } from './pipeline/predict.js';
import { listRuns, type RunRecord } from './pipeline/runs.js';
import { type ModelView, type ShowOptions, showModel } from './pipeline/show-model.js';
import type { TableRef } from './pipeline/source.js';
import { explainTraining, type TrainOptions, type TrainResult } from './pipeline/train.js';
import { type DiffOptions, type DiffResult, diffVersions } from './lifecycle/diff.js';
import { type HistoryEntry, modelsHistory } from './lifecycle/history.js';
import { type RollbackOptions, type RollbackResult, rollback } from './lifecycle/rollback.js';
import { trainWithLifecycle } from './lifecycle/train.js';
import { type ReportResult, writeReport } from './report/report.js';
import type { ReportOptions } from './report/data.js';
import { VERSION } from './version.js';
import { type LoadModelsOptions, loadModels } from './export/load.js';
import type { Scorer } from './export/scorer.js';
import { type ExportOptions, type ExportResult, exportModels } from './export/export.js';

/**
 * A database with manymodels' operations on it. Get one with `open()`. Calls may overlap
 * (Promise.all of trains, predicts and sql): on PGlite they take turns on its one connection; on
 * a server each train, predict and import runs on a connection of its own, and sql statements
 * take turns on the main one. No two calls ever interleave statements on one connection.
 *
 *
 *   const db = await open();                       // embedded PGlite, in memory
 *   const db = await open('./data');               // embedded PGlite, persisted in ./data
 *   const db = await open('postgres://u:p@h/db');  // a PostgreSQL server
 */
export class ManyModels {
  constructor(readonly database: Database) {}

  /** 'pglite' or 'postgres'. */
  get kind(): Database['kind'] {
    return this.database.kind;
  }

  /**
   * Trains one model per group into a models table. The state it replaces is kept as a version
   * (`keep`, default 3); with `incremental`, only the groups whose rows changed are refitted.
   */
  train(opts: TrainOptions): Promise<TrainResult> {
    return this.database.session((db) => trainWithLifecycle(db, opts, VERSION));
  }

  /** Restores an earlier state of a models table (default: the one before the latest run), in one transaction. */
  rollback(opts: RollbackOptions): Promise<RollbackResult> {
    return this.database.session((db) => rollback(db, opts, VERSION));
  }

  /** What changed between the states two runs wrote to a models table: groups added, removed, refitted, the largest changes. */
  diff(opts: DiffOptions): Promise<DiffResult> {
    return this.database.exclusive((db) => diffVersions(db, opts));
  }

  /** The runs that wrote a models table, newest first, with what is left of each state (current, kept, gone). */
  history(models: TableRef, limit = 50): Promise<HistoryEntry[]> {
    return this.database.exclusive((db) => modelsHistory(db, models, limit));
  }

  /** The statements train(opts) would execute, without running them (nothing is written). */
  explainTrain(opts: TrainOptions): Promise<string[]> {
    return this.database.exclusive((db) => explainTraining(db, opts));
  }

  /** Scores rows with their group's model into a predictions table. */
  predict(opts: PredictOptions): Promise<PredictResult> {
    return this.database.session((db) => predict(db, opts, VERSION));
  }

  /**
   * Per group, the top k candidate rows by the group's model (probability of a class, expected value,
   * or a regressor's prediction) into a recommendations table.
   */
  recommend(opts: RecommendOptions): Promise<RecommendResult> {
    return this.database.session((db) => recommend(db, opts, VERSION));
  }

  /**
   * Writes one self-contained HTML report (charts inlined, no network needed) on a models table,
   * with calibration and ROC from a predictions table and a summary of a recommendations table.
   */
  report(opts: ReportOptions & { out: string }): Promise<ReportResult> {
    return this.database.session((db) => writeReport(db, opts, VERSION));
  }

  /**
   * Loads a models table's ok models into this process, decoded once, for scoring one row at a
   * time (or in batches) without a round trip: scorer.predictProba(key, features), predict, and
   * the batch forms. `keys` loads a subset; `maxModels` bounds how many are held (a larger table
   * gives a bounded scorer that fetches models on demand).
   */
  loadModels(models: TableRef, opts: LoadModelsOptions = {}): Promise<Scorer> {
    return loadModels(this.database, models, opts);
  }

  /**
   * Exports a models table's ok models: `format: 'onnx'` one ONNX model per group, `'sklearn'` one
   * scikit-learn pickle per group, into the directory `out` (with a manifest.json); with
   * `intoColumn` (sklearn) also into a `pickle bytea` column of the models table.
   */
  exportModels(opts: ExportOptions): Promise<ExportResult> {
    return exportModels(this.database, opts, VERSION);
  }

  /** Imports a CSV file (with a header line) into a new table, inferring column types. */
  importCsv(file: string, opts: ImportOptions): Promise<ImportResult> {
    return this.database.session((db) => importCsv(db, file, opts));
  }

  /** Counts by status, failure reasons, convergence and score distribution of a models table. */
  describeModels(table: TableRef): Promise<ModelsSummary> {
    return this.database.exclusive((db) => describeModels(db, table));
  }

  /**
   * One group's model, read as a whole: named coefficients (with their inference statistics when
   * trained with inference: true), parameters, status, rows, scores, the row's other columns and
   * the document. GROUP_NOT_FOUND when the table has no such group.
   */
  show(opts: ShowOptions): Promise<ModelView> {
    return this.database.exclusive((db) => showModel(db, opts));
  }

  /** The latest runs of the run catalog (manymodels.runs), newest first. */
  runs(limit = 20): Promise<RunRecord[]> {
    return this.database.exclusive((db) => listRuns(db, limit));
  }

  /**
   * Runs one SQL statement with $n parameters; rows come back as objects keyed by column name.
   * Text holding several statements is refused with MULTIPLE_STATEMENTS and runs nothing (use
   * `exec` for a script).
   */
  sql<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    return this.database.exclusive((db) => db.main.query<R>(text, params));
  }

  /**
   * Runs one SQL statement and hands its result to `sink` a batch of rows at a time, every value
   * as PostgreSQL's own text output (as psql prints it) and every row an array, so columns that
   * share a name stay apart. A query's rows are read through a cursor, so any size of result takes
   * bounded memory. Several statements are refused with MULTIPLE_STATEMENTS.
   */
  sqlText(text: string, sink: TextSink, opts: { batchRows?: number } = {}): Promise<TextQuerySummary> {
    return this.database.exclusive((db) => queryText(db.main, text, sink, opts.batchRows));
  }

  /** Runs a script of statements without parameters. */
  exec(text: string): Promise<void> {
    return this.database.exclusive((db) => db.main.exec(text));
  }

  close(): Promise<void> {
    return this.database.close();
  }
}

/**
 * Opens a database: nothing for in-memory PGlite, a directory for persisted PGlite, a postgres://
 * URL for a server. A directory without a database is created unless `create: false`.
 */
export async function open(target?: string, opts?: OpenOptions): Promise<ManyModels> {
  return new ManyModels(await openDatabase(target, opts));
}
