/**
 * Partial pooling (issue 14, item 3) against an independent solve: the objective of the issue,
 *
 *   Σᵢ ℓ(yᵢ, zᵢ) + ‖coef − coef_g‖² / (2C) + (b − b_g)² / (2C_b),
 *
 * written out here from its definition (not through the package's losses), minimised by a plain
 * dense Newton iteration with Gaussian elimination, to a gradient of 1e-14.
 */
export function referenceSolve(X: number[][], y: number[], cg: number[], bg: number, C: number, Cb: number): number[] {
  const d = cg.length;
  const p = d + 1;
  const w = [...cg, bg];
  for (let it = 0; it < 200; it++) {
    const g = new Array<number>(p).fill(0);
    const H = Array.from({ length: p }, () => new Array<number>(p).fill(0));
    for (let i = 0; i < X.length; i++) {
      const xt = [...X[i], 1];
      let z = 0;
      for (let j = 0; j < p; j++) z += xt[j] * w[j];
      const pr = 1 / (1 + Math.exp(-z));
      for (let j = 0; j < p; j++) {
        g[j] += (pr - y[i]) * xt[j];
        for (let k = 0; k < p; k++) H[j][k] += pr * (1 - pr) * xt[j] * xt[k];
      }
    }
    for (let j = 0; j < d; j++) {
      g[j] += (w[j] - cg[j]) / C;
      H[j][j] += 1 / C;
    }
    g[d] += (w[d] - bg) / Cb;
    H[d][d] += 1 / Cb;
    if (Math.max(...g.map(Math.abs)) < 1e-14) break;
    // solve H·step = g by Gaussian elimination with partial pivoting
    const A = H.map((row, j) => [...row, g[j]]);
    for (let c = 0; c < p; c++) {
      let piv = c;
      for (let r = c + 1; r < p; r++) if (Math.abs(A[r][c]) > Math.abs(A[piv][c])) piv = r;
      [A[c], A[piv]] = [A[piv], A[c]];
      for (let r = c + 1; r < p; r++) {
        const f = A[r][c] / A[c][c];
        for (let k = c; k <= p; k++) A[r][k] -= f * A[c][k];
      }
    }
    const step = new Array<number>(p).fill(0);
    for (let r = p - 1; r >= 0; r--) {
      let s = A[r][p];
      for (let k = r + 1; k < p; k++) s -= A[r][k] * step[k];
      step[r] = s / A[r][r];
    }
    for (let j = 0; j < p; j++) w[j] -= step[j];
  }
  return w;
}

