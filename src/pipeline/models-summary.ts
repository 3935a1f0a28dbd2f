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
  };
}
