import { LinearModel } from './linear-model.js';
import { boolean, knownParams, nonNegativeNumber } from './params.js';

export interface RidgeParams {
  /** L2 penalty strength α ≥ 0 on the coefficients (not the intercept). Default 1. */
  alpha?: number;
  /** Whether to fit an intercept. Default true. */
  fitIntercept?: boolean;
}

const NAME = 'Ridge';

/** scikit-learn's Ridge: least squares plus α‖coef‖²; see linear-model.ts for the math. */
export class Ridge extends LinearModel {
  readonly estimatorName = NAME;
  readonly alpha: number;
  protected get alphaValue(): number {
    return this.alpha;
  }

  /** Takes scikit-learn's spelling fit_intercept too. */
  constructor(given: RidgeParams & { fit_intercept?: boolean } = {}) {
    const params = knownParams(NAME, given, ['alpha', 'fitIntercept']);
    super(boolean(NAME, 'fitIntercept', params.fitIntercept ?? true));
    this.alpha = nonNegativeNumber(NAME, 'alpha', params.alpha ?? 1);
  }

  getParams(): Required<RidgeParams> {
    return { alpha: this.alpha, fitIntercept: this.fitIntercept };
  }
}
