import type { Database } from '../db/connection.js';
import { qident } from '../sql/ident.js';
import { CATALOG_SCHEMA } from './catalog.js';

export interface RunRecord {
  runId: string;
  kind: 'train' | 'predict' | 'recommend' | 'rollback';
  status: 'running' | 'succeeded' | 'failed' | 'cancelled' | 'abandoned';
  startedAt: Date;
  finishedAt: Date | null;
  source: string | null;
  outputTable: string | null;
  estimator: string | null;
  groupsOk: number | null;
  groupsFailed: number | null;
  rowsUsed: number | null;
  rowsSkipped: number | null;
  error: string | null;
  libraryVersion: string;
}

/** The latest runs of the run catalog, newest first (none when the catalog does not exist yet); only those that wrote `output` when given. */
export async function listRuns(db: Database, limit = 20, output?: readonly string[]): Promise<RunRecord[]> {
  const exists = await db.main.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [qident([CATALOG_SCHEMA, 'runs'])]);
  if (exists.rows[0].t === null) return [];
  const r = await db.main.query<Record<string, unknown>>(
    `SELECT run_id::text AS run_id, kind, status, started_at, finished_at, source, output_table, estimator,
            groups_ok::float8 AS groups_ok, groups_failed::float8 AS groups_failed, rows_used::float8 AS rows_used,
            rows_skipped::float8 AS rows_skipped, error, library_version
     FROM ${qident([CATALOG_SCHEMA, 'runs'])} ${output === undefined ? '' : 'WHERE output_table = $2'} ORDER BY started_at DESC LIMIT $1`,
    output === undefined ? [limit] : [limit, qident(output)],
  );
  return r.rows.map((x) => ({
    runId: x.run_id as string,
    kind: x.kind as RunRecord['kind'],
    status: x.status as RunRecord['status'],
    startedAt: x.started_at as Date,
    finishedAt: (x.finished_at as Date | null) ?? null,
    source: (x.source as string | null) ?? null,
    outputTable: (x.output_table as string | null) ?? null,
    estimator: (x.estimator as string | null) ?? null,
    groupsOk: (x.groups_ok as number | null) ?? null,
    groupsFailed: (x.groups_failed as number | null) ?? null,
    rowsUsed: (x.rows_used as number | null) ?? null,
    rowsSkipped: (x.rows_skipped as number | null) ?? null,
    error: (x.error as string | null) ?? null,
    libraryVersion: x.library_version as string,
  }));
}
