import { UsageError } from '../errors.js';
import { LinearRegression, type LinearRegressionParams } from './linear-regression.js';
import { LogisticRegression, type LogisticRegressionParams } from './logistic-regression.js';
import { Ridge, type RidgeParams } from './ridge.js';

export type Estimator = LogisticRegression | LinearRegression | Ridge;
export type EstimatorName = 'LogisticRegression' | 'LinearRegression' | 'Ridge';
/** Short names, as the command line's --estimator takes them. */
export type EstimatorAlias = 'logistic' | 'logreg' | 'linear' | 'ols' | 'ridge';
/** What `estimator` accepts: a class name or a short name (matched case-insensitively at run time). */
export type EstimatorChoice = EstimatorName | EstimatorAlias;
export type EstimatorParams = LogisticRegressionParams | LinearRegressionParams | RidgeParams;

interface Entry {
  readonly name: EstimatorName;
  readonly kind: 'classifier' | 'regressor';
  readonly aliases: readonly (EstimatorAlias | Lowercase<EstimatorName>)[];
  create(params: Record<string, unknown>): Estimator;
}

export const ESTIMATORS: readonly Entry[] = Object.freeze([
  { name: 'LogisticRegression', kind: 'classifier', aliases: ['logistic', 'logreg', 'logisticregression'], create: (p) => new LogisticRegression(p) },
  { name: 'LinearRegression', kind: 'regressor', aliases: ['linear', 'ols', 'linearregression'], create: (p) => new LinearRegression(p) },
  { name: 'Ridge', kind: 'regressor', aliases: ['ridge'], create: (p) => new Ridge(p) },
] as Entry[]);

/** Finds an estimator by its class name or a short alias (case-insensitive). */
export function estimatorEntry(name: EstimatorChoice | (string & {})): Entry {
  const key = name.toLowerCase();
  const e = ESTIMATORS.find((x) => x.name.toLowerCase() === key || (x.aliases as readonly string[]).includes(key));
  if (e === undefined) {
    throw new UsageError(
      `unknown estimator '${name}'`,
      `choose one of: ${ESTIMATORS.map((x) => `${x.aliases[0]} (${x.name})`).join(', ')}`,
      'UNKNOWN_ESTIMATOR',
    );
  }
  return e;
}

export function createEstimator(name: EstimatorChoice | (string & {}), params: Record<string, unknown> = {}): Estimator {
  return estimatorEntry(name).create(params);
}
