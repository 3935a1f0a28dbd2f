import { solveSpdScaled } from '../linalg/cholesky.js';
import { normInf } from '../linalg/dense.js';
import type { Objective } from '../loss/objective.js';
import { backtrack } from './line-search.js';
import type { MinimizeResult } from './result.js';
import { type Workspace, sharedWorkspace } from './workspace.js';

export interface NewtonOptions {
  maxIter: number;
  /** Stop after a full Newton step whose size is at most stepTol · (1 + ‖x‖∞). Default 1e-9: the next step would be at rounding level. */
  stepTol?: number;
  workspace?: Workspace;
}

/**
 * Damped Newton's method with a backtracking (Armijo) line search, for smooth convex objectives
 * of a few to a few hundred parameters. Each step solves ∇²f · p = ∇f with a Jacobi-scaled
 * Cholesky factorisation; a singular Hessian gets the smallest Levenberg damping that makes it
 * factorisable. Near the optimum the full step is taken and convergence is quadratic, so the
 * minimiser stops at the true optimum (to rounding), not at a gradient tolerance.
 *
 * x is the starting point and is overwritten with the result.
 */
export function newton(obj: Objective, x: Float64Array, opts: NewtonOptions): MinimizeResult {
  const dim = obj.dim;
  const ws = (opts.workspace ?? sharedWorkspace).buffers(dim);
  let g = ws[0];
  let g2 = ws[1];
  const p = ws[2];
  const xt = ws[3];
  let h = ws[8];
  let h2 = ws[9];
  const work = ws[10];
  const stepTol = opts.stepTol ?? 1e-9;

  let f = obj.evaluate(x, g, h);
  if (!Number.isFinite(f)) return { value: f, gradInf: NaN, nIter: 0, stationary: false, reason: 'non-finite' };
  let nIter = 0;
  while (true) {
    const gInf = normInf(g, dim);
    if (gInf === 0) return { value: f, gradInf: 0, nIter, stationary: true, reason: 'gradient' };
    if (!Number.isFinite(gInf)) return { value: f, gradInf: gInf, nIter, stationary: false, reason: 'non-finite' };
    if (nIter >= opts.maxIter) return { value: f, gradInf: gInf, nIter, stationary: false, reason: 'max-iter' };

    const damping = solveSpdScaled(h, dim, g, p, work);
    if (damping < 0) return { value: f, gradInf: gInf, nIter, stationary: false, reason: 'singular' };
    obj.project?.(p);
    let slope = 0; // directional derivative of f along −p
    for (let j = 0; j < dim; j++) slope -= g[j] * p[j];
    if (!(slope < 0)) return { value: f, gradInf: gInf, nIter, stationary: true, reason: 'no-progress' };

    // A full step this small ends the iteration: its Hessian will not be needed. So does a step
    // whose predicted decrease (half the Newton decrement −gᵀp) is far below the rounding error of
    // f: along a nearly flat direction the step can stay "large" while f cannot improve any more.
    const flat = -slope <= 1e-20 * Math.max(1, Math.abs(f));
    const last = flat || (damping <= 1e-8 && normInf(p, dim) <= stepTol * (1 + normInf(x, dim)));
    if (last) {
      // the final step: take it unless it makes f worse beyond rounding, then stop either way
      for (let j = 0; j < dim; j++) xt[j] = x[j] - p[j];
      const ft = obj.evaluate(xt, g2, null);
      if (ft <= f + 1e-14 * Math.abs(f)) {
        x.set(xt);
        return { value: ft, gradInf: normInf(g2, dim), nIter: nIter + 1, stationary: true, reason: 'step' };
      }
      return { value: f, gradInf: gInf, nIter, stationary: true, reason: 'step' };
    }
    // the step is x − t·p: search along d = −p
    for (let j = 0; j < dim; j++) p[j] = -p[j];
    const ls = backtrack(obj, x, p, f, slope, gInf, 1, xt, g2, h2);
    if (ls.t === 0) return { value: f, gradInf: gInf, nIter, stationary: gInf <= 1e-8 * (1 + Math.abs(f)), reason: 'no-progress' };
    const ft = ls.f;

    for (let j = 0; j < dim; j++) x[j] = xt[j];
    f = ft;
    const gs = g;
    g = g2;
    g2 = gs;
    const hs = h;
    h = h2;
    h2 = hs;
    nIter++;
  }
}
