import { ident, literal, qident, type QualifiedName } from './ident.js';
import { keyMatch } from './key-match.js';

export interface InlineScoring {
  /** FROM item of the source, aliased s. */
  fromSql: string;
  models: QualifiedName;
  group: readonly string[];
  /** The features of a source row: one float8 expression per feature, or one float8[] expression. */
  features: { kind: 'columns'; exprs: readonly string[] } | { kind: 'array'; expr: string };
  /** Features per model (the same for every model of the table). */
  nFeatures: number;
  /** A binary classifier (LogisticRegression with 2 classes) or a linear regressor. */
  kind: 'binary' | 'regressor';
  /** The prediction column's type for a classifier: its classes as text or as numbers. */
  labelKind: 'number' | 'text';
  /** The dialect's fence of a LATERAL subquery over no table (default 'OFFSET 0'). */
  fence?: string;
  /** Per key column: match NULL with NULL (some model's composite key is NULL in that column). */
  nullSafeKeys?: readonly boolean[];
  /**
   * false (the fast form): z in PostgreSQL's float8 arithmetic, which raises on overflow and
   * underflow (SQLSTATE 22003). true: z through manymodels.ieee_dot, which never raises; the
   * pipeline runs this form when the fast one raised. Wide models (over INLINE_FEATURES_MAX
   * features) always take it.
   */
  guarded?: boolean;
  /** The schema of the scoring functions, quoted (default "manymodels"). */
  schema?: string;
  /** More output columns (expressions over s, m and g.z, with their AS names); recommend reads the classes. */
  extra?: readonly string[];
  /** The dialect's fence of the subquery over the models table (default `fence`; '' on Citus). */
  tableFence?: string;
  /**
   * A binary model that scores the rows whose group has no usable model (predict's fallback to the
   * global model of a pooled table): its numbers are written into the statement as literals, each
   * unpacked field becoming coalesce(the group's, the fallback's). Rows of such groups are those
   * with m.mm_b IS NULL.
   */
  fallback?: { intercept: number; coef: readonly number[]; classes: readonly [number | string, number | string] };
}

/**
 * Above this many features a row is scored by manymodels.ieee_dot (a loop) instead of one written-out
 * sum: the sum is an expression tree as deep as it is long, and PostgreSQL (PGlite's small stack
 * first) and its 1,664-column limit on the weight columns give out at a few hundred.
 */
export const INLINE_FEATURES_MAX = 100;

/**
 * work_mem (in kB) that keeps the scoring join's hash of the models in memory, in one batch, or
 * null when `currentKb` already does. PostgreSQL 15 measured 82.5 bytes per model of 2 features
 * (990,000 models: 81,669 kB); the estimate is 64 bytes of tuple and bucket overhead, 16 per key
 * column and 8 per number (intercept, weights, two classes), with hash_mem_multiplier (2 by default)
 * as the margin. Capped at 256 MB: beyond that the join spills to batches, as it would anyway.
 * Too small (the default 4 MB) and a 1M-model hash spills in 16 batches: every source row is
 * written to a temporary file and read back.
 */
export function scoringWorkMemKb(models: number, nFeatures: number, keys: number, currentKb: number): number | null {
  const bytes = models * (64 + 16 * keys + 8 * (nFeatures + 3));
  const kb = Math.min(Math.ceil(bytes / 1024), 256 * 1024);
  return kb > currentKb ? kb : null;
}

/**
 * The SELECT that scores in SQL at scale, for linear models: each model's coefficients are unpacked from its
 * document once (a subquery over the models table), joined to the rows on the group key, and
 * every row costs a few multiplications:
 *
 *   z = b + x₁·w₁ + … + x_d·w_d     (the same order of operations as the TypeScript estimators)
 *
 * then the sigmoid (binary classifiers) or z itself (regressors), under the rules of
 * scoring.ts: NULL for a NULL, NaN or ±Infinity feature or a vector of the wrong shape, the limits
 * 0 / 1 where z overflows (guarded form only: the fast form raises instead), NULL for a NaN z and
 * for a regressor's overflow. exp() is clamped to ±700 (PostgreSQL raises on underflow where
 * JavaScript returns 0).
 */
export function inlineScoringSql(o: InlineScoring): string {
  const d = o.nFeatures;
  const S = o.schema ?? '"manymodels"';
  const f = o.fence === undefined ? ' OFFSET 0' : o.fence ? ` ${o.fence}` : '';
  const tf = o.tableFence === undefined ? f : o.tableFence ? ` ${o.tableFence}` : '';
  const keys = o.group.map(ident);
  const guarded = o.guarded === true || d > INLINE_FEATURES_MAX;
  const asArray = guarded;
  const coefPath = o.kind === 'binary' ? `model->'state'->'coef'->0` : `model->'state'->'coef'`;
  const intercept = o.kind === 'binary' ? `(model->'state'->'intercept'->>0)::float8` : `(model->'state'->>'intercept')::float8`;
  const w = asArray
    ? [`${S}.coef_array(${coefPath}) AS mm_w`]
    : Array.from({ length: d }, (_, j) => `(${coefPath}->>${j})::float8 AS mm_w${j + 1}`);
  const fb = o.fallback;
  const num = (v: number): string => `'${String(v)}'::float8`;
  // the group's unpacked fields, or the fallback model's where the group has none
  const mb = fb === undefined ? 'm.mm_b' : `coalesce(m.mm_b, ${num(fb.intercept)})`;
  const mw = fb === undefined ? 'm.mm_w' : `(coalesce(m.mm_w, ARRAY[${fb.coef.map(num).join(', ')}]::float8[]))`;
  const wj = (j: number): string => (asArray ? `${mw}[${j + 1}]` : fb === undefined ? `m.mm_w${j + 1}` : `coalesce(m.mm_w${j + 1}, ${num(fb.coef[j])})`);
  const cls = (k: 0 | 1): string => {
    if (fb === undefined) return `m.mm_c${k}`;
    const c = fb.classes[k];
    return `coalesce(m.mm_c${k}, ${o.labelKind === 'text' ? `${literal(String(c))}::text` : num(Number(c))})`;
  };
  const classes =
    o.kind === 'binary'
      ? o.labelKind === 'text'
        ? [`model->'state'->'classes'->>0 AS mm_c0`, `model->'state'->'classes'->>1 AS mm_c1`]
        : [`(model->'state'->'classes'->>0)::float8 AS mm_c0`, `(model->'state'->'classes'->>1)::float8 AS mm_c1`]
      : [];
  const m = `(SELECT ${[...keys, `${intercept} AS mm_b`, ...w, ...classes].join(', ')} FROM ${qident(o.models)} WHERE status = 'ok'${tf}) AS m`;
  const on = keyMatch('m', 's', o.group, o.nullSafeKeys);
  // z is computed once per row in a fenced LATERAL subquery (OFFSET 0): without the fence the
  // planner substitutes its expression at each of its uses below.
  let z: string;
  let vector = '';
  if (guarded) {
    const x = o.features.kind === 'columns' ? `ARRAY[${o.features.exprs.map((e) => `(${e})`).join(', ')}]::float8[]` : o.features.expr;
    z = `${S}.ieee_dot(${mb}, ${mw}, ${x})`;
  } else if (o.features.kind === 'columns') {
    z = [mb, ...o.features.exprs.map((e, j) => `(${e}) * ${wj(j)}`)].join(' + ');
  } else {
    // an array with another lower bound is read by position (a slice starts at 1); a 2-D array is not a feature vector
    vector = `CROSS JOIN LATERAL (SELECT CASE WHEN array_lower(v0.v, 1) = 1 THEN v0.v ELSE v0.v[array_lower(v0.v, 1):array_upper(v0.v, 1)] END AS x FROM (SELECT ${o.features.expr} AS v${f}) AS v0${f}) AS f `;
    const sum = [mb, ...Array.from({ length: d }, (_, j) => `f.x[${j + 1}] * ${wj(j)}`)].join(' + ');
    z = `CASE WHEN array_ndims(f.x) = 1 AND array_length(f.x, 1) = ${d} THEN ${sum} END`;
  }
  const finite = `abs(g.z) < 'Infinity'::float8`;
  const sigmoid = `CASE WHEN g.z >= 0 THEN 1 / (1 + exp(-least(g.z, 700))) ELSE exp(greatest(g.z, -700)) / (1 + exp(greatest(g.z, -700))) END`;
  // fast form: PostgreSQL raised on any overflow, so a non-finite z comes from a non-finite feature: NULL.
  // guarded form: ieee_dot gave NULL for bad features; ±Infinity is an overflow with its limit; NaN has none.
  const scored = guarded ? `g.z IS NOT NULL AND g.z <> 'NaN'::float8` : finite;
  const cols =
    o.kind === 'binary'
      ? [
          `CASE WHEN ${scored} THEN CASE WHEN g.z = '-Infinity'::float8 THEN 0::float8 ELSE ${sigmoid} END END AS ${ident('probability')}`,
          `CASE WHEN ${scored} THEN CASE WHEN g.z > 0 THEN ${cls(1)} ELSE ${cls(0)} END END AS ${ident('prediction')}`,
        ]
      : [`NULL::float8 AS ${ident('probability')}`, `CASE WHEN ${finite} THEN g.z END AS ${ident('prediction')}`];
  return (
    `SELECT s.*, ${[...cols, ...(o.extra ?? [])].join(', ')} ` +
    `FROM ${o.fromSql} LEFT JOIN ${m} ON ${on} ` +
    vector +
    `CROSS JOIN LATERAL (SELECT ${z} AS z${f}) AS g`
  );
}
