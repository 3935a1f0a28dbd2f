import { normInf } from '../linalg/dense.js';
import type { Objective } from '../loss/objective.js';
import { backtrack } from './line-search.js';
import type { MinimizeResult } from './result.js';

export interface LbfgsOptions {
  maxIter: number;
  /** Stop when max |∇f| ≤ gtol. */
  gtol: number;
  /** Number of correction pairs kept (scikit-learn / scipy use 10). */
  memory?: number;
}

/**
 * Limited-memory BFGS with a backtracking Armijo line search. Serves objectives too large for a
 * dense Hessian and is the fallback when Newton's method cannot factorise one. Only gradients
 * are evaluated. x is the starting point and is overwritten with the result.
 */
export function lbfgs(obj: Objective, x: Float64Array, opts: LbfgsOptions): MinimizeResult {
  const dim = obj.dim;
  const mem = opts.memory ?? 10;
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const alpha = new Float64Array(mem);
  let g = new Float64Array(dim);
  let g2 = new Float64Array(dim);
  const d = new Float64Array(dim);
  const xt = new Float64Array(dim);

  let f = obj.evaluate(x, g, null);
  if (!Number.isFinite(f)) return { value: f, gradInf: NaN, nIter: 0, stationary: false, reason: 'non-finite' };
  let nIter = 0;
  while (true) {
    const gInf = normInf(g, dim);
    if (!Number.isFinite(gInf)) return { value: f, gradInf: gInf, nIter, stationary: false, reason: 'non-finite' };
    if (gInf <= opts.gtol) return { value: f, gradInf: gInf, nIter, stationary: true, reason: 'gradient' };
    if (nIter >= opts.maxIter) return { value: f, gradInf: gInf, nIter, stationary: false, reason: 'max-iter' };

    // two-loop recursion: d = −H·g
    for (let j = 0; j < dim; j++) d[j] = -g[j];
    for (let i = S.length - 1; i >= 0; i--) {
      let a = 0;
      for (let j = 0; j < dim; j++) a += S[i][j] * d[j];
      a *= rho[i];
      alpha[i] = a;
      for (let j = 0; j < dim; j++) d[j] -= a * Y[i][j];
    }
    if (S.length > 0) {
      const last = S.length - 1;
      let yy = 0;
      for (let j = 0; j < dim; j++) yy += Y[last][j] * Y[last][j];
      const gamma = 1 / (rho[last] * yy);
      for (let j = 0; j < dim; j++) d[j] *= gamma;
    }
    for (let i = 0; i < S.length; i++) {
      let b = 0;
      for (let j = 0; j < dim; j++) b += Y[i][j] * d[j];
      b *= rho[i];
      for (let j = 0; j < dim; j++) d[j] += S[i][j] * (alpha[i] - b);
    }
    obj.project?.(d);
    let slope = 0;
    for (let j = 0; j < dim; j++) slope += g[j] * d[j];
    if (!(slope < 0)) {
      // not a descent direction: forget the curvature pairs and go down the gradient
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
      for (let j = 0; j < dim; j++) d[j] = -g[j];
      obj.project?.(d);
      slope = 0;
      for (let j = 0; j < dim; j++) slope += g[j] * d[j];
      if (!(slope < 0)) return { value: f, gradInf: gInf, nIter, stationary: true, reason: 'no-progress' };
    }

    const ls = backtrack(obj, x, d, f, slope, gInf, S.length === 0 ? Math.min(1, 1 / gInf) : 1, xt, g2, null, 60);
    if (ls.t === 0) return { value: f, gradInf: gInf, nIter, stationary: false, reason: 'no-progress' };
    const ft = ls.f;

    const s = new Float64Array(dim);
    const y = new Float64Array(dim);
    let sy = 0;
    for (let j = 0; j < dim; j++) {
      s[j] = xt[j] - x[j];
      y[j] = g2[j] - g[j];
      sy += s[j] * y[j];
    }
    if (sy > 1e-16) {
      if (S.length === mem) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }
    x.set(xt);
    f = ft;
    const tmp = g;
    g = g2;
    g2 = tmp;
    nIter++;
  }
}
