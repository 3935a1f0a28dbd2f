/**
 * Preprocessing fitted per group and stored with its model: the numerical half (no Node, no SQL).
 *
 * What one group's rows go through is what scikit-learn's
 *
 *   Pipeline([ColumnTransformer([(name, Pipeline([SimpleImputer(strategy, keep_empty_features=True),
 *                                                StandardScaler()]), [column])   for a number column
 *                                (name, OneHotEncoder(handle_unknown='ignore'), [column])  for a category column
 *                                ... in the input's column order]),
 *             estimator])
 *
 * does when it is fitted on that group alone (with `estimator__sample_weight`: the weights reach the
 * estimator only; the imputer and the scaler are fitted unweighted, as in scikit-learn):
 *
 * - number column: `fill` (present with an imputer) replaces a missing value (NULL or NaN): the mean
 *   or the median of the group's present values, or 0; a column with no present value in the group
 *   is filled with 0 (keep_empty_features=True). Then, with standardize, v ↦ (v − mean) / scale,
 *   mean and scale over the group's (imputed) rows, scale = √(population variance), 1 for a constant
 *   column (scikit-learn's test: var ≤ n·ε·var + (n·mean·ε)²).
 * - category column: one output per category seen in the group's rows, sorted by code point, a
 *   NULL value a category of its own after the others (as OneHotEncoder sorts None); a value not
 *   seen in training gives all zeros.
 *
 * The model's coefficients are over the expanded columns, in input order, each category column
 * expanded in place.
 */
import { compareCodePoints, type Matrix } from '../estimators/input.js';

export type ImputeStrategy = 'mean' | 'median' | 'zero';

/** What a run asks for; the same for every group. */
export interface PreprocessPlan {
  /** Input column names, in order. */
  names: string[];
  /** Per input column: a number, or a category (one-hot encoded). */
  kinds: ('number' | 'category')[];
  impute: ImputeStrategy | null;
  standardize: boolean;
}

/** One input column's fitted preprocessing, as stored in the model document. */
export type PreprocessColumn =
  | { name: string; kind: 'number'; fill?: number; mean?: number; scale?: number }
  | { name: string; kind: 'category'; categories: (string | null)[] };

/** The model document's optional `preprocess` field. */
export interface PreprocessDoc {
  columns: PreprocessColumn[];
}

/** True when a plan changes the input at all (a plan of plain numbers, no imputer, no scaler, is not stored). */
export function planTransforms(plan: PreprocessPlan): boolean {
  return plan.standardize || plan.impute !== null || plan.kinds.includes('category');
}

const EPS = 2.220446049250313e-16;

/**
 * Fits one group's preprocessing on its raw rows and returns the expanded matrix. `raw` is rows × d
 * row-major (d = plan.names.length); a missing number is NaN; a category cell holds the index of its
 * value in `strings`, or NaN for NULL.
 */
export function fitTransform(plan: PreprocessPlan, raw: Float64Array, rows: number, strings: readonly string[] | null): { m: Matrix; doc: PreprocessDoc } {
  const d = plan.names.length;
  const columns: PreprocessColumn[] = [];
  const col = new Float64Array(rows);
  for (let j = 0; j < d; j++) {
    const name = plan.names[j];
    if (plan.kinds[j] === 'category') {
      const seen = new Set<string>();
      let hasNull = false;
      for (let i = 0; i < rows; i++) {
        const v = raw[i * d + j];
        if (Number.isNaN(v)) hasNull = true;
        else seen.add((strings as readonly string[])[v]);
      }
      const categories: (string | null)[] = [...seen].sort(compareCodePoints);
      if (hasNull) categories.push(null);
      columns.push({ name, kind: 'category', categories });
      continue;
    }
    const c: PreprocessColumn = { name, kind: 'number' };
    for (let i = 0; i < rows; i++) col[i] = raw[i * d + j];
    if (plan.impute !== null) {
      const fill = fillValue(col, plan.impute);
      for (let i = 0; i < rows; i++) if (Number.isNaN(col[i])) col[i] = fill;
      c.fill = fill;
    }
    if (plan.standardize) {
      const { mean, scale } = meanScale(col);
      c.mean = mean;
      c.scale = scale;
    }
    columns.push(c);
  }
  const doc: PreprocessDoc = { columns };
  const width = expandedWidth(doc);
  const out = new Float64Array(rows * width);
  const cats = categoryIndexes(doc);
  const row = new Float64Array(d);
  const strs: (string | null)[] = new Array(d).fill(null);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < d; j++) {
      const v = raw[i * d + j];
      if (plan.kinds[j] === 'category') strs[j] = Number.isNaN(v) ? null : (strings as readonly string[])[v];
      else row[j] = v;
    }
    transformInto(doc, row, strs, out, i * width, cats);
  }
  return { m: { data: out, rows, cols: width }, doc };
}

/** SimpleImputer's statistic over the present values (NaN = missing); 0 when none is present. */
function fillValue(col: Float64Array, strategy: ImputeStrategy): number {
  if (strategy === 'zero') return 0;
  const present: number[] = [];
  for (let i = 0; i < col.length; i++) if (!Number.isNaN(col[i])) present.push(col[i]);
  if (present.length === 0) return 0;
  if (strategy === 'mean') {
    let s = 0;
    for (const v of present) s += v;
    return s / present.length;
  }
  present.sort((a, b) => a - b);
  const h = present.length >> 1;
  return present.length % 2 === 1 ? present[h] : (present[h - 1] + present[h]) / 2;
}

/** StandardScaler's mean_ and scale_ (scikit-learn's _incremental_mean_and_var on one batch, and its constant-feature rule). */
export function meanScale(col: Float64Array): { mean: number; scale: number } {
  const n = col.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += col[i];
  const mean = sum / n;
  let corr = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const t = col[i] - mean;
    corr += t;
    sq += t * t;
  }
  const v = (sq - (corr * corr) / n) / n;
  const variance = v > 0 ? v : 0;
  const constant = variance <= n * EPS * variance + (n * mean * EPS) ** 2;
  return { mean, scale: constant ? 1 : Math.sqrt(variance) };
}

/** Number of model features a document's preprocessing produces. */
export function expandedWidth(doc: PreprocessDoc): number {
  let w = 0;
  for (const c of doc.columns) w += c.kind === 'category' ? c.categories.length : 1;
  return w;
}

/** Per category column, its categories' positions (null under the key NULL_KEY). */
export type CategoryIndex = (Map<string, number> | null)[];
const NULL_KEY = '\u0000null';

export function categoryIndexes(doc: PreprocessDoc): CategoryIndex {
  return doc.columns.map((c) => {
    if (c.kind !== 'category') return null;
    const m = new Map<string, number>();
    c.categories.forEach((v, k) => m.set(v === null ? NULL_KEY : `s${v}`, k));
    return m;
  });
}

/**
 * Transforms one raw row (numbers in `x`, NaN or NULL for missing; category values in `c`) into
 * `out` from `at`. Returns false when the row cannot be scored: a missing number with no imputer.
 * The arithmetic is (v − mean) / scale in IEEE doubles, which the SQL function manymodels.prep_x
 * repeats (a non-finite result makes the row unscored in both engines).
 */
export function transformInto(doc: PreprocessDoc, x: ArrayLike<number>, c: readonly (string | null)[] | null, out: Float64Array, at: number, idx: CategoryIndex): boolean {
  let p = at;
  for (let j = 0; j < doc.columns.length; j++) {
    const col = doc.columns[j];
    if (col.kind === 'category') {
      const k = col.categories.length;
      out.fill(0, p, p + k);
      if (c === null) return false;
      const v = c[j];
      const hit = (idx[j] as Map<string, number>).get(v === null || v === undefined ? NULL_KEY : `s${v}`);
      if (hit !== undefined) out[p + hit] = 1;
      p += k;
      continue;
    }
    let v = x[j];
    if (v === null || v === undefined || Number.isNaN(v)) {
      if (col.fill === undefined) return false;
      v = col.fill;
    }
    if (col.mean !== undefined) v = (v - col.mean) / (col.scale as number);
    out[p++] = v;
  }
  return true;
}

/** The names of the expanded features: a number column's own name, `name=value` per category (`name=NULL` for NULL). */
export function expandedNames(doc: PreprocessDoc): string[] {
  const out: string[] = [];
  for (const c of doc.columns) {
    if (c.kind === 'category') for (const v of c.categories) out.push(v === null ? `${c.name}=NULL` : `${c.name}=${v}`);
    else out.push(c.name);
  }
  return out;
}
