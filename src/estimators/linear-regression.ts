import { LinearModel } from './linear-model.js';
import { boolean, knownParams } from './params.js';

export interface LinearRegressionParams {
  /** Whether to fit an intercept. Default true. */
  fitIntercept?: boolean;
}

const NAME = 'LinearRegression';

/** Ordinary least squares, scikit-learn's LinearRegression; see linear-model.ts for the math. */
export class LinearRegression extends LinearModel {
  readonly estimatorName = NAME;
  protected readonly alphaValue = 0;

  /** Takes scikit-learn's spelling fit_intercept too. */
  constructor(given: LinearRegressionParams & { fit_intercept?: boolean } = {}) {
    const params = knownParams(NAME, given, ['fitIntercept']);
    super(boolean(NAME, 'fitIntercept', params.fitIntercept ?? true));
  }

  getParams(): Required<LinearRegressionParams> {
    return { fitIntercept: this.fitIntercept };
  }
}
