import type { Database } from '../db/connection.js';
import { DatabaseError } from '../errors.js';
import { type FailureTally, REASON_NUMBER, topReasons } from '../exec/failure-tally.js';
import { displayName, literal, qident } from '../sql/ident.js';
import type { FailureSummary } from './train.js';
import { readTableMeta, type TableMeta } from './catalog.js';
import { type TableRef, tableName } from './source.js';

export interface ModelsSummary {
  table: string;
  meta: TableMeta;
  groups: { ok: number; failed: number };
  rows: { used: number; skipped: number };
  converged: { yes: number; no: number };
  nIter: { min: number | null; mean: number | null; max: number | null };
  /** Quantiles of train_score over ok groups: min, 25%, median, 75%, max. */
  trainScore: { min: number | null; q25: number | null; median: number | null; q75: number | null; max: number | null; mean: number | null };
  /** Failure reasons by code, most frequent first, each with its kinds of reason (see TrainResult.failures). */
  failures: FailureSummary[];
  serializedOn: { first: Date | null; last: Date | null };
  /** Trained with pool 'global': groups whose model is marked POOLED (they could not have been fitted alone). The strength is in meta.pool. */
  pooled?: number;
  /** Held-out evaluation (train's cv, folds, holdout): quantiles across groups; null when the run did not evaluate. */
  heldOut?: HeldOutSummary | null;
}

export interface Quantiles {
  min: number | null;
  q25: number | null;
  median: number | null;
  q75: number | null;
  max: number | null;
  mean: number | null;
}

export interface HeldOutSummary {
  /** 'cv', 'folds' or 'holdout'. */
  split: string;
  /** Groups with held-out metrics, and groups too small to split (NOT_EVALUATED). */
  groups: number;
  notEvaluated: number;
  /** Per metric (log_loss, roc_auc, brier, accuracy; r2, rmse, mae): its quantiles over the groups where it is defined, and that count. */
  metrics: Record<string, Quantiles & { groups: number }>;
  /** With a grid search: the chosen parameters, most frequent first (at most 10), with their counts. */
  chosen: { params: Record<string, unknown>; groups: number }[];
}

/** Counts by status, failure reasons, convergence and the score distribution of a models table. */
export async function describeModels(db: Database, ref: TableRef): Promise<ModelsSummary> {
  const name = tableName(ref);
  const meta = await readTableMeta(db.main, name);
  if (meta === undefined) throw new DatabaseError('TABLE_NOT_FOUND', `the models table ${displayName(name)} does not exist`);
  if (meta === null || meta.manymodels !== 'models') throw new DatabaseError('NOT_A_MODELS_TABLE', `${displayName(name)} is not a models table written by manymodels train`);
  const t = qident(name);
  const r = await db.main.query<Record<string, number | null | Date | number[]>>(`
    SELECT count(*) FILTER (WHERE status = 'ok')::float8 AS ok,
           count(*) FILTER (WHERE status = 'failed')::float8 AS failed,
           coalesce(sum(n_rows) FILTER (WHERE status = 'ok'), 0)::float8 AS used,
           coalesce(sum(n_skipped), 0)::float8 AS skipped,
           count(*) FILTER (WHERE converged)::float8 AS conv_yes,
           count(*) FILTER (WHERE NOT converged)::float8 AS conv_no,
           min(n_iter)::float8 AS it_min, avg(n_iter)::float8 AS it_mean, max(n_iter)::float8 AS it_max,
           percentile_cont(ARRAY[0, 0.25, 0.5, 0.75, 1]) WITHIN GROUP (ORDER BY train_score) AS q,
           avg(train_score)::float8 AS s_mean,
           min(serialized_on) AS first, max(serialized_on) AS last
    FROM ${t}`);
  const row = r.rows[0];
  const q = (row.q as number[] | null) ?? [null, null, null, null, null];
  const f = await db.main.query<{ code: string; kind: string; count: number; example: string }>(`
    SELECT split_part(error, ':', 1) AS code, regexp_replace(error, ${literal(REASON_NUMBER)}, '#', 'g') AS kind, count(*)::float8 AS count, min(error) AS example
    FROM ${t} WHERE status = 'failed' GROUP BY 1, 2`);
  const tally: FailureTally = {};
  for (const r of f.rows) {
    const c = (tally[r.code] ??= { count: 0, example: r.example, kinds: {} });
    c.count += Number(r.count);
    c.kinds[r.kind] = { example: r.example, count: Number(r.count) };
  }
  const failures = Object.entries(tally)
    .map(([code, c]): FailureSummary => {
      const { reasons, otherKinds } = topReasons(c.kinds);
      return { code, count: c.count, example: reasons[0].example, reasons, otherKinds };
    })
    .sort((a, b) => b.count - a.count || (a.code < b.code ? -1 : 1));
  const pooled =
    meta.pool === undefined ? undefined : Number((await db.main.query<{ n: number }>(`SELECT count(*)::float8 AS n FROM ${t} WHERE status = 'ok' AND error LIKE 'POOLED:%'`)).rows[0].n);
  const heldOut = await describeHeldOut(db, name);
  return {
    ...(pooled === undefined ? {} : { pooled }),
    table: displayName(name),
    meta,
    groups: { ok: row.ok as number, failed: row.failed as number },
    rows: { used: row.used as number, skipped: row.skipped as number },
    converged: { yes: row.conv_yes as number, no: row.conv_no as number },
    nIter: { min: row.it_min as number | null, mean: row.it_mean as number | null, max: row.it_max as number | null },
    trainScore: { min: q[0], q25: q[1], median: q[2], q75: q[3], max: q[4], mean: row.s_mean as number | null },
    failures,
    serializedOn: { first: row.first as Date | null, last: row.last as Date | null },
    heldOut,
  };
}

const HELD_OUT_METRICS = ['log_loss', 'roc_auc', 'brier', 'accuracy', 'r2', 'rmse', 'mae'] as const;

/** The held-out metrics of a models table, from its metrics column (absent in tables written before it existed). */
async function describeHeldOut(db: Database, name: readonly string[]): Promise<HeldOutSummary | null> {
  const has = await db.main.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'metrics' AND NOT attisdropped`, [qident(name)]);
  if (Number(has.rows[0]?.n ?? 0) === 0) return null;
  const t = qident(name);
  const parts = HELD_OUT_METRICS.map((m) => `percentile_cont(ARRAY[0, 0.25, 0.5, 0.75, 1]) WITHIN GROUP (ORDER BY (metrics->>${literal(m)})::float8) AS ${m}_q, avg((metrics->>${literal(m)})::float8) AS ${m}_mean, count(metrics->>${literal(m)})::float8 AS ${m}_n`);
  const r = await db.main.query<Record<string, unknown>>(`
    SELECT min(metrics->>'split') AS split, count(*) FILTER (WHERE NOT metrics ? 'reason')::float8 AS groups,
           count(*) FILTER (WHERE metrics ? 'reason')::float8 AS not_evaluated, ${parts.join(', ')}
    FROM ${t} WHERE status = 'ok' AND metrics IS NOT NULL`);
  const row = r.rows[0];
  if (row === undefined || row.split === null) return null;
  const metrics: HeldOutSummary['metrics'] = {};
  for (const m of HELD_OUT_METRICS) {
    const n = Number(row[`${m}_n`]);
    if (n === 0) continue;
    const q = row[`${m}_q`] as number[];
    metrics[m] = { min: q[0], q25: q[1], median: q[2], q75: q[3], max: q[4], mean: row[`${m}_mean`] as number, groups: n };
  }
  const c = await db.main.query<{ params: Record<string, unknown>; n: number }>(`
    SELECT model->'search'->'best' AS params, count(*)::float8 AS n FROM ${t}
    WHERE status = 'ok' AND model ? 'search' GROUP BY 1 ORDER BY 2 DESC, 1::text LIMIT 10`);
  return { split: row.split as string, groups: Number(row.groups), notEvaluated: Number(row.not_evaluated), metrics, chosen: c.rows.map((x) => ({ params: x.params, groups: Number(x.n) })) };
}
