import type { Database } from '../db/connection.js';
import { DatabaseError, UsageError } from '../errors.js';
import { displayName, ident, parseQualifiedName, qident, type QualifiedName } from '../sql/ident.js';
import { keyMatch } from '../sql/key-match.js';
import { CATALOG_SCHEMA } from '../pipeline/catalog.js';
import { type TableRef, tableName } from '../pipeline/source.js';
import { resolveRun } from './rollback.js';
import { stateSource } from './versions.js';

export interface DiffOptions {
  /** The earlier state: a run id (or a unique prefix) that wrote the models table. */
  runA: string;
  /** The later state. */
  runB: string;
  /** The models table; default: the table run B wrote. */
  models?: TableRef;
  /** How many groups each list shows (default 10). */
  limit?: number;
}

/** A group key, each column as PostgreSQL's text output (NULL as null). */
export type DiffKey = Record<string, string | null>;

export interface DiffResult {
  table: string;
  runA: string;
  runB: string;
  /** Groups in B and not in A. */
  added: number;
  /** Groups in A and not in B. */
  removed: number;
  /** Groups in both whose row B holds was fitted by another run than A's (run_id or serialized_on differ). */
  refitted: number;
  unchanged: number;
  /** The first `limit` groups of each kind, in key order. */
  addedGroups: DiffKey[];
  removedGroups: DiffKey[];
  refittedGroups: DiffKey[];
  /** Refitted groups ok in both, by the largest absolute change of a coefficient or intercept, largest first. */
  coefficientChanges: { key: DiffKey; maxAbsChange: number }[];
  /** Refitted groups with a train_score in both, by the largest absolute change, largest first. */
  scoreChanges: { key: DiffKey; before: number; after: number; change: number }[];
  /** Groups whose status changed (ok → failed, failed → ok). */
  statusChanges: { key: DiffKey; before: string; after: string }[];
  /**
   * When both states have a `metrics` column (jsonb of numbers, e.g. cross-validated scores): refitted
   * groups by the largest absolute change of one metric, largest first.
   */
  metricChanges: { key: DiffKey; metric: string; before: number; after: number; change: number }[];
}

/** The models table a run wrote, from the run catalog. */
async function tableOfRun(db: Database, run: string): Promise<QualifiedName> {
  const r = await db.main.query<{ t: string | null }>(
    `SELECT output_table AS t FROM ${qident([CATALOG_SCHEMA, 'runs'])} WHERE run_id::text = $1 OR (length($1) >= 4 AND run_id::text LIKE $1 || '%') ORDER BY started_at DESC LIMIT 1`,
    [run.trim().toLowerCase()],
  ).catch(() => ({ rows: [{ t: null }] }));
  const t = r.rows[0]?.t ?? null;
  if (t === null) throw new DatabaseError('VERSION_NOT_FOUND', `no run ${JSON.stringify(run)} is in the run catalog`, 'see manymodels runs; or name the table with --models');
  return parseQualifiedName(t);
}

/**
 * What changed between two states of a models table (each the current table or a kept version):
 * groups added, removed and refitted, and the largest changes of coefficients, scores and status.
 * Computed in SQL where the rows are.
 */
export async function diffVersions(db: Database, opts: DiffOptions): Promise<DiffResult> {
  const limit = opts.limit ?? 10;
  if (!Number.isInteger(limit) || limit < 0) throw new UsageError(`limit must be an integer ≥ 0, got ${opts.limit}`, undefined, 'INVALID_OPTION');
  const target = opts.models !== undefined ? tableName(opts.models) : await tableOfRun(db, opts.runB);
  const runA = await resolveRun(db, target, opts.runA);
  const runB = await resolveRun(db, target, opts.runB);
  const a = await stateSource(db.main, target, runA);
  const b = await stateSource(db.main, target, runB);
  const group = b.meta.group;
  if (JSON.stringify(a.meta.group) !== JSON.stringify(group)) {
    throw new UsageError(`runs ${runA} and ${runB} wrote ${displayName(target)} with different group keys (${a.meta.group.join(', ')} / ${group.join(', ')})`, 'compare states of one group key', 'INVALID_OPTION');
  }
  const nullSafe = group.map(() => group.length > 1);
  const conn = db.main;
  const hasMetrics = async (src: string) => (await conn.query(`SELECT * FROM ${src} AS v LIMIT 0`)).fields.some((f) => f.name === 'metrics');
  const metrics = (await hasMetrics(a.sql)) && (await hasMetrics(b.sql));
  const keyOut = group.map((g, i) => `CASE WHEN a.mm_in THEN a.${ident(g)} ELSE b.${ident(g)} END AS k${i}`);
  const keyText = group.map((_, i) => `k${i}::text AS ${ident(group[i])}`);
  const order = group.map((_, i) => `k${i}`).join(', ');
  // the largest change of a coefficient (in order; lax mode reads a 1-D or 2-D coef alike) or of an
  // intercept: each list paired by position on its own, the larger of the two (greatest() skips a
  // NULL); no UNION of table functions, which Citus cannot push down with the query around it
  const maxChange = (path: string) =>
    `(SELECT max(abs((x.v #>> '{}')::float8 - (y.v #>> '{}')::float8)) FROM jsonb_path_query(model_a, '${path}') WITH ORDINALITY AS x(v, i) JOIN jsonb_path_query(model_b, '${path}') WITH ORDINALITY AS y(v, i) USING (i))`;
  // true for a row of the state, NULL for the side a FULL JOIN fills in: a strict expression of a
  // column every models row has (a run writes a status for each group), not the constant true,
  // which the planner wraps in a PlaceHolderVar that Citus cannot plan once a WHERE on both sides
  // turns the FULL JOIN into an inner one ("PlaceHolderVar found where not expected")
  const present = 's.status = s.status';
  const joined = `(SELECT ${keyOut.join(', ')}, a.mm_in AS in_a, b.mm_in AS in_b,
      a.status AS status_a, b.status AS status_b, a.train_score AS score_a, b.train_score AS score_b, a.model AS model_a, b.model AS model_b,
      ${metrics ? 'a.metrics::jsonb AS metrics_a, b.metrics::jsonb AS metrics_b' : 'NULL::jsonb AS metrics_a, NULL::jsonb AS metrics_b'},
      (a.mm_in AND b.mm_in AND (a.run_id IS DISTINCT FROM b.run_id OR a.serialized_on IS DISTINCT FROM b.serialized_on)) AS refit
    FROM (SELECT s.*, ${present} AS mm_in FROM ${a.sql} AS s) AS a FULL JOIN (SELECT s.*, ${present} AS mm_in FROM ${b.sql} AS s) AS b ON ${keyMatch('a', 'b', group, nullSafe)}) AS j`;
  const counts = (await conn.query<{ added: number; removed: number; refitted: number; unchanged: number }>(
    `SELECT count(*) FILTER (WHERE in_a IS NULL)::float8 AS added, count(*) FILTER (WHERE in_b IS NULL)::float8 AS removed,
            count(*) FILTER (WHERE refit)::float8 AS refitted, count(*) FILTER (WHERE in_a AND in_b AND NOT refit)::float8 AS unchanged FROM ${joined}`,
  )).rows[0];
  const keys = async (where: string): Promise<DiffKey[]> =>
    (await conn.query<DiffKey>(`SELECT ${keyText.join(', ')} FROM ${joined} WHERE ${where} ORDER BY ${order} LIMIT ${limit}`)).rows;
  const keyOf = (r: Record<string, unknown>): DiffKey => Object.fromEntries(group.map((g) => [g, (r[g] as string | null) ?? null]));
  const coefRows = (await conn.query<Record<string, unknown>>(
    `SELECT ${keyText.join(', ')}, d FROM (SELECT j.*, greatest(${maxChange('lax $.state.coef[*][*]')}, ${maxChange('lax $.state.intercept[*]')}) AS d
       FROM ${joined} WHERE refit AND status_a = 'ok' AND status_b = 'ok') AS q
     WHERE d IS NOT NULL ORDER BY d DESC, ${order} LIMIT ${limit}`,
  )).rows;
  const scoreRows = (await conn.query<Record<string, unknown>>(
    `SELECT ${keyText.join(', ')}, score_a, score_b FROM ${joined} WHERE refit AND score_a IS NOT NULL AND score_b IS NOT NULL AND score_a <> score_b
     ORDER BY abs(score_b - score_a) DESC, ${order} LIMIT ${limit}`,
  )).rows;
  const statusRows = (await conn.query<Record<string, unknown>>(
    `SELECT ${keyText.join(', ')}, status_a, status_b FROM ${joined} WHERE in_a AND in_b AND status_a IS DISTINCT FROM status_b ORDER BY ${order} LIMIT ${limit}`,
  )).rows;
  // per refitted group, its metric that changed most (numbers only, keys present in both)
  const metricRows = metrics
    ? (await conn.query<Record<string, unknown>>(
        `SELECT ${keyText.join(', ')}, metric, va, vb FROM (
           SELECT DISTINCT ON (${order}) j.*, m.key AS metric, (m.value #>> '{}')::float8 AS va, (metrics_b -> m.key #>> '{}')::float8 AS vb
           FROM ${joined}, jsonb_each(CASE WHEN jsonb_typeof(metrics_a) = 'object' THEN metrics_a ELSE '{}' END) AS m
           WHERE refit AND jsonb_typeof(m.value) = 'number' AND jsonb_typeof(metrics_b -> m.key) = 'number'
           ORDER BY ${order}, abs((metrics_b -> m.key #>> '{}')::float8 - (m.value #>> '{}')::float8) DESC, m.key) AS q
         WHERE va <> vb ORDER BY abs(vb - va) DESC, ${order} LIMIT ${limit}`,
      )).rows
    : [];
  return {
    table: displayName(target),
    runA,
    runB,
    added: counts.added,
    removed: counts.removed,
    refitted: counts.refitted,
    unchanged: counts.unchanged,
    addedGroups: await keys('in_a IS NULL'),
    removedGroups: await keys('in_b IS NULL'),
    refittedGroups: await keys('refit'),
    coefficientChanges: coefRows.map((r) => ({ key: keyOf(r), maxAbsChange: Number(r.d) })),
    scoreChanges: scoreRows.map((r) => ({ key: keyOf(r), before: Number(r.score_a), after: Number(r.score_b), change: Number(r.score_b) - Number(r.score_a) })),
    statusChanges: statusRows.map((r) => ({ key: keyOf(r), before: String(r.status_a), after: String(r.status_b) })),
    metricChanges: metricRows.map((r) => ({ key: keyOf(r), metric: String(r.metric), before: Number(r.va), after: Number(r.vb), change: Number(r.vb) - Number(r.va) })),
  };
}
