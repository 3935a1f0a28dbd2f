/**
 * Which rows of a group are held out, fold by fold. Pure: no Node, no database.
 *
 * - `cv` (K folds): for a classifier scikit-learn's StratifiedKFold fold sizes (each class spread
 *   over the folds as StratifiedKFold spreads the labels sorted by class), for a regressor KFold's
 *   (the first n mod K folds one row larger);
 * - `holdout` (a fraction F): one fold of ⌈F·n⌉ rows (train_test_split's test size), for a
 *   classifier split over the classes in proportion (largest remainders, ties to the first class);
 * - `folds` (the user's column): scikit-learn's PredefinedSplit: one fold per distinct value
 *   other than −1, in ascending order; −1 (and NULL) rows are never held out.
 *
 * Which rows go to which fold does not depend on the order the database returns a group's rows in
 * (it has none): within a class, rows are ordered by a hash of their values and the seed (the
 * k-th copy of a repeated row hashed with k), and the folds take them in that order. The same data
 * and seed give the same folds on every backend and every run.
 */

export type SplitSpec =
  | { readonly kind: 'cv'; readonly k: number; readonly seed: number }
  | { readonly kind: 'holdout'; readonly fraction: number; readonly seed: number }
  | { readonly kind: 'folds'; readonly column: string };

/** The fold of each row (−1: never held out), and the number of folds. Or why the group cannot be split. */
export type FoldAssignment = { fold: Int32Array; nFolds: number; ids?: number[] } | { reason: string };

/**
 * Assigns the rows of one group to folds. `x` is the group's n×d rows (row-major), `cls` each
 * row's class index (null for a regressor) among `nClasses` classes (named in `classNames`, for
 * messages), `given` the fold column's values (for `folds`; NaN for NULL).
 */
export function assignFolds(
  split: SplitSpec,
  x: Float64Array,
  n: number,
  d: number,
  label: ArrayLike<number> | readonly string[],
  cls: Int32Array | null,
  classNames: readonly (number | string)[],
  given: Float64Array | null,
): FoldAssignment {
  if (split.kind === 'folds') return predefined(given as Float64Array, n);
  const order = hashOrder(x, n, d, label, split.seed);
  const fold = new Int32Array(n).fill(-1);
  if (split.kind === 'cv') {
    const K = split.k;
    if (cls === null) {
      if (n < K) return { reason: `the group has ${n} row${n === 1 ? '' : 's'}, fewer than the ${K} folds` };
      // KFold: fold f has ⌊n/K⌋ rows, one more for the first n mod K folds
      let pos = 0;
      for (let f = 0; f < K; f++) {
        const size = Math.floor(n / K) + (f < n % K ? 1 : 0);
        for (let t = 0; t < size; t++) fold[order[pos++]] = f;
      }
      return { fold, nFolds: K };
    }
    const counts = classCounts(cls, classNames.length);
    for (let k = 0; k < counts.length; k++) {
      if (counts[k] < K) {
        return { reason: `class ${JSON.stringify(classNames[k])} has ${counts[k]} row${counts[k] === 1 ? '' : 's'}, fewer than the ${K} folds: stratified folds cannot hold it in every fold` };
      }
    }
    // StratifiedKFold's allocation: the labels sorted by class, dealt round-robin to the folds
    const alloc = new Int32Array(K * counts.length);
    let p = 0;
    for (let k = 0; k < counts.length; k++) for (let t = 0; t < counts[k]; t++, p++) alloc[(p % K) * counts.length + k]++;
    const next = new Int32Array(counts.length); // the fold each class fills next
    const left = new Int32Array(counts.length);
    for (let k = 0; k < counts.length; k++) left[k] = alloc[k];
    for (const i of order) {
      const k = cls[i];
      while (left[k] === 0) {
        next[k]++;
        left[k] = alloc[next[k] * counts.length + k];
      }
      fold[i] = next[k];
      left[k]--;
    }
    return { fold, nFolds: K };
  }
  // holdout: ⌈F·n⌉ held-out rows, as train_test_split counts them
  const nTest = Math.ceil(split.fraction * n);
  if (nTest < 1 || nTest >= n) return { reason: `a holdout of ${split.fraction} of ${n} row${n === 1 ? '' : 's'} leaves ${nTest < 1 ? 'no row to hold out' : 'no row to train on'}` };
  if (cls === null) {
    for (let t = 0; t < nTest; t++) fold[order[t]] = 0;
    return { fold, nFolds: 1 };
  }
  const counts = classCounts(cls, classNames.length);
  const take = new Int32Array(counts.length);
  const rem: number[] = [];
  let taken = 0;
  for (let k = 0; k < counts.length; k++) {
    const exact = (nTest * counts[k]) / n;
    take[k] = Math.floor(exact);
    taken += take[k];
    rem.push(k);
  }
  rem.sort((a, b) => (nTest * counts[b]) / n - take[b] - ((nTest * counts[a]) / n - take[a]) || a - b);
  for (let t = 0; taken < nTest; t++, taken++) take[rem[t]]++;
  for (const i of order) {
    const k = cls[i];
    if (take[k] > 0) {
      fold[i] = 0;
      take[k]--;
    }
  }
  return { fold, nFolds: 1 };
}

function classCounts(cls: Int32Array, K: number): Int32Array {
  const c = new Int32Array(K);
  for (let i = 0; i < cls.length; i++) c[cls[i]]++;
  return c;
}

/** PredefinedSplit: the distinct values other than −1 (NULL as −1), ascending, are folds 0, 1, ... */
function predefined(given: Float64Array, n: number): FoldAssignment {
  const ids = [...new Set(Array.from(given.subarray(0, n)).filter((v) => v !== -1 && !Number.isNaN(v)))].sort((a, b) => a - b);
  if (ids.length === 0) return { reason: 'every row of the group has fold −1 or NULL: no row is held out' };
  const pos = new Map(ids.map((v, f) => [v, f]));
  const fold = new Int32Array(n);
  for (let i = 0; i < n; i++) fold[i] = pos.get(given[i]) ?? -1;
  return { fold, nFolds: ids.length, ids };
}

/**
 * The rows in a seeded pseudo-random order that depends on their values only: sorted by a hash
 * of (seed, values, k) where k counts the earlier copies of the same row.
 */
export function hashOrder(x: Float64Array, n: number, d: number, label: ArrayLike<number> | readonly string[], seed: number): Int32Array {
  const base = new Uint32Array(n);
  for (let i = 0; i < n; i++) base[i] = rowHash(x, i, d, label[i], seed);
  const idx = Array.from({ length: n }, (_, i) => i);
  const cmpContent = (a: number, b: number): number => {
    for (let j = 0; j < d; j++) {
      const u = x[a * d + j] + 0;
      const v = x[b * d + j] + 0;
      if (u !== v) return u < v ? -1 : 1;
    }
    const la = label[a];
    const lb = label[b];
    return la === lb ? 0 : la < lb ? -1 : 1;
  };
  // copies of one row are told apart by their count k, not by where they arrived
  idx.sort((a, b) => base[a] - base[b] || cmpContent(a, b));
  const key = new Uint32Array(n);
  let k = 0;
  for (let t = 0; t < n; t++) {
    k = t > 0 && base[idx[t - 1]] === base[idx[t]] && cmpContent(idx[t - 1], idx[t]) === 0 ? k + 1 : 0;
    key[idx[t]] = k === 0 ? base[idx[t]] : mix(base[idx[t]] ^ Math.imul(k, 0x9e3779b1));
  }
  idx.sort((a, b) => key[a] - key[b] || base[a] - base[b] || cmpContent(a, b));
  return Int32Array.from(idx);
}

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

function rowHash(x: Float64Array, i: number, d: number, label: number | string, seed: number): number {
  let h = mix((seed >>> 0) ^ 0x2545f491);
  for (let j = 0; j < d; j++) {
    F64[0] = x[i * d + j] + 0; // −0 as 0
    h = mix(h ^ U32[0]);
    h = mix(h ^ U32[1]);
  }
  if (typeof label === 'number') {
    F64[0] = label + 0;
    h = mix(h ^ U32[0]);
    h = mix(h ^ U32[1]);
  } else {
    for (let c = 0; c < label.length; c++) h = mix(h ^ label.charCodeAt(c));
    h = mix(h ^ label.length);
  }
  return h;
}

/** murmur3's 32-bit finaliser: every input bit affects every output bit. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
