import type { Objective } from './objective.js';

/**
 * The multinomial (softmax) logistic loss that scikit-learn's lbfgs solver uses for three or more
 * classes:
 *
 *   f(W) = C · Σᵢ sᵢ · (log Σₖ e^{zᵢₖ} − zᵢ,yᵢ) + ½ · ‖coef‖²_F      penalty 'l2'
 *   f(W) =     Σᵢ sᵢ · (log Σₖ e^{zᵢₖ} − zᵢ,yᵢ)                       penalty null
 *
 *   zᵢₖ = xᵢ · coefₖ + interceptₖ,   yᵢ ∈ {0 … K−1} (an index into classes_)
 *
 * Parameters are laid out class by class: w[k·m + j] = coef[k][j] for j < d and
 * w[k·m + d] = intercept[k] when fitIntercept, with m = d + (fitIntercept ? 1 : 0).
 *
 *   ∇ₖf = C · Σᵢ sᵢ (pᵢₖ − 1[yᵢ = k]) x̃ᵢ + [coefₖ, 0]
 *   ∇²ₖₗf = C · Σᵢ sᵢ pᵢₖ (1[k = l] − pᵢₗ) x̃ᵢ x̃ᵢᵀ + 1[k = l]·diag(1, …, 1, 0)
 *
 * f does not change when the same constant is added to every intercept (nor, without a penalty,
 * the same vector to every coef row): `project` removes those directions from a step, so iterates
 * started at zero stay where scikit-learn's do (Σₖ interceptₖ = 0).
 */
export class MultinomialLogisticLoss implements Objective {
  readonly dim: number;
  private readonly m: number;
  private readonly scale: number;
  private readonly l2: number;
  private readonly z: Float64Array;

  constructor(
    private readonly x: Float64Array,
    private readonly n: number,
    private readonly d: number,
    private readonly y: Int32Array,
    private readonly k: number,
    private readonly s: Float64Array | null,
    C: number,
    penalty: 'l2' | null,
    private readonly fitIntercept: boolean,
  ) {
    this.m = d + (fitIntercept ? 1 : 0);
    this.dim = k * this.m;
    this.scale = penalty === 'l2' ? C : 1;
    this.l2 = penalty === 'l2' ? 1 : 0;
    this.z = new Float64Array(k);
  }

  /** Fills this.z with zᵢ and turns it into probabilities; returns log Σ e^{z} . */
  private softmaxRow(w: Float64Array, i: number): number {
    const { x, d, k, m, z } = this;
    const o = i * d;
    let zmax = -Infinity;
    for (let c = 0; c < k; c++) {
      const wo = c * m;
      let v = this.fitIntercept ? w[wo + d] : 0;
      for (let j = 0; j < d; j++) v += x[o + j] * w[wo + j];
      z[c] = v;
      if (v > zmax) zmax = v;
    }
    let sum = 0;
    for (let c = 0; c < k; c++) sum += Math.exp(z[c] - zmax);
    return zmax + Math.log(sum);
  }

  private penalty(w: Float64Array): number {
    if (this.l2 === 0) return 0;
    const { d, k, m } = this;
    let pen = 0;
    for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) pen += w[c * m + j] * w[c * m + j];
    return 0.5 * pen;
  }

  value(w: Float64Array): number {
    const { n, y, s, z } = this;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const lse = this.softmaxRow(w, i);
      const li = lse - z[y[i]];
      sum += s === null ? li : s[i] * li;
    }
    return this.scale * sum + this.penalty(w);
  }

  evaluate(w: Float64Array, grad: Float64Array, hess: Float64Array | null): number {
    const { x, n, d, k, m, y, s, z, dim, scale } = this;
    const fi = this.fitIntercept;
    grad.fill(0);
    if (hess !== null) hess.fill(0);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const lse = this.softmaxRow(w, i);
      const si = s === null ? 1 : s[i];
      sum += si * (lse - z[y[i]]);
      for (let c = 0; c < k; c++) z[c] = Math.exp(z[c] - lse); // probabilities
      const o = i * d;
      for (let c = 0; c < k; c++) {
        const r = si * (z[c] - (y[i] === c ? 1 : 0));
        const go = c * m;
        for (let j = 0; j < d; j++) grad[go + j] += r * x[o + j];
        if (fi) grad[go + d] += r;
      }
      if (hess === null) continue;
      for (let c = 0; c < k; c++) {
        for (let e = c; e < k; e++) {
          const h = si * z[c] * ((c === e ? 1 : 0) - z[e]);
          if (h === 0) continue;
          // block (c, e): h · x̃ x̃ᵀ, full block (it is not symmetric in position when c ≠ e)
          for (let a = 0; a < m; a++) {
            const xa = a < d ? x[o + a] : 1;
            const row = (c * m + a) * dim + e * m;
            const hx = h * xa;
            for (let bb = 0; bb < d; bb++) hess[row + bb] += hx * x[o + bb];
            if (fi) hess[row + d] += hx;
          }
        }
      }
    }
    for (let j = 0; j < dim; j++) grad[j] *= scale;
    if (this.l2 !== 0) for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) grad[c * m + j] += w[c * m + j];
    if (hess !== null) {
      // scale the upper block triangle, mirror it into the lower one, add the penalty
      for (let c = 0; c < k; c++) {
        for (let e = c; e < k; e++) {
          for (let a = 0; a < m; a++) {
            for (let bb = c === e ? a : 0; bb < m; bb++) {
              const r = c * m + a;
              const col = e * m + bb;
              const v = hess[r * dim + col] * scale;
              hess[r * dim + col] = v;
              hess[col * dim + r] = v;
            }
          }
        }
      }
      if (this.l2 !== 0) for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) hess[(c * m + j) * dim + c * m + j] += 1;
    }
    return scale * sum + this.penalty(w);
  }

  project(v: Float64Array): void {
    const { d, k, m } = this;
    const last = this.l2 === 0 ? m : this.fitIntercept ? d + 1 : d;
    const first = this.l2 === 0 ? 0 : d;
    for (let j = first; j < last; j++) {
      let mean = 0;
      for (let c = 0; c < k; c++) mean += v[c * m + j];
      mean /= k;
      for (let c = 0; c < k; c++) v[c * m + j] -= mean;
    }
  }
}
