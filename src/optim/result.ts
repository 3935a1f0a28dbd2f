/** What every minimiser reports. The point itself is written into the caller's x. */
export interface MinimizeResult {
  /** f at the final point. */
  value: number;
  /** max |∇f| at the final point. */
  gradInf: number;
  /** Iterations taken (Newton steps or L-BFGS updates). */
  nIter: number;
  /** True when the minimiser stopped at a numerically stationary point, false when it ran out of iterations or failed. */
  stationary: boolean;
  /** Why it stopped: 'step' | 'gradient' | 'no-progress' | 'max-iter' | 'singular' | 'non-finite'. */
  reason: StopReason;
}

export type StopReason = 'step' | 'gradient' | 'no-progress' | 'max-iter' | 'singular' | 'non-finite';
