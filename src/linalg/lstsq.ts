/**
 * Minimum-norm least squares, min ‖A·x − b‖₂ with the smallest ‖x‖₂ among minimisers, through a
 * one-sided Jacobi SVD of A (n×d, row-major). This is what LAPACK's gelsd gives scikit-learn's
 * LinearRegression: singular values below rcond·σ_max count as zero, so a rank-deficient design
 * (a constant column after centring, a duplicated column) gets the minimum-norm answer.
 *
 * One-sided Jacobi works on the columns of A directly (no normal equations, so no squaring of
 * the condition number) and is accurate to machine precision for the small d of per-group models.
 */
export function lstsqMinNorm(
  a: Float64Array,
  n: number,
  d: number,
  b: Float64Array,
  rcond = 2.220446049250313e-16 * Math.max(n, d),
): { x: Float64Array; rank: number } {
  // U starts as a copy of A, column-major for cache-friendly column work; V = I (d×d).
  const u = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) u[j * n + i] = a[i * d + j];
  const v = new Float64Array(d * d);
  for (let j = 0; j < d; j++) v[j * d + j] = 1;

  const eps = 2.220446049250313e-16;
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        const po = p * n;
        const qo = q * n;
        for (let i = 0; i < n; i++) {
          const up = u[po + i];
          const uq = u[qo + i];
          alpha += up * up;
          beta += uq * uq;
          gamma += up * uq;
        }
        if (gamma === 0 || Math.abs(gamma) <= eps * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < n; i++) {
          const up = u[po + i];
          const uq = u[qo + i];
          u[po + i] = c * up - s * uq;
          u[qo + i] = s * up + c * uq;
        }
        for (let i = 0; i < d; i++) {
          const vp = v[i * d + p];
          const vq = v[i * d + q];
          v[i * d + p] = c * vp - s * vq;
          v[i * d + q] = s * vp + c * vq;
        }
      }
    }
    if (!rotated) break;
  }

  // Singular values are the column norms of U; x = V · Σ⁺ · Uᵀ b with U's columns normalised.
  const sigma = new Float64Array(d);
  let smax = 0;
  for (let j = 0; j < d; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += u[j * n + i] * u[j * n + i];
    sigma[j] = Math.sqrt(s);
    if (sigma[j] > smax) smax = sigma[j];
  }
  const cutoff = rcond * smax;
  const x = new Float64Array(d);
  let rank = 0;
  for (let j = 0; j < d; j++) {
    if (!(sigma[j] > cutoff) || sigma[j] === 0) continue;
    rank++;
    let ub = 0;
    for (let i = 0; i < n; i++) ub += u[j * n + i] * b[i];
    const coefj = ub / (sigma[j] * sigma[j]); // (u_j/σ)ᵀ b / σ
    for (let i = 0; i < d; i++) x[i] += v[i * d + j] * coefj;
  }
  return { x, rank };
}
