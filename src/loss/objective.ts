/**
 * What an optimiser needs from a loss: the value, and the gradient and (for Newton) the dense
 * Hessian at a point. Implementations write into caller-owned buffers and allocate nothing, so
 * that a worker fitting millions of small models does not churn the garbage collector.
 */
export interface Objective {
  /** Number of parameters. */
  readonly dim: number;
  /** f(w). */
  value(w: Float64Array): number;
  /** f(w); writes ∇f(w) into `grad` and, when `hess` is given, ∇²f(w) (dim×dim, row-major, full). */
  evaluate(w: Float64Array, grad: Float64Array, hess: Float64Array | null): number;
  /**
   * Removes from `v` its components along directions in which f is exactly flat (the softmax
   * over-parameterisation of the multinomial loss). Absent when there are none.
   */
  project?(v: Float64Array): void;
}

/** log(1 + e^z) without overflow or loss of precision. */
export function log1pExp(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** σ(z) = 1 / (1 + e^−z), exact in both tails. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}
