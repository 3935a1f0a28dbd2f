import { normInf } from '../linalg/dense.js';
import type { Objective } from '../loss/objective.js';

/**
 * Backtracking line search along x + t·d from t = t0, halving t (by 10 after a non-finite value)
 * until the Armijo condition f(x + t·d) ≤ f + 10⁻⁴·t·slope holds, slope = ∇fᵀd < 0. At the optimum f
 * is flat to rounding, so a step that does not raise f beyond its rounding error and lowers the
 * gradient is accepted too. Writes the trial point into xt and its gradient (and Hessian, when
 * `hess` is given) into g2/hess. Returns the accepted t and f, or t = 0 when no step was found.
 */
export function backtrack(
  obj: Objective,
  x: Float64Array,
  d: Float64Array,
  f: number,
  slope: number,
  gInf: number,
  t0: number,
  xt: Float64Array,
  g2: Float64Array,
  hess: Float64Array | null,
  maxSteps = 50,
): { t: number; f: number } {
  const dim = obj.dim;
  let t = t0;
  for (let ls = 0; ls < maxSteps; ls++) {
    for (let j = 0; j < dim; j++) xt[j] = x[j] + t * d[j];
    const ft = obj.evaluate(xt, g2, hess);
    if (ft <= f + 1e-4 * t * slope) return { t, f: ft };
    if (Number.isFinite(ft) && Math.abs(ft - f) <= 1e-14 * Math.abs(f) && normInf(g2, dim) < gInf) return { t, f: ft };
    t *= Number.isFinite(ft) ? 0.5 : 0.1;
  }
  return { t: 0, f };
}
