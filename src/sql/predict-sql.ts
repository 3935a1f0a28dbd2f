import { ident, qident, type QualifiedName } from './ident.js';
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
  /** The dialect's fence of the subquery over the models table (default `fence`; '' on Citus). */
  tableFence?: string;
}

/**
 * The SELECT that scores in SQL at scale, for linear models: each model's coefficients are unpacked from its
 * document once (a subquery over the models table), joined to the rows on the group key, and
 * every row costs a few multiplications:
 *
 *   z = b + x₁·w₁ + … + x_d·w_d     (the same order of operations as the TypeScript estimators)
 *
 * then the sigmoid (binary classifiers) or z itself (regressors). exp() is clamped to ±700
 * (PostgreSQL raises on underflow where JavaScript returns 0).
 */
export function inlineScoringSql(o: InlineScoring): string {
  const d = o.nFeatures;
  const f = o.fence === undefined ? ' OFFSET 0' : o.fence ? ` ${o.fence}` : '';
  const tf = o.tableFence === undefined ? f : o.tableFence ? ` ${o.tableFence}` : '';
  const keys = o.group.map(ident);
  const coefPath = o.kind === 'binary' ? `model->'state'->'coef'->0` : `model->'state'->'coef'`;
  const intercept = o.kind === 'binary' ? `(model->'state'->'intercept'->>0)::float8` : `(model->'state'->>'intercept')::float8`;
  const w = Array.from({ length: d }, (_, j) => `(${coefPath}->>${j})::float8 AS mm_w${j + 1}`);
  const classes =
    o.kind === 'binary'
      ? o.labelKind === 'text'
        ? [`model->'state'->'classes'->>0 AS mm_c0`, `model->'state'->'classes'->>1 AS mm_c1`]
        : [`(model->'state'->'classes'->>0)::float8 AS mm_c0`, `(model->'state'->'classes'->>1)::float8 AS mm_c1`]
      : [];
  const m = `(SELECT ${[...keys, `${intercept} AS mm_b`, ...w, ...classes].join(', ')} FROM ${qident(o.models)} WHERE status = 'ok'${tf}) AS m`;
  const on = keyMatch('m', 's', o.group, o.nullSafeKeys);
  // z is computed once per row in a fenced LATERAL subquery (OFFSET 0): without the fence the
  // planner substitutes its expression at each of its eight uses below.
  let z: string;
  let vector = '';
  if (o.features.kind === 'columns') {
    z = ['m.mm_b', ...o.features.exprs.map((e, j) => `(${e}) * m.mm_w${j + 1}`)].join(' + ');
  } else {
    vector = `CROSS JOIN LATERAL (SELECT ${o.features.expr} AS x${f}) AS f `;
    const sum = ['m.mm_b', ...Array.from({ length: d }, (_, j) => `f.x[${j + 1}] * m.mm_w${j + 1}`)].join(' + ');
    z = `CASE WHEN array_length(f.x, 1) = ${d} THEN ${sum} END`;
  }
  const cols =
    o.kind === 'binary'
      ? [
          `CASE WHEN g.z IS NULL THEN NULL WHEN g.z >= 0 THEN 1 / (1 + exp(-least(g.z, 700))) ELSE exp(greatest(g.z, -700)) / (1 + exp(greatest(g.z, -700))) END AS ${ident('probability')}`,
          `CASE WHEN g.z > 0 THEN m.mm_c1 WHEN g.z <= 0 THEN m.mm_c0 END AS ${ident('prediction')}`,
        ]
      : [`NULL::float8 AS ${ident('probability')}`, `g.z AS ${ident('prediction')}`];
  return (
    `SELECT s.*, ${cols.join(', ')} ` +
    `FROM ${o.fromSql} LEFT JOIN ${m} ON ${on} ` +
    vector +
    `CROSS JOIN LATERAL (SELECT ${z} AS z${f}) AS g`
  );
}
