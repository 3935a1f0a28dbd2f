/**
 * Cholesky factorisation and solves for small symmetric positive (semi-)definite systems.
 */

/**
 * In-place Cholesky factorisation A = L·Lᵀ of the n×n row-major matrix `a` (only the lower
 * triangle is read and written). Returns false when a pivot is not larger than `minPivot`,
 * i.e. the matrix is not numerically positive definite.
 */
export function choleskyInPlace(a: Float64Array, n: number, minPivot = 0): boolean {
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = a[rj + j];
    for (let k = 0; k < j; k++) d -= a[rj + k] * a[rj + k];
    if (!(d > minPivot)) return false;
    const ljj = Math.sqrt(d);
    a[rj + j] = ljj;
    // two rows per pass, so that their two chains of dependent subtractions overlap
    let i = j + 1;
    for (; i + 1 < n; i += 2) {
      const ri = i * n;
      const ri1 = ri + n;
      let s = a[ri + j];
      let s1 = a[ri1 + j];
      for (let k = 0; k < j; k++) {
        const ajk = a[rj + k];
        s -= a[ri + k] * ajk;
        s1 -= a[ri1 + k] * ajk;
      }
      a[ri + j] = s / ljj;
      a[ri1 + j] = s1 / ljj;
    }
    if (i < n) {
      const ri = i * n;
      let s = a[ri + j];
      for (let k = 0; k < j; k++) s -= a[ri + k] * a[rj + k];
      a[ri + j] = s / ljj;
    }
  }
  return true;
}

/** Solve L·Lᵀ x = b in place (b becomes x), with L from choleskyInPlace. */
export function choleskySolveInPlace(l: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[ri + k] * b[k];
    b[i] = s / l[ri + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * b[k];
    b[i] = s / l[i * n + i];
  }
}

/**
 * Solve H·x = rhs for a symmetric positive semi-definite H (n×n, row-major, full storage),
 * robustly: the system is first scaled symmetrically to unit diagonal (Jacobi), which removes
 * the ill-conditioning that comes from features on very different scales; if the scaled matrix
 * is not numerically positive definite, a growing multiple of the identity is added
 * (Levenberg damping) until it is. `work` must hold n*n + n numbers. Returns the damping that
 * was used (0 for an exact solve), or -1 if no damping up to 1 made the matrix factorisable
 * (non-finite entries).
 */
export function solveSpdScaled(
  h: Float64Array,
  n: number,
  rhs: Float64Array,
  x: Float64Array,
  work: Float64Array,
): number {
  if (n === 3) return solveSpdScaled3(h, rhs, x);
  const nn = n * n;
  // work[nn + i] holds the scale 1/sqrt(H_ii)
  for (let i = 0; i < n; i++) {
    const d = h[i * n + i];
    work[nn + i] = d > 0 && Number.isFinite(d) ? 1 / Math.sqrt(d) : 1;
  }
  const minPivot = 64 * n * 2.220446049250313e-16;
  let damping = 0;
  for (let attempt = 0; attempt < 16; attempt++) {
    for (let i = 0; i < n; i++) {
      const si = work[nn + i];
      for (let j = 0; j <= i; j++) work[i * n + j] = h[i * n + j] * si * work[nn + j];
      work[i * n + i] += damping;
    }
    if (choleskyInPlace(work, n, minPivot)) {
      for (let i = 0; i < n; i++) x[i] = rhs[i] * work[nn + i];
      choleskySolveInPlace(work, n, x);
      for (let i = 0; i < n; i++) x[i] *= work[nn + i];
      return damping;
    }
    damping = damping === 0 ? 1e-12 : damping * 10;
    if (damping > 1) break;
  }
  return -1;
}

/**
 * solveSpdScaled for n = 3 (two features and an intercept: the demo's shape), unrolled into
 * locals. Every operation is the general path's, in the same order (scaling, pivots, the damping
 * schedule, forward and back substitution), so the answer is the same to the last bit.
 */
function solveSpdScaled3(h: Float64Array, rhs: Float64Array, x: Float64Array): number {
  const scale = (d: number): number => (d > 0 && Number.isFinite(d) ? 1 / Math.sqrt(d) : 1);
  const s0 = scale(h[0]);
  const s1 = scale(h[4]);
  const s2 = scale(h[8]);
  const minPivot = 64 * 3 * 2.220446049250313e-16;
  let damping = 0;
  for (let attempt = 0; attempt < 16; attempt++) {
    const a00 = h[0] * s0 * s0 + damping;
    const a10 = h[3] * s1 * s0;
    const a11 = h[4] * s1 * s1 + damping;
    const a20 = h[6] * s2 * s0;
    const a21 = h[7] * s2 * s1;
    const a22 = h[8] * s2 * s2 + damping;
    fact: {
      if (!(a00 > minPivot)) break fact;
      const l00 = Math.sqrt(a00);
      const l10 = a10 / l00;
      const l20 = a20 / l00;
      let d1 = a11;
      d1 -= l10 * l10;
      if (!(d1 > minPivot)) break fact;
      const l11 = Math.sqrt(d1);
      let t21 = a21;
      t21 -= l20 * l10;
      const l21 = t21 / l11;
      let d2 = a22;
      d2 -= l20 * l20;
      d2 -= l21 * l21;
      if (!(d2 > minPivot)) break fact;
      const l22 = Math.sqrt(d2);
      // L·Lᵀ b = rhs·s, forward then back
      let b0 = rhs[0] * s0;
      let b1 = rhs[1] * s1;
      let b2 = rhs[2] * s2;
      b0 = b0 / l00;
      b1 -= l10 * b0;
      b1 = b1 / l11;
      b2 -= l20 * b0;
      b2 -= l21 * b1;
      b2 = b2 / l22;
      b2 = b2 / l22;
      b1 -= l21 * b2;
      b1 = b1 / l11;
      b0 -= l10 * b1;
      b0 -= l20 * b2;
      b0 = b0 / l00;
      x[0] = b0 * s0;
      x[1] = b1 * s1;
      x[2] = b2 * s2;
      return damping;
    }
    damping = damping === 0 ? 1e-12 : damping * 10;
    if (damping > 1) break;
  }
  return -1;
}
