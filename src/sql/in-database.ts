import { SEPARATION_MESSAGE } from '../estimators/logistic-regression.js';
import type { Dialect } from './dialect.js';
import { ident, literal, qident, type QualifiedName } from './ident.js';

/**
 * Training inside the database, in plain SQL that every worker or segment can run: the rows never
 * leave the engine. Statements are generated for a fixed number of features d, so every sum is a
 * native float8 aggregate and every per-group solve a straight line of arithmetic.
 *
 * LogisticRegression (binary) is fitted by Newton's method, as the streaming strategy does: each
 * iteration is one UPDATE of the per-group state FROM
 *   (A) one aggregate over the data, GROUP BY the group key and joined on it to the per-group
 *       state, giving f, ∇f and ∇²f of the loss at every group's trial point, and
 *   (B) per group: accept the trial point or halve the step (Armijo), and from an accepted point
 *       solve ∇²f·p = ∇f by a Jacobi-scaled Cholesky factorisation written out as arithmetic,
 *       then stop (converged, maxIter) or set the next trial point.
 * LinearRegression and Ridge need one pass of sufficient statistics (n, Σx, Σy, ΣxxT, Σxy) and the
 * same Cholesky solve of the centred normal equations.
 *
 * Work tables are distributed by the group key (Greenplum, Citus) so every join is co-located.
 */
export interface InDbSpec {
  dialect: Dialect;
  /** FROM item of the source, aliased s; and the source table when it is one (for co-location). */
  fromSql: string;
  sourceTable?: QualifiedName;
  /** The columns the work and staging tables are distributed by (default: the group key; empty: on the coordinator). */
  distributeBy?: readonly string[];
  group: readonly string[];
  /** One float8 SQL expression per feature, over s. */
  features: readonly string[];
  /** The features' names, written into the model documents (`features`); absent: not written. */
  featureNames?: readonly string[];
  /** The label as SQL over s: float8 for numbers, text for text labels. */
  label: string;
  labelKind: 'number' | 'text';
  /** The label is a bigint (read exactly): a group with one beyond ±2^53 fails, as in the streaming strategy. */
  bigintLabel?: boolean;
  estimator: 'LogisticRegression' | 'LinearRegression' | 'Ridge';
  /** The estimator's full parameters (getParams()), as they go into the model documents. */
  params: Record<string, unknown>;
  minRows: number;
  runId: string;
  /** Work tables and the staging table, beside the target. */
  dataTable: QualifiedName;
  groupTable: QualifiedName;
  staging: QualifiedName;
}

const F8 = 'float8';

/** ' OFFSET 0' (computed once) or '' (a dialect without fences: inlined), before a LATERAL subquery's closing parenthesis. */
function fence(o: InDbSpec): string {
  return o.dialect.fence ? ` ${o.dialect.fence}` : '';
}

function keyJoin(a: string, b: string, group: readonly string[]): string {
  return group.map((g) => `${a}.${ident(g)} = ${b}.${ident(g)}`).join(' AND ');
}

/** Number of parameters: coefficients plus the intercept when fitted. */
function dims(o: InDbSpec): { d: number; m: number; fi: boolean } {
  const fi = o.params.fitIntercept !== false;
  const d = o.features.length;
  return { d, m: d + (fi ? 1 : 0), fi };
}

/** x̃_j of the data table: the feature columns, then 1 for the intercept. */
function xt(j: number, d: number, alias = 'd'): string {
  return j < d ? `${alias}.x${j + 1}` : '1';
}

function finite(v: string): string {
  return `(${v} - ${v}) = 0`;
}

/**
 * The magnitudes the in-database strategy can fit: its sums are PostgreSQL float8 arithmetic,
 * which raises (and would abort the whole run) where a product overflows or underflows. A group
 * with a non-zero value outside [1e-70, 1e70] fails alone with VALUE_OUT_OF_RANGE; its squares and
 * the Hessian weights (cut to 0 below 1e-150) then stay within float8 for any group size.
 */
export const IN_DB_RANGE = { min: 1e-70, max: 1e70 } as const;

function inRange(v: string): string {
  return `(${v} = 0 OR abs(${v}) BETWEEN ${IN_DB_RANGE.min} AND ${IN_DB_RANGE.max})`;
}

/** The data table: usable rows only (no NULL key, feature or label), features as float8 columns. */
export function dataTableSql(o: InDbSpec): string[] {
  const keys = o.group.map((g) => `s.${ident(g)}`);
  const notNull = [...keys, ...o.features, o.label].map((e) => `(${e}) IS NOT NULL`).join(' AND ');
  const cols = [...keys, ...o.features.map((f, j) => `(${f})::${F8} AS x${j + 1}`), `(${o.label}) AS y`];
  return [...o.dialect.createTableAs(o.dataTable, `SELECT ${cols.join(', ')} FROM ${o.fromSql} WHERE ${notNull}`, o.distributeBy ?? o.group, o.sourceTable), `ANALYZE ${qident(o.dataTable)}`];
}

/** Rows whose group key is NULL (counted per run, as the streaming strategy does). */
export function nullKeyCountSql(o: InDbSpec): string {
  return `SELECT count(*)::float8 AS n FROM ${o.fromSql} WHERE ${o.group.map((g) => `s.${ident(g)} IS NULL`).join(' OR ')}`;
}

/**
 * The widest model the in-database strategy can fit: every per-group sum is a float8 column, and
 * PostgreSQL limits a row to 1,664 columns in flight (the Newton step joins the state to the
 * aggregate of f, ∇f and the m(m+1)/2 entries of ∇²f) and a stored row to 8,160 bytes (the
 * least-squares sufficient statistics: Σx, Σxy and the d(d+1)/2 entries of ΣxxT per group).
 * A few columns are kept in hand for the group key and the planner.
 */
export function inDatabaseMaxFeatures(estimator: InDbSpec['estimator'], fitIntercept: boolean, keyColumns: number): number {
  const fi = fitIntercept ? 1 : 0;
  const fits = (d: number): boolean => {
    const m = d + fi;
    if (estimator === 'LogisticRegression') return (m * (m + 1)) / 2 + 2 * m + 2 * keyColumns + 9 <= 1664 - 8;
    const float8s = 2 * d + (d * (d + 1)) / 2 + 1 + m + 1;
    const cols = keyColumns + 4 + float8s + 3;
    // 24-byte header, null bitmap, four int4 counts, two booleans, a failure reason and the key
    return cols <= 1600 && 24 + Math.ceil(cols / 8) + 8 * float8s + 16 + 2 + 200 + 64 * keyColumns <= 8160;
  };
  let d = 1;
  while (fits(d + 1)) d++;
  return d;
}

/** State columns of the per-group table for logistic regression. */
function logisticState(m: number): string[] {
  const cols: string[] = [];
  for (const p of ['w', 'a', 'p']) for (let j = 0; j < m; j++) cols.push(`0::${F8} AS ${p}_${j}`);
  cols.push(`0::${F8} AS f_acc`, `0::${F8} AS slope`, `1::${F8} AS t`, `0::${F8} AS ginf`, `true AS first`, `false AS stationary`, `0 AS n_iter`);
  return cols;
}

/** The per-group table: counts, classes, a status and reason for groups that cannot be fitted, and the solver state. */
export function groupTableSql(o: InDbSpec): string[] {
  const { d, m } = dims(o);
  const keys = o.group.map(ident);
  const dKeys = o.group.map((g) => `s.${ident(g)}`);
  const usable = [...o.features, o.label].map((e) => `(${e}) IS NOT NULL`).join(' AND ');
  const nonFinite = o.labelKind === 'number' ? [...o.features.map((_, j) => `x${j + 1}`), 'y'] : o.features.map((_, j) => `x${j + 1}`);
  const inner = [
    ...dKeys,
    ...o.features.map((f, j) => `(${f})::${F8} AS x${j + 1}`),
    `(${o.label}) AS y`,
    `(${usable}) AS u`,
  ];
  const coll = o.labelKind === 'text' ? ' COLLATE "C"' : '';
  const aggs = [
    `count(*) FILTER (WHERE u)::int AS n`,
    `(count(*) - count(*) FILTER (WHERE u))::int AS n_skipped`,
    `count(*) FILTER (WHERE u AND NOT (${nonFinite.map(finite).join(' AND ')}))::int AS n_nonfinite`,
  ];
  const classifier = o.estimator === 'LogisticRegression';
  aggs.push(`count(*) FILTER (WHERE u AND NOT ur)::int AS n_outofrange`);
  if (classifier) {
    // not count(DISTINCT y) FILTER (WHERE u): Greenplum 7's planners fail on a DISTINCT aggregate
    // with a FILTER ("variable not found in subplan target list"); y is never NULL where u holds
    aggs.push(`min(y${coll}) FILTER (WHERE u) AS c0`, `max(y${coll}) FILTER (WHERE u) AS c1`, `count(DISTINCT CASE WHEN u THEN y END)::int AS n_classes`);
    if (o.labelKind === 'number') aggs.push(`count(*) FILTER (WHERE u AND ${finite('y')} AND y <> trunc(y))::int AS n_fractional`);
    if (o.bigintLabel === true) aggs.push(`count(*) FILTER (WHERE u AND abs(y) > 9007199254740991)::int AS n_huge`);
  } else {
    // sufficient statistics of least squares
    // (rows out of range fail their group; left out of the sums, they cannot overflow them)
    for (let j = 0; j < d; j++) aggs.push(`sum(x${j + 1}) FILTER (WHERE ur) AS sx_${j}`, `sum(x${j + 1} * y) FILTER (WHERE ur) AS sxy_${j}`);
    for (let j = 0; j < d; j++) for (let k = j; k < d; k++) aggs.push(`sum(x${j + 1} * x${k + 1}) FILTER (WHERE ur) AS sxx_${j}_${k}`);
    aggs.push(`sum(y) FILTER (WHERE ur) AS sy`);
  }
  const minRows = Math.max(1, o.minRows);
  const tooFew = `'TOO_FEW_ROWS: the group has ' || n || ' usable row' || CASE WHEN n = 1 THEN '' ELSE 's' END || '; at least ${minRows} ${minRows === 1 ? 'is' : 'are'} needed'`;
  const reasons = [
    `WHEN n < ${minRows} THEN ${tooFew}`,
    `WHEN n_nonfinite > 0 THEN 'NON_FINITE_INPUT: ' || n_nonfinite || ' row(s) of the group hold NaN or an infinite value: every value must be finite'`,
    `WHEN n_outofrange > 0 THEN 'VALUE_OUT_OF_RANGE: ' || n_outofrange || ' row(s) of the group hold a non-zero value outside [${IN_DB_RANGE.min}, ${IN_DB_RANGE.max}] in magnitude, beyond what the in-database strategy''s float8 sums can hold: rescale the feature, or use the streaming strategy'`,
  ];
  if (classifier && o.bigintLabel === true) {
    reasons.push(`WHEN n_huge > 0 THEN 'INVALID_GROUP: a bigint label is beyond ±2^53, where a float64 cannot tell neighbouring labels apart; cast the label to text in a query to use it as a class name'`);
  }
  if (classifier && o.labelKind === 'number') {
    reasons.push(`WHEN n_fractional > 0 THEN 'CONTINUOUS_LABEL: Unknown label type: continuous (a label is not a whole number); a classifier needs discrete classes'`);
  }
  if (classifier) {
    reasons.push(
      `WHEN n_classes < 2 THEN 'SINGLE_CLASS: This solver needs samples of at least 2 classes in the data, but the data contains only one class: ' || c0::text`,
      `WHEN n_classes > 2 THEN 'UNSUPPORTED: ' || n_classes || ' classes: the in-database strategy fits binary classifiers only; use the streaming strategy for multinomial models'`,
    );
  }
  const error = `CASE ${reasons.join(' ')} END`;
  const ranged = classifier ? o.features.map((_, j) => `x${j + 1}`) : nonFinite;
  const select =
    `SELECT ${keys.join(', ')}, g.*, ${error} AS error, ${classifier ? logisticState(m).join(', ') + ', ' : `${Array.from({ length: m }, (_, j) => `0::${F8} AS w_${j}`).join(', ')}, `}` +
    `NULL::${F8} AS train_score, NULL::boolean AS converged, NULL::text AS note, false AS done ` +
    `FROM (SELECT ${o.group.map((g) => `q.${ident(g)}`).join(', ')}, ${aggs.join(', ')} FROM (SELECT q0.*, q0.u AND ${ranged.map(inRange).join(' AND ')} AS ur FROM (SELECT ${inner.join(', ')} FROM ${o.fromSql} WHERE ${dKeys.map((k) => `${k} IS NOT NULL`).join(' AND ')}) AS q0) AS q GROUP BY ${o.group.map((g) => `q.${ident(g)}`).join(', ')}) AS g`;
  // g.* repeats the keys; select them once
  const fixed = select.replace(`SELECT ${keys.join(', ')}, g.*,`, `SELECT g.*,`);
  return [...o.dialect.createTableAs(o.groupTable, fixed, o.distributeBy ?? o.group, o.dataTable), `UPDATE ${qident(o.groupTable)} SET done = true WHERE error IS NOT NULL`, `ANALYZE ${qident(o.groupTable)}`];
}

/** σ(z) without overflow: PostgreSQL raises on exp() overflow and underflow. */
function sigmoid(z: string): string {
  return `CASE WHEN ${z} >= 0 THEN 1 / (1 + exp(-least(${z}, 700))) ELSE exp(greatest(${z}, -700)) / (1 + exp(greatest(${z}, -700))) END`;
}

/** (A) f, ∇f, ∇²f of the unscaled loss Σ ℓᵢ at every unfinished group's trial point w: one pass over the data, GROUP BY the group key. */
export function logisticAggregateSql(o: InDbSpec): string {
  const { d, m, fi } = dims(o);
  const z = ['c.w_' + (fi ? d : 0), ...Array.from({ length: d }, (_, j) => `d.x${j + 1} * c.w_${j}`)];
  const zExpr = fi ? z.join(' + ') : z.slice(1).join(' + ');
  const sums = [`sum(CASE WHEN zz.z > 0 THEN zz.z + ln(1 + exp(-least(zz.z, 700))) ELSE ln(1 + exp(greatest(zz.z, -700))) END - pp.yy * zz.z) AS f`];
  for (let j = 0; j < m; j++) sums.push(`sum(pp.r * ${xt(j, d)}) AS g${j}`);
  for (let j = 0; j < m; j++) for (let k = j; k < m; k++) sums.push(`sum(pp.h * ${xt(j, d)} * ${xt(k, d)}) AS h${j}_${k}`);
  const keys = o.group.map((g) => `d.${ident(g)}`);
  const inner =
    `SELECT ${keys.join(', ')}, ${sums.join(', ')} FROM ${qident(o.dataTable)} AS d JOIN ${qident(o.groupTable)} AS c ON ${keyJoin('d', 'c', o.group)} ` +
    `CROSS JOIN LATERAL (SELECT ${zExpr} AS z${fence(o)}) AS zz ` +
    `CROSS JOIN LATERAL (SELECT ${sigmoid('zz.z')} AS p, CASE WHEN d.y = c.c1 THEN 1 ELSE 0 END::${F8} AS yy${fence(o)}) AS p0 ` +
    // the residual and the Hessian weight, cut to 0 below 1e-150 so that their products with the
    // features (≥ 1e-70 in magnitude) cannot underflow, which PostgreSQL raises as an error
    `CROSS JOIN LATERAL (SELECT p0.yy, CASE WHEN abs(p0.p - p0.yy) < 1e-150 THEN 0 ELSE p0.p - p0.yy END AS r, ` +
    `CASE WHEN p0.p * (1 - p0.p) < 1e-150 THEN 0 ELSE p0.p * (1 - p0.p) END AS h${fence(o)}) AS pp ` +
    `WHERE NOT c.done GROUP BY ${keys.join(', ')}`;
  return inner;
}

/**
 * The per-group solve A·x = b as lateral subqueries whose result is x.x_0 … x.x_{m−1}: written out
 * as arithmetic, each step fenced so it is computed once (every dialect here: Citus pushes a
 * fenced LATERAL subquery over no table down with the rest); or, for a dialect without fences,
 * one call of the installed PL/pgSQL solver manymodels.spd_solve per use — unfenced, written-out
 * Cholesky expressions would grow exponentially with m when the planner inlines them.
 */
function solveStep(o: InDbSpec, m: number, a: (i: number, j: number) => string, b: (i: number) => string): string {
  if (o.dialect.fence && o.dialect.solver !== 'function') return choleskySolve(m, a, b, 'x', fence(o));
  const h: string[] = [];
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) h.push(a(Math.min(i, j), Math.max(i, j)));
  const call = `manymodels.spd_solve(ARRAY[${h.join(', ')}]::float8[], ARRAY[${Array.from({ length: m }, (_, i) => b(i)).join(', ')}]::float8[])`;
  if (o.dialect.fence) {
    // one call per group, fenced; its elements read from the result
    return `CROSS JOIN LATERAL (SELECT ${call} AS v${fence(o)}) AS xv CROSS JOIN LATERAL (SELECT ${Array.from({ length: m }, (_, i) => `xv.v[${i + 1}] AS x_${i}`).join(', ')}) AS x`;
  }
  return `CROSS JOIN LATERAL (SELECT ${Array.from({ length: m }, (_, i) => `(${call})[${i + 1}] AS x_${i}`).join(', ')}) AS x`;
}

/**
 * Lateral subqueries that solve A·x = b for the symmetric positive definite m×m matrix given by
 * `a(i, j)` (i ≤ j) and the vector `b(i)`, by Cholesky with Jacobi scaling; a pivot that vanishes
 * (a singular direction) is replaced by a tiny one. The solution is x_0 … x_{m−1} of `alias`.
 * Each step is fenced (OFFSET 0, where the dialect allows) so it is computed once per group, not
 * substituted where used.
 */
function choleskySolve(m: number, a: (i: number, j: number) => string, b: (i: number) => string, alias: string, fenceText: string): string {
  const parts: string[] = [];
  const sc = (i: number) => `${alias}s.s${i}`;
  parts.push(
    `CROSS JOIN LATERAL (SELECT ${Array.from({ length: m }, (_, i) => `CASE WHEN ${a(i, i)} > 0 THEN 1 / sqrt(${a(i, i)}) ELSE 1 END AS s${i}`).join(', ')}${fenceText}) AS ${alias}s`,
  );
  const A = (i: number, j: number) => `(${a(Math.min(i, j), Math.max(i, j))} * ${sc(i)} * ${sc(j)})`;
  const L = (i: number, j: number) => `${alias}l${j}.l${i}_${j}`;
  for (let j = 0; j < m; j++) {
    const dj = [A(j, j), ...Array.from({ length: j }, (_, k) => `- ${L(j, k)} * ${L(j, k)}`)].join(' ');
    const ljj = `sqrt(CASE WHEN (${dj}) > ${64 * m * 2.220446049250313e-16} THEN (${dj}) ELSE 1e-10 END)`;
    const below = Array.from({ length: m - j - 1 }, (_, r) => {
      const i = j + 1 + r;
      const num = [A(i, j), ...Array.from({ length: j }, (_, k) => `- ${L(i, k)} * ${L(j, k)}`)].join(' ');
      return `(${num}) / ljj.v AS l${i}_${j}`;
    });
    parts.push(
      `CROSS JOIN LATERAL (SELECT ljj.v AS l${j}_${j}${below.length ? ', ' + below.join(', ') : ''} FROM (SELECT ${ljj} AS v) AS ljj${fenceText}) AS ${alias}l${j}`,
    );
  }
  // L y = S b
  for (let i = 0; i < m; i++) {
    const num = [`(${b(i)}) * ${sc(i)}`, ...Array.from({ length: i }, (_, k) => `- ${L(i, k)} * ${alias}y${k}.y`)].join(' ');
    parts.push(`CROSS JOIN LATERAL (SELECT (${num}) / ${L(i, i)} AS y${fenceText}) AS ${alias}y${i}`);
  }
  // Lᵀ u = y, x = S u
  for (let i = m - 1; i >= 0; i--) {
    const num = [`${alias}y${i}.y`, ...Array.from({ length: m - 1 - i }, (_, r) => `- ${L(i + 1 + r, i)} * ${alias}u${i + 1 + r}.u`)].join(' ');
    parts.push(`CROSS JOIN LATERAL (SELECT (${num}) / ${L(i, i)} AS u${fenceText}) AS ${alias}u${i}`);
  }
  parts.push(`CROSS JOIN LATERAL (SELECT ${Array.from({ length: m }, (_, i) => `${alias}u${i}.u * ${sc(i)} AS x_${i}`).join(', ')}${fenceText}) AS ${alias}`);
  return parts.join(' ');
}

/**
 * One Newton iteration for every unfinished group, as one statement: (A) the aggregate over the
 * data at the trial point, joined on the group key to the state, then (B) accept the trial point or
 * halve the step (Armijo), and from an accepted point take a Newton step or stop.
 */
export function logisticStepSql(o: InDbSpec): string {
  const { d, m } = dims(o);
  const l2 = o.params.penalty === 'l2';
  const C = Number(o.params.C ?? 1);
  const scale = l2 ? C : 1;
  const maxIter = Number(o.params.maxIter ?? 100);
  const tol = Number(o.params.tol ?? 1e-4);
  const coef = (j: number) => j < d; // j indexes a penalised coefficient
  const pen = l2 ? Array.from({ length: d }, (_, j) => `c.w_${j} * c.w_${j}`).join(' + ') : '0';
  const e: string[] = [`${scale} * a.f + 0.5 * (${pen || '0'}) AS f`];
  for (let j = 0; j < m; j++) e.push(`${scale} * a.g${j}${l2 && coef(j) ? ` + c.w_${j}` : ''} AS gr${j}`);
  for (let j = 0; j < m; j++) for (let k = j; k < m; k++) e.push(`${scale} * a.h${j}_${k}${l2 && j === k && coef(j) ? ' + 1' : ''} AS h${j}_${k}`);
  const ginf = `greatest(${Array.from({ length: m }, (_, j) => `abs(e.gr${j})`).join(', ')})`;
  const acc = `(c.first OR e.f <= c.f_acc + 1e-4 * c.t * c.slope OR abs(e.f - c.f_acc) <= 1e-14 * abs(c.f_acc))`;
  const solve = solveStep(o, m, (i, j) => `e.h${i}_${j}`, (i) => `e.gr${i}`);
  const slope = `-(${Array.from({ length: m }, (_, j) => `e.gr${j} * x.x_${j}`).join(' + ')})`;
  const pinf = `greatest(${Array.from({ length: m }, (_, j) => `abs(x.x_${j})`).join(', ')})`;
  const winf = `greatest(${Array.from({ length: m }, (_, j) => `abs(c.w_${j})`).join(', ')})`;
  const inner =
    `SELECT ${o.group.map((g) => `c.${ident(g)}`).join(', ')}, ` +
    `q.acc, q.ginf, q.niter, e.f, q.slope, ` +
    `(q.acc AND (q.ginf = 0 OR q.niter >= ${maxIter} OR q.last)) OR (NOT q.acc AND c.t / 2 < 1e-15) AS done, ` +
    `CASE WHEN q.acc THEN q.ginf = 0 OR (q.last AND q.niter < ${maxIter}) ELSE c.ginf <= 1e-8 * (1 + abs(c.f_acc)) END AS stationary, ` +
    Array.from({ length: m }, (_, j) => `x.x_${j} AS p${j}`).join(', ') +
    ` FROM ${qident(o.groupTable)} AS c JOIN (${logisticAggregateSql(o)}) AS a ON ${keyJoin('c', 'a', o.group)} ` +
    `CROSS JOIN LATERAL (SELECT ${e.join(', ')}${fence(o)}) AS e ${solve} ` +
    `CROSS JOIN LATERAL (SELECT ${acc} AS acc, ${ginf} AS ginf, c.n_iter + CASE WHEN c.first THEN 0 ELSE 1 END AS niter, ${slope} AS slope, ` +
    `(-(${slope}) <= 1e-20 * greatest(1, abs(e.f)) OR ${pinf} <= 1e-9 * (1 + ${winf})) AS last${fence(o)}) AS q ` +
    `WHERE NOT c.done`;
  // new state, column by column
  const set: string[] = [];
  for (let j = 0; j < m; j++) {
    set.push(
      `w_${j} = CASE WHEN s.acc THEN CASE WHEN s.ginf = 0 OR s.niter >= ${maxIter} THEN g.w_${j} ELSE g.w_${j} - s.p${j} END ` +
        `WHEN g.t / 2 < 1e-15 THEN g.a_${j} ELSE g.a_${j} - (g.t / 2) * g.p_${j} END`,
    );
    set.push(`a_${j} = CASE WHEN s.acc THEN g.w_${j} ELSE g.a_${j} END`);
    set.push(`p_${j} = CASE WHEN s.acc THEN s.p${j} ELSE g.p_${j} END`);
  }
  set.push(
    `t = CASE WHEN s.acc THEN 1 ELSE g.t / 2 END`,
    `f_acc = CASE WHEN s.acc THEN s.f ELSE g.f_acc END`,
    `slope = CASE WHEN s.acc THEN s.slope ELSE g.slope END`,
    `ginf = CASE WHEN s.acc THEN s.ginf ELSE g.ginf END`,
    `first = false`,
    `n_iter = CASE WHEN s.acc THEN s.niter + CASE WHEN s.done AND s.stationary AND s.ginf > 0 THEN 1 ELSE 0 END ELSE g.n_iter END`,
    `done = s.done`,
    `stationary = s.stationary`,
    `converged = CASE WHEN s.done THEN s.stationary OR CASE WHEN s.acc THEN s.ginf ELSE g.ginf END / ${scale} <= ${tol} END`,
  );
  return `UPDATE ${qident(o.groupTable)} AS g SET ${set.join(', ')} FROM (${inner}) AS s WHERE ${keyJoin('g', 's', o.group)}`;
}

/** Groups still iterating (the loop ends at 0). */
export function unfinishedCountSql(o: InDbSpec): string {
  return `SELECT count(*)::float8 AS n FROM ${qident(o.groupTable)} WHERE NOT done`;
}

/** Least squares from the sufficient statistics: the centred normal equations (+ αI), solved per group. */
export function leastSquaresSolveSql(o: InDbSpec): string {
  const { d, fi } = dims(o);
  const alpha = o.estimator === 'Ridge' ? Number(o.params.alpha ?? 1) : 0;
  const n = 'c.n::float8';
  const A = (i: number, j: number) =>
    `(c.sxx_${i}_${j}${fi ? ` - c.sx_${i} * c.sx_${j} / ${n}` : ''}${i === j && alpha > 0 ? ` + ${alpha}` : ''})`;
  const b = (i: number) => `(c.sxy_${i}${fi ? ` - c.sx_${i} * c.sy / ${n}` : ''})`;
  const solve = solveStep(o, d, A, b);
  const intercept = fi ? `(c.sy - (${Array.from({ length: d }, (_, j) => `x.x_${j} * c.sx_${j}`).join(' + ')})) / ${n}` : '0';
  const inner = `SELECT ${o.group.map((g) => `c.${ident(g)}`).join(', ')}, ${Array.from({ length: d }, (_, j) => `x.x_${j}`).join(', ')}, ${intercept} AS b FROM ${qident(o.groupTable)} AS c ${solve} WHERE NOT c.done`;
  const set = [...Array.from({ length: d }, (_, j) => `w_${j} = s.x_${j}`), ...(fi ? [`w_${d} = s.b`] : []), `converged = true`, `done = true`];
  return `UPDATE ${qident(o.groupTable)} AS g SET ${set.join(', ')} FROM (${inner}) AS s WHERE ${keyJoin('g', 's', o.group)}`;
}

/** One more pass over the data: accuracy (classifiers) or R² (regressors) of every fitted group. */
export function trainScoreSql(o: InDbSpec): string {
  const { d, fi } = dims(o);
  const z = [fi ? `c.w_${d}` : '0', ...Array.from({ length: d }, (_, j) => `d.x${j + 1} * c.w_${j}`)].join(' + ');
  const keys = o.group.map((g) => `d.${ident(g)}`);
  let agg: string;
  const separation = o.estimator === 'LogisticRegression' && o.params.penalty === null;
  if (o.estimator === 'LogisticRegression') {
    agg = `avg(CASE WHEN (zz.z > 0) = (d.y = c.c1) THEN 1 ELSE 0 END)::${F8} AS score`;
    // no penalty and every row strictly on its class's side: no finite optimum (as LogisticRegression.separated_)
    if (separation) agg += `, bool_and(CASE WHEN d.y = c.c1 THEN zz.z > 0 ELSE zz.z < 0 END) AS separated`;
  } else {
    // 1 − SS_res / SS_tot; a constant target scores 1 if predicted exactly, else 0
    agg = `CASE WHEN sum((d.y - c.sy / c.n) ^ 2) = 0 THEN CASE WHEN sum((d.y - zz.z) ^ 2) = 0 THEN 1 ELSE 0 END ELSE 1 - sum((d.y - zz.z) ^ 2) / sum((d.y - c.sy / c.n) ^ 2) END::${F8} AS score`;
  }
  const inner =
    `SELECT ${keys.join(', ')}, ${agg} FROM ${qident(o.dataTable)} AS d JOIN ${qident(o.groupTable)} AS c ON ${keyJoin('d', 'c', o.group)} ` +
    `CROSS JOIN LATERAL (SELECT ${z} AS z${fence(o)}) AS zz WHERE c.error IS NULL GROUP BY ${keys.join(', ')}`;
  const set = separation
    ? `train_score = a.score, converged = CASE WHEN a.separated THEN false ELSE g.converged END, note = CASE WHEN a.separated THEN ${literal(`PERFECT_SEPARATION: ${SEPARATION_MESSAGE}`)} END`
    : 'train_score = a.score';
  return `UPDATE ${qident(o.groupTable)} AS g SET ${set} FROM (${inner}) AS a WHERE ${keyJoin('g', 'a', o.group)}`;
}

/** The models table, with the same columns and model documents as the streaming strategy writes. */
export function modelsTableSql(o: InDbSpec): string[] {
  const { d, fi } = dims(o);
  const num = (e: string) => `to_jsonb(${e})`;
  const coefs = Array.from({ length: d }, (_, j) => num(`c.w_${j}`)).join(', ');
  const intercept = fi ? `c.w_${d}` : `0::${F8}`;
  const classifier = o.estimator === 'LogisticRegression';
  const state = classifier
    ? `jsonb_build_object('nFeatures', ${d}, 'coef', jsonb_build_array(jsonb_build_array(${coefs})), 'intercept', jsonb_build_array(${num(intercept)}), 'classes', jsonb_build_array(c.c0, c.c1), 'nIter', c.n_iter, 'converged', c.converged)`
    : `jsonb_build_object('nFeatures', ${d}, 'coef', jsonb_build_array(${coefs}), 'intercept', ${num(intercept)}, 'nIter', NULL::int, 'converged', true)`;
  const doc = `jsonb_build_object('format', 'manymodels.model', 'version', 1, 'estimator', ${literal(o.estimator)}, 'params', ${literal(JSON.stringify(o.params))}::jsonb, ${o.featureNames !== undefined ? `'features', ${literal(JSON.stringify(o.featureNames))}::jsonb, ` : ''}'state', ${state})`;
  const ok = `c.error IS NULL`;
  const cols = [
    ...o.group.map((g) => `c.${ident(g)}`),
    `CASE WHEN ${ok} THEN ${doc} END AS model`,
    `CASE WHEN ${ok} THEN 'ok' ELSE 'failed' END AS status`,
    `coalesce(c.error, c.note) AS error`,
    `c.n AS n_rows`,
    `c.n_skipped AS n_skipped`,
    `CASE WHEN ${ok} ${classifier ? 'THEN c.n_iter' : 'THEN NULL::int'} END AS n_iter`,
    `CASE WHEN ${ok} THEN c.converged END AS converged`,
    `CASE WHEN ${ok} THEN c.train_score END AS train_score`,
    `now() AS serialized_on`,
    `${literal(o.runId)}::uuid AS run_id`,
    `NULL::text AS fingerprint`,
    // held-out metrics: the streaming strategy's (the in-database strategy refuses evaluation options)
    `NULL::jsonb AS metrics`,
  ];
  return o.dialect.createTableAs(o.staging, `SELECT ${cols.join(', ')} FROM ${qident(o.groupTable)} AS c`, o.distributeBy ?? o.group, o.dataTable);
}
