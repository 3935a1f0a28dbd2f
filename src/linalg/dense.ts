/**
 * Small dense kernels on contiguous Float64Array storage. Matrices are row-major;
 * `a[i * cols + j]` is row i, column j. No allocation happens inside these functions.
 */

/** Σ a[aOff + k] * b[bOff + k] for k < n. */
export function dot(a: Float64Array, aOff: number, b: Float64Array, bOff: number, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += a[aOff + k] * b[bOff + k];
  return s;
}

/** max |v[k]| for k < n. */
export function normInf(v: Float64Array, n: number = v.length): number {
  let m = 0;
  for (let k = 0; k < n; k++) {
    const x = Math.abs(v[k]);
    if (x > m || x !== x) m = x; // NaN propagates
  }
  return m;
}

/** Copy the upper triangle of a square n×n matrix into its lower triangle. */
export function symmetrizeUpper(a: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) a[j * n + i] = a[i * n + j];
  }
}
