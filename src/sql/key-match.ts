import { ident } from './ident.js';

/**
 * The join condition of rows `a` and `b` on the group key. Plain equality per column (hash and
 * merge joins, and what Citus needs on its distribution column), or, for the columns flagged in
 * nullSafe, equality that also matches NULL with NULL, as GROUP BY does: a composite key such as
 * (1, NULL) is a group of its own. `ARRAY[x] = ARRAY[y]` is that equality (array_eq treats two
 * NULL elements as equal, and uses the column's collation) and, unlike IS NOT DISTINCT FROM, it can
 * still be merge- or hash-joined; it costs more per row, so it is only asked for on the columns
 * where a model's key is NULL.
 */
export function keyMatch(a: string, b: string, group: readonly string[], nullSafe: readonly boolean[] = []): string {
  return group.map((g, i) => (nullSafe[i] === true ? `ARRAY[${a}.${ident(g)}] = ARRAY[${b}.${ident(g)}]` : `${a}.${ident(g)} = ${b}.${ident(g)}`)).join(' AND ');
}

/** SQL that is true when a row of `alias` has a composite key with some, but not all, columns NULL. */
export function partlyNullKey(alias: string, group: readonly string[]): string {
  if (group.length < 2) return 'false';
  const cols = group.map((g) => `${alias}.${ident(g)}`);
  return `(${cols.map((c) => `${c} IS NULL`).join(' OR ')}) AND NOT (${cols.map((c) => `${c} IS NULL`).join(' AND ')})`;
}
