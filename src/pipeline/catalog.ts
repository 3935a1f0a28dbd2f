import type { Connection } from '../db/connection.js';
import { ident, literal, qident, type QualifiedName } from '../sql/ident.js';
import { scoringFunctionsSql } from '../sql/scoring.js';
import type { PoolSummary } from './train-pooled.js';
import type { PreprocessMeta } from '../preprocess/plan.js';

/** The schema that holds the run catalog and the scoring functions. */
export const CATALOG_SCHEMA = 'manymodels';
const S = ident(CATALOG_SCHEMA);

const CATALOG_SQL = `
CREATE SCHEMA IF NOT EXISTS ${S};
CREATE TABLE IF NOT EXISTS ${S}.runs (
  run_id          uuid PRIMARY KEY,
  kind            text NOT NULL,
  status          text NOT NULL,
  started_at      timestamptz NOT NULL,
  finished_at     timestamptz,
  source          text,
  output_table    text,
  models_table    text,
  group_key       text[],
  features        text[],
  label           text,
  input_form      text,
  estimator       text,
  params          jsonb,
  groups_ok       bigint,
  groups_failed   bigint,
  rows_used       bigint,
  rows_skipped    bigint,
  null_key_rows   bigint,
  library_version text NOT NULL,
  error           text
);
ALTER TABLE ${S}.runs ADD COLUMN IF NOT EXISTS staging_table text[];
-- the tables manymodels wrote, with what predict needs to read them (earlier versions kept this in
-- the table's COMMENT only, where a user's COMMENT ON TABLE replaced it); an entry holds for the
-- table whose oid it names, so a table dropped and made again by someone else is not taken for ours
CREATE TABLE IF NOT EXISTS ${S}.tables (
  table_name      text PRIMARY KEY,
  table_oid       oid NOT NULL,
  meta            jsonb NOT NULL,
  run_id          uuid
);
-- earlier states of models tables (lifecycle/versions.ts): the state a run wrote, kept when a later
-- run replaced it, in an archive table beside the models table: 'full' (every row) or 'delta' (the
-- rows of the groups the replacing run touched; mm_present false for a group that run added)
CREATE TABLE IF NOT EXISTS ${S}.versions (
  run_id          uuid PRIMARY KEY,
  models_table    text NOT NULL,
  kind            text NOT NULL,
  archive         text[] NOT NULL,
  replaced_by     uuid NOT NULL,
  archived_at     timestamptz NOT NULL,
  meta            jsonb NOT NULL
);
`;

/** Creates the catalog schema, the runs table and the scoring functions, once per database and version. */
export async function ensureCatalog(conn: Connection, version: string): Promise<void> {
  const have = await conn.query<{ v: string | null }>(
    `SELECT obj_description(to_regnamespace($1)::oid, 'pg_namespace') AS v`,
    [CATALOG_SCHEMA],
  );
  const ddl = CATALOG_SQL + scoringFunctionsSql(S);
  const marker = `manymodels catalog ${version} ${fnv1a(ddl)}`;
  if (have.rows[0]?.v === marker) return;
  await conn.exec('BEGIN');
  try {
    // concurrent first runs would race on CREATE SCHEMA IF NOT EXISTS
    await conn.query(`SELECT pg_advisory_xact_lock(hashtext('manymodels.catalog'))`);
    await conn.exec(ddl);
    await conn.exec(`COMMENT ON SCHEMA ${S} IS ${literal(marker)}`);
    await conn.exec('COMMIT');
  } catch (e) {
    await conn.exec('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

export interface RunStart {
  runId: string;
  kind: 'train' | 'predict' | 'recommend' | 'rollback';
  source: string;
  outputTable: QualifiedName;
  modelsTable?: QualifiedName;
  groupKey: readonly string[];
  features: readonly string[];
  label?: string;
  inputForm?: string;
  estimator?: string;
  params?: Record<string, unknown>;
  version: string;
  /** The run's staging table, so that a later run can drop it if this one is killed. */
  staging?: QualifiedName;
}

export async function recordRunStart(conn: Connection, r: RunStart): Promise<void> {
  await conn.query(
    `INSERT INTO ${S}.runs (run_id, kind, status, started_at, source, output_table, models_table, group_key, features, label, input_form, estimator, params, library_version, staging_table)
     VALUES ($1, $2, 'running', now(), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [
      r.runId,
      r.kind,
      r.source,
      qident(r.outputTable),
      r.modelsTable ? qident(r.modelsTable) : null,
      r.groupKey,
      r.features,
      r.label ?? null,
      r.inputForm ?? null,
      r.estimator ?? null,
      r.params ? JSON.stringify(r.params) : null,
      r.version,
      r.staging ? [...r.staging] : null,
    ],
  );
}

export interface RunEnd {
  status: 'succeeded' | 'failed' | 'cancelled' | 'abandoned';
  groupsOk?: number;
  groupsFailed?: number;
  rowsUsed?: number;
  rowsSkipped?: number;
  nullKeyRows?: number;
  error?: string;
}

/** The SQL and parameters that close a run's catalog row (run inside the swap transaction on success). */
export function runEndStatement(runId: string, e: RunEnd): [string, unknown[]] {
  return [
    `UPDATE ${S}.runs SET status = $2, finished_at = now(), groups_ok = $3, groups_failed = $4, rows_used = $5, rows_skipped = $6, null_key_rows = $7, error = $8 WHERE run_id = $1`,
    [runId, e.status, e.groupsOk ?? null, e.groupsFailed ?? null, e.rowsUsed ?? null, e.rowsSkipped ?? null, e.nullKeyRows ?? null, e.error ?? null],
  ];
}

/** What manymodels writes as the COMMENT of a table it produced; predict reads it back. */
export interface TableMeta {
  manymodels: 'models' | 'predictions' | 'recommendations';
  version: 1;
  runId: string;
  group: string[];
  features: { kind: 'columns'; names: string[] } | { kind: 'array'; name: string };
  label?: string;
  labelKind?: 'number' | 'text';
  /** 'boolean' when a classifier's label column is boolean: classes are 0/1 in the models, predictions come back as booleans. */
  labelType?: 'boolean';
  estimator?: string;
  form?: 'long' | 'packed';
  /** Models: the feature preprocessing fitted per group (preprocess/), when the run asked for any. */
  preprocess?: PreprocessMeta;
  /** Models: the sample weight column, when the run had one. */
  weight?: string;
  /** Recommendations: the candidate column(s). */
  candidate?: string[];
  /** Models trained with pool 'global': the global model (predict --fallback global scores with it), the shared C and how it was chosen. */
  pool?: PoolSummary;
  /**
   * Models: what the fit depended on besides the rows (estimator, parameters, minRows, features, ...),
   * as canonical JSON; an incremental run refits only changed groups when it is the same.
   */
  fit?: string;
  /** Models written with changedSince: the highest value of that column the run saw (as text). */
  watermark?: { column: string; value: string };
}

export const META_PREFIX = 'manymodels:';

export function metaComment(meta: TableMeta): string {
  return META_PREFIX + JSON.stringify(meta);
}

/** The statements (inside the swap's transaction) that record `table` (now the table of that name) as written by manymodels with `meta`. */
export function tableRecordStatements(table: QualifiedName, meta: TableMeta): [string, unknown[]][] {
  return [
    [`DELETE FROM ${S}.tables WHERE table_name = $1 OR table_oid = to_regclass($1)::oid`, [qident(table)]],
    [`INSERT INTO ${S}.tables (table_name, table_oid, meta, run_id) VALUES ($1, to_regclass($1)::oid, $2::jsonb, $3::uuid)`, [qident(table), JSON.stringify(meta), meta.runId]],
  ];
}

/**
 * Reads the manymodels metadata of a table; null when it has none (not written by manymodels), undefined when the table does not exist.
 * The catalog's entry (manymodels.tables) comes first; tables written before it existed have theirs in their COMMENT.
 */
export async function readTableMeta(conn: Connection, name: QualifiedName): Promise<TableMeta | null | undefined> {
  const r = await conn.query<{ oid: number | null; c: string | null; cat: boolean }>(
    `SELECT to_regclass($1)::oid AS oid, obj_description(to_regclass($1)::oid, 'pg_class') AS c, to_regclass($2) IS NOT NULL AS cat`,
    [qident(name), qident([CATALOG_SCHEMA, 'tables'])],
  );
  const row = r.rows[0];
  if (row === undefined || row.oid === null) return undefined;
  if (row.cat) {
    const m = await conn.query<{ meta: TableMeta }>(`SELECT meta FROM ${S}.tables WHERE table_oid = $1::oid`, [row.oid]);
    if (m.rows.length > 0) return m.rows[0].meta;
  }
  if (row.c === null || !row.c.startsWith(META_PREFIX)) return null;
  try {
    return JSON.parse(row.c.slice(META_PREFIX.length)) as TableMeta;
  } catch {
    return null;
  }
}

/** A short fingerprint of the catalog's DDL, so a changed definition is installed again. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
