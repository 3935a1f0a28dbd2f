import { ident, literal, qident, type QualifiedName } from './ident.js';
import { keyMatch } from './key-match.js';

export interface InlineScoring {
  /** FROM item of the source, aliased s. */
  fromSql: string;
  models: QualifiedName;
  group: readonly string[];
  /** The features of a source row: one float8 expression per feature, or one float8[] expression. */
  features: { kind: 'columns'; exprs: readonly string[] } | { kind: 'array'; expr: string; elements?: string };
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
  /** With `fallback`: an output column of this name, true on the rows of groups without a usable model. */
  fallbackFlag?: string;
  /**
   * The source's column names, in order (what `s.*` gives): the statement is then written in the
   * derived form (see derivedScoringSql), which a single-node PostgreSQL can run in parallel
   * workers. Not for a distributed engine, and `extra` does not go with it.
   */
  derived?: { columns: readonly string[] };
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
  const models = (fence: string): string => `(SELECT ${[...keys, `${intercept} AS mm_b`, ...w, ...classes].join(', ')} FROM ${qident(o.models)} WHERE status = 'ok'${fence}) AS m`;
  const on = keyMatch('m', 's', o.group, o.nullSafeKeys);
  const flag = o.fallbackFlag === undefined || fb === undefined ? [] : [`(m.mm_b IS NULL) AS ${ident(o.fallbackFlag)}`];
  if (o.derived !== undefined) {
    if (o.extra !== undefined && o.extra.length > 0) throw new Error('inlineScoringSql: extra columns do not go with the derived form');
    return derivedScoringSql(o, o.derived.columns, { models: models(DERIVED_FENCE), on, mb, mw, wj, cls, guarded, flag: flag.length > 0 });
  }
  const m = models(tf);
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
  const cols = scoreColumns(o.kind, guarded, 'g.z', cls(0), cls(1));
  return (
    `SELECT s.*, ${[...cols, ...flag, ...(o.extra ?? [])].join(', ')} ` +
    `FROM ${o.fromSql} LEFT JOIN ${m} ON ${on} ` +
    vector +
    `CROSS JOIN LATERAL (SELECT ${z} AS z${f}) AS g`
  );
}

/**
 * probability and prediction from z (an expression read several times: a column of a fenced
 * subquery) and the classes, under the rules of scoring.ts.
 */
function scoreColumns(kind: InlineScoring['kind'], guarded: boolean, z: string, c0: string, c1: string): string[] {
  const finite = `abs(${z}) < 'Infinity'::float8`;
  const sigmoid = `CASE WHEN ${z} >= 0 THEN 1 / (1 + exp(-least(${z}, 700))) ELSE exp(greatest(${z}, -700)) / (1 + exp(greatest(${z}, -700))) END`;
  // fast form: PostgreSQL raised on any overflow, so a non-finite z comes from a non-finite feature: NULL.
  // guarded form: ieee_dot gave NULL for bad features; ±Infinity is an overflow with its limit; NaN has none.
  const scored = guarded ? `${z} IS NOT NULL AND ${z} <> 'NaN'::float8` : finite;
  return kind === 'binary'
    ? [
        `CASE WHEN ${scored} THEN CASE WHEN ${z} = '-Infinity'::float8 THEN 0::float8 ELSE ${sigmoid} END END AS ${ident('probability')}`,
        `CASE WHEN ${scored} THEN CASE WHEN ${z} > 0 THEN ${c1} ELSE ${c0} END END AS ${ident('prediction')}`,
      ]
    : [`NULL::float8 AS ${ident('probability')}`, `CASE WHEN ${finite} THEN ${z} END AS ${ident('prediction')}`];
}

/**
 * The fence of the derived form: `OFFSET '0'`, not `OFFSET 0`. Both keep a subquery from being
 * flattened into the query around it, but PostgreSQL (15) decides whether a subquery may run in
 * parallel workers before it folds constants, and sees `OFFSET 0` as a cast of an int4 to int8, not
 * as the constant 0 (limit_needed): the subquery, and the join above it, then stay in one process.
 * The string literal is typed bigint by the parser, a constant from the start.
 */
export const DERIVED_FENCE = ` OFFSET '0'`;

/**
 * The derived form of the inline scoring SELECT (single-node PostgreSQL and PGlite): the same
 * scores, written as fenced derived tables instead of per-row LATERAL subqueries. A LATERAL
 * subquery reads the outer row through parameters, which PostgreSQL does not pass to parallel
 * workers, so the whole join stayed in one process; derived tables (fenced with OFFSET '0') do not,
 * and the join, the unpacking of the models (a Parallel Hash) and the scores run in parallel
 * workers, the leader writing the rows.
 *
 *   p: the source rows (columns renamed mm_s1, mm_s2, ...: no name of the source can clash with
 *      the generated ones), joined to their model's unpacked fields, with z (feature columns, an
 *      array of integers or floats, the guarded form) or the feature vector (a numeric[] array, read
 *      through manymodels.to_float8, or another expression: computed once)
 *   q: z from p's vector, once per row (those arrays, fast form)
 *   the outer SELECT: the source columns under their names, probability and prediction from z.
 */
function derivedScoringSql(
  o: InlineScoring,
  columns: readonly string[],
  u: { models: string; on: string; mb: string; mw: string; wj: (j: number) => string; cls: (k: 0 | 1) => string; guarded: boolean; flag: boolean },
): string {
  const d = o.nFeatures;
  const S = o.schema ?? '"manymodels"';
  const src = columns.map((c, i) => `s.${ident(c)} AS mm_s${i + 1}`);
  const pass = columns.map((_, i) => `p.mm_s${i + 1}`);
  const classes = o.kind === 'binary' ? [`${u.cls(0)} AS mm_c0`, `${u.cls(1)} AS mm_c1`] : [];
  const flag = u.flag ? ['(m.mm_b IS NULL) AS mm_fb'] : [];
  const kept = [...(o.kind === 'binary' ? ['p.mm_c0', 'p.mm_c1'] : []), ...(u.flag ? ['p.mm_fb'] : [])];
  let p: string;
  let inner: string;
  const elements = o.features.kind === 'array' ? o.features.elements : undefined;
  if (u.guarded || o.features.kind === 'columns' || elements !== undefined) {
    // z from the row and its model at once: each feature expression is read once, or (an array of
    // integers or floats) each element of the source's array cast by itself, without a float8[] copy
    let z: string;
    if (u.guarded) z = `${S}.ieee_dot(${u.mb}, ${u.mw}, ${o.features.kind === 'columns' ? `ARRAY[${o.features.exprs.map((e) => `(${e})`).join(', ')}]::float8[]` : o.features.expr})`;
    else if (o.features.kind === 'columns') z = [u.mb, ...o.features.exprs.map((e, j) => `(${e}) * ${u.wj(j)}`)].join(' + ');
    else {
      const a = elements as string;
      const at = (j: number): string => `(${a}[array_lower(${a}, 1)${j === 0 ? '' : ` + ${j}`}])::float8`;
      z = `CASE WHEN array_ndims(${a}) = 1 AND array_length(${a}, 1) = ${d} THEN ${[u.mb, ...Array.from({ length: d }, (_, j) => `${at(j)} * ${u.wj(j)}`)].join(' + ')} END`;
    }
    p = `SELECT ${[...src, ...classes, ...flag, `${z} AS mm_z`].join(', ')} FROM ${o.fromSql} LEFT JOIN ${u.models} ON ${u.on}${DERIVED_FENCE}`;
    inner = p;
  } else {
    // the vector once per row (a cast of the source's array), then z from it: read by position from
    // its lower bound; a 2-D array (or another length) is not a feature vector
    const ws = Array.from({ length: d }, (_, j) => `${u.wj(j)} AS mm_w${j + 1}`);
    p = `SELECT ${[...src, ...classes, ...flag, `${u.mb} AS mm_b`, ...ws, `${o.features.expr} AS mm_x`].join(', ')} FROM ${o.fromSql} LEFT JOIN ${u.models} ON ${u.on}${DERIVED_FENCE}`;
    const at = (j: number): string => (j === 0 ? 'p.mm_x[array_lower(p.mm_x, 1)]' : `p.mm_x[array_lower(p.mm_x, 1) + ${j}]`);
    const sum = ['p.mm_b', ...Array.from({ length: d }, (_, j) => `${at(j)} * p.mm_w${j + 1}`)].join(' + ');
    const z = `CASE WHEN array_ndims(p.mm_x) = 1 AND array_length(p.mm_x, 1) = ${d} THEN ${sum} END`;
    inner = `SELECT ${[...pass, ...kept, `${z} AS mm_z`].join(', ')} FROM (${p}) AS p${DERIVED_FENCE}`;
  }
  const out = columns.map((c, i) => `q.mm_s${i + 1} AS ${ident(c)}`);
  const cols = scoreColumns(o.kind, u.guarded, 'q.mm_z', 'q.mm_c0', 'q.mm_c1');
  const fb = u.flag ? [`q.mm_fb AS ${ident(o.fallbackFlag as string)}`] : [];
  return `SELECT ${[...out, ...cols, ...fb].join(', ')} FROM (${inner}) AS q`;
}
