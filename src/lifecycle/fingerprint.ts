import { ident } from '../sql/ident.js';
import type { TrainPlan } from '../pipeline/train.js';

/**
 * A group's fingerprint, computed where the rows are, in one aggregate that Citus and Greenplum
 * push down (count and sum combine across workers and segments):
 *
 *   fingerprint = count(*) || ':' || sum(h(row)),   h(row) = h₁(x₁) # h₂(x₂) # … # h_y(y)
 *
 * where each hᵢ is PostgreSQL's 64-bit extended hash of the value the model reads (the feature as
 * float8, or text for a one-hot encoded column; the label as float8, int8 or text; the sample
 * weight; a whole array for array and packed forms), seeded
 * with the column's position so that the same value in another column hashes differently, and a
 * NULL hashes to a constant of its own. The sum (exact, in numeric) does not depend on the order
 * of the rows and counts a repeated row twice, so two groups get the same fingerprint exactly when
 * they hold the same multiset of rows (up to 64-bit hash collisions); SQL's group semantics come
 * with GROUP BY on the key.
 *
 * Hashing the values the model reads, not their text, means that a change the model cannot see
 * (numeric 1.0 → 1.00, -0 → 0) does not refit the group.
 */
export function rowHashSql(plan: TrainPlan, weightSql?: string): string {
  const parts: string[] = [];
  const feat = plan.layout.features;
  const arrayFeatures = feat.kind !== 'columns';
  // a text (or categorical) column, one-hot encoded per group, is read as text
  const categories = feat.kind === 'columns' ? feat.categories : undefined;
  plan.featureSql.forEach((f, i) => parts.push(hash(f, arrayFeatures ? 'array' : categories?.[i] === true ? 'text' : 'float8', i + 1)));
  if (weightSql !== undefined) parts.push(hash(weightSql, 'float8', 2000));
  const label = plan.layout.label;
  const packed = plan.layout.features.kind === 'packed';
  parts.push(hash(plan.labelSql, packed ? 'array' : label === 'text' ? 'text' : label === 'int8' ? 'int8' : 'float8', 1000));
  return parts.join(' # ');
}

function hash(expr: string, kind: 'float8' | 'int8' | 'text' | 'array', seed: number): string {
  const fn = kind === 'float8' ? 'hashfloat8extended' : kind === 'int8' ? 'hashint8extended' : kind === 'text' ? 'hashtextextended' : 'hash_array_extended';
  // a NULL (a skipped row) hashes to a constant of the column's own
  return `coalesce(${fn}(${expr}, ${seed}), ${-7919 * seed})`;
}

/** The fingerprint of the rows of the group around it, as text. */
export function fingerprintAggSql(plan: TrainPlan, weightSql?: string): string {
  return `count(*)::text || ':' || coalesce(sum(${rowHashSql(plan, weightSql)}), 0)::text`;
}

/** SELECT of every group's key and fingerprint (and its row count) from the source. */
export function fingerprintsSelect(plan: TrainPlan, fromSql: string = plan.fromSql, weightSql?: string): string {
  const keys = plan.group.map((g) => `s.${ident(g)}`);
  return `SELECT ${keys.join(', ')}, count(*) AS mm_rows, ${fingerprintAggSql(plan, weightSql)} AS fingerprint FROM ${fromSql} GROUP BY ${keys.join(', ')}`;
}
