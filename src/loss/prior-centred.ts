import type { Objective } from './objective.js';

/**
 * A data term plus an L2 prior centred on a given point: the objective of partial pooling.
 *
 *   f(w) = C · L(w) + ½ · Σⱼ λⱼ · (wⱼ − cⱼ)²
 *
 * L is an unpenalised loss (e.g. BinaryLogisticLoss with penalty null: Σᵢ sᵢ·ℓ(yᵢ, zᵢ)), c the
 * centre (the global model's parameters, in L's layout: [coef₀ … coef_{d−1}, intercept]) and λ the
 * prior's precision per parameter relative to the coefficients'. Divided by C, f is the issue's
 *
 *   L(w) + ‖coef − coef_global‖² / (2C) + (b − b_global)² / (2C_b)
 *
 * with λ = 1 for every coefficient and λ = C / C_b for the intercept: C is the pooling strength
 * (small C: the group's model stays at the global one; large C: the group is fitted alone), C_b
 * the intercept's own. Same minimiser as the issue's form; scaled by C as scikit-learn's loss is,
 * so that Newton's tolerances keep their meaning.
 *
 *   ∇f  = C · ∇L(w) + λ ⊙ (w − c)
 *   ∇²f = C · ∇²L(w) + diag(λ)
 *
 * With every λⱼ > 0 f is strongly convex: one finite minimiser always exists, also for a group of
 * one class or of one row (its model is then the centre pulled towards its rows).
 */
export class PriorCentredObjective implements Objective {
  readonly dim: number;

  constructor(
    private readonly data: Objective,
    private readonly C: number,
    private readonly centre: Float64Array,
    private readonly precision: Float64Array,
  ) {
    this.dim = data.dim;
    if (centre.length !== this.dim || precision.length !== this.dim) throw new RangeError(`centre and precision must have ${this.dim} entries`);
  }

  value(w: Float64Array): number {
    return this.C * this.data.value(w) + this.penalty(w);
  }

  evaluate(w: Float64Array, grad: Float64Array, hess: Float64Array | null): number {
    const { dim, C, centre, precision } = this;
    const f = this.data.evaluate(w, grad, hess);
    for (let j = 0; j < dim; j++) grad[j] = C * grad[j] + precision[j] * (w[j] - centre[j]);
    if (hess !== null) {
      for (let k = 0; k < dim * dim; k++) hess[k] *= C;
      for (let j = 0; j < dim; j++) hess[j * dim + j] += precision[j];
    }
    return C * f + this.penalty(w);
  }

  private penalty(w: Float64Array): number {
    let p = 0;
    for (let j = 0; j < this.dim; j++) {
      const v = w[j] - this.centre[j];
      p += this.precision[j] * v * v;
    }
    return 0.5 * p;
  }
}
