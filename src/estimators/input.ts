import { InvalidInputError } from '../errors.js';

/** A row-major matrix: row i, column j is data[i * cols + j]. */
export interface Matrix {
  readonly data: Float64Array;
  readonly rows: number;
  readonly cols: number;
}

/** What fit and predict accept: nested arrays, or a row-major Float64Array with its shape. */
export type MatrixInput =
  | readonly (readonly number[])[]
  | Matrix
  | { readonly data: Float64Array; readonly shape: readonly [number, number] };

/** Class labels are numbers or strings, never a mix. */
export type Label = number | string;
export type LabelInput = readonly Label[] | Float64Array | Int32Array;

/** A Matrix over a row-major Float64Array; the array is used as it is, not copied. */
export function matrix(data: Float64Array, rows: number, cols: number): Matrix {
  if (data.length < rows * cols) {
    throw new InvalidInputError('SHAPE_MISMATCH', `a ${rows}×${cols} matrix needs ${rows * cols} numbers, the array has ${data.length}`);
  }
  return { data, rows, cols };
}

/**
 * Validates X and returns it as a Matrix: at least one row and one column, every row the same
 * length, every value finite. A Float64Array input is checked in place, never copied.
 */
export function toMatrix(X: MatrixInput, what = 'X'): Matrix {
  let m: Matrix;
  if (Array.isArray(X)) {
    const rows = X.length;
    if (rows === 0) throw new InvalidInputError('EMPTY_INPUT', `${what} is empty: it needs at least one row`, 'pass at least one sample');
    const first = X[0];
    if (!Array.isArray(first)) {
      throw new InvalidInputError('INVALID_INPUT', `${what} must be a 2-D array (one array of numbers per row); row 0 is ${typeof first}`);
    }
    const cols = first.length;
    if (cols === 0) throw new InvalidInputError('EMPTY_INPUT', `${what} has rows with no features: it needs at least one column`);
    const data = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      const r = X[i];
      if (!Array.isArray(r) || r.length !== cols) {
        const len = Array.isArray(r) ? r.length : typeof r;
        throw new InvalidInputError(
          'RAGGED_INPUT',
          `${what} is ragged: row 0 has ${cols} values but row ${i} has ${len}`,
          'every row must have the same number of features',
        );
      }
      for (let j = 0; j < cols; j++) data[i * cols + j] = r[j];
    }
    m = { data, rows, cols };
  } else if ('shape' in X) {
    m = matrix(X.data, X.shape[0], X.shape[1]);
  } else {
    const mm = X as Matrix;
    m = matrix(mm.data, mm.rows, mm.cols);
  }
  if (m.rows === 0 || m.cols === 0) {
    throw new InvalidInputError('EMPTY_INPUT', `${what} is empty (${m.rows}×${m.cols}): it needs at least one row and one column`);
  }
  checkFinite(m.data, m.rows * m.cols, m.cols, what);
  return m;
}

/** Throws NON_FINITE_INPUT naming the first NaN or infinite value of a row-major block. */
export function checkFinite(data: Float64Array, len: number, cols: number, what: string): void {
  // v·0 is ±0 for a finite v and NaN otherwise: four independent sums find out whether any value
  // is bad without a branch per value (twice as fast as the loop below); that loop then names it
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  let k = 0;
  for (; k + 3 < len; k += 4) {
    a += data[k] * 0;
    b += data[k + 1] * 0;
    c += data[k + 2] * 0;
    d += data[k + 3] * 0;
  }
  for (; k < len; k++) a += data[k] * 0;
  if (a + b + (c + d) === 0) return;
  for (let k = 0; k < len; k++) {
    const v = data[k];
    if (v - v !== 0) {
      const i = Math.floor(k / cols);
      throw new InvalidInputError(
        'NON_FINITE_INPUT',
        `${what} contains ${v} at row ${i}, column ${k - i * cols}: every value must be finite`,
        'remove or impute NaN and infinite values before training',
      );
    }
  }
}

/** Validates regression targets: n finite numbers. */
export function toTarget(y: LabelInput, n: number): Float64Array {
  if (y.length !== n) throw lengthMismatch('y', y.length, n);
  const out = y instanceof Float64Array ? y : new Float64Array(n);
  if (out !== y) {
    for (let i = 0; i < n; i++) {
      const v = y[i];
      if (typeof v !== 'number') throw new InvalidInputError('INVALID_LABEL', `y[${i}] is ${JSON.stringify(v)}: a regressor needs numeric targets`);
      out[i] = v;
    }
  }
  checkFinite(out, n, 1, 'y');
  return out;
}

/** Validates sample weights: n finite, non-negative numbers (null when absent). */
export function toWeights(sw: readonly number[] | Float64Array | null | undefined, n: number): Float64Array | null {
  if (sw === null || sw === undefined) return null;
  if (sw.length !== n) throw lengthMismatch('sampleWeight', sw.length, n);
  const out = sw instanceof Float64Array ? sw : Float64Array.from(sw);
  for (let i = 0; i < n; i++) {
    const v = out[i];
    if (!(v >= 0) || v === Infinity) {
      throw new InvalidInputError('INVALID_SAMPLE_WEIGHT', `sampleWeight[${i}] is ${v}: sample weights must be finite and non-negative`);
    }
  }
  return out;
}

export function lengthMismatch(what: string, got: number, n: number): InvalidInputError {
  return new InvalidInputError(
    'LENGTH_MISMATCH',
    `${what} has ${got} values but X has ${n} rows`,
    `give one ${what === 'sampleWeight' ? 'weight' : 'label'} per row of X`,
  );
}

/**
 * Encodes class labels: classes are the sorted unique labels (numbers ascending, strings by code
 * point, as numpy sorts them) and index[i] is the position of y[i] in classes.
 */
export function encodeLabels(y: LabelInput, n: number): { classes: Label[]; index: Int32Array } {
  if (y.length !== n) throw lengthMismatch('y', y.length, n);
  const index = new Int32Array(n);
  if (n === 0) return { classes: [], index };
  if (y instanceof Float64Array) {
    // the common case, 0/1 labels in a Float64Array, in one pass (no type checks needed)
    let has0 = false;
    let has1 = false;
    let i = 0;
    for (; i < n; i++) {
      const v = y[i];
      if (v === 0) has0 = true;
      else if (v === 1) {
        has1 = true;
        index[i] = 1;
      } else break;
    }
    if (i === n) {
      if (!has0) index.fill(0); // only 1s: class 0 is 1
      return { classes: has0 && has1 ? [0, 1] : has0 ? [0] : [1], index };
    }
  }
  const numeric = typeof y[0] === 'number';
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if ((typeof v === 'number') !== numeric || (typeof v !== 'number' && typeof v !== 'string')) {
      throw new InvalidInputError('INVALID_LABEL', `y mixes label types: y[0] is ${JSON.stringify(y[0])} but y[${i}] is ${JSON.stringify(v)}`, 'use all numbers or all strings');
    }
    if (numeric && !Number.isFinite(v as number)) {
      throw new InvalidInputError('NON_FINITE_INPUT', `y contains ${v} at row ${i}: every label must be finite`, 'remove rows whose label is NaN or infinite');
    }
  }
  // fast path for the common 0/1 labels
  if (numeric) {
    let only01 = true;
    let has0 = false;
    let has1 = false;
    for (let i = 0; i < n; i++) {
      const v = y[i];
      if (v === 0) has0 = true;
      else if (v === 1) has1 = true;
      else {
        only01 = false;
        break;
      }
    }
    if (only01) {
      const classes: Label[] = has0 && has1 ? [0, 1] : has0 ? [0] : [1];
      const off = has0 ? 0 : -1;
      for (let i = 0; i < n; i++) index[i] = (y[i] as number) + off;
      return { classes, index };
    }
  }
  const uniq = Array.from(new Set(Array.from(y as ArrayLike<Label>)));
  if (numeric) (uniq as number[]).sort((a, b) => a - b);
  else (uniq as string[]).sort(compareCodePoints);
  const pos = new Map<Label, number>();
  uniq.forEach((c, k) => pos.set(c, k));
  for (let i = 0; i < n; i++) index[i] = pos.get(y[i] as Label)!;
  return { classes: uniq, index };
}

/**
 * Orders strings by Unicode code point, as numpy and scikit-learn sort class labels (and as
 * PostgreSQL's "C" collation orders UTF-8). JavaScript's `<` compares UTF-16 code units, which
 * puts U+E000–U+FFFF after the supplementary planes: remapping each unit at the first difference
 * (surrogates up by 0x2000, U+E000–U+FFFF down by 0x800) gives code point order.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}
