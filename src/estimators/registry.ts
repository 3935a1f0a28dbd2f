import { UsageError } from '../errors.js';
import { LinearRegression, type LinearRegressionParams } from './linear-regression.js';
import { LogisticRegression, type LogisticRegressionParams } from './logistic-regression.js';
import { Ridge, type RidgeParams } from './ridge.js';

export type Estimator = LogisticRegression | LinearRegression | Ridge;
export type EstimatorName = 'LogisticRegression' | 'LinearRegression' | 'Ridge';
export type EstimatorParams = LogisticRegressionParams | LinearRegressionParams | RidgeParams;

interface Entry {
  readonly name: EstimatorName;
  readonly kind: 'classifier' | 'regressor';
  readonly aliases: readonly string[];
  create(params: Record<string, unknown>): Estimator;
}

export const ESTIMATORS: readonly Entry[] = Object.freeze([
  { name: 'LogisticRegression', kind: 'classifier', aliases: ['logistic', 'logreg', 'logisticregression'], create: (p) => new LogisticRegression(p) },
  { name: 'LinearRegression', kind: 'regressor', aliases: ['linear', 'ols', 'linearregression'], create: (p) => new LinearRegression(p) },
  { name: 'Ridge', kind: 'regressor', aliases: ['ridge'], create: (p) => new Ridge(p) },
] as Entry[]);

/** Finds an estimator by its class name or a short alias (case-insensitive). */
export function estimatorEntry(name: string): Entry {
  const key = name.toLowerCase();
  const e = ESTIMATORS.find((x) => x.name.toLowerCase() === key || x.aliases.includes(key));
  if (e === undefined) {
    throw new UsageError(
      `unknown estimator '${name}'`,
      `choose one of: ${ESTIMATORS.map((x) => `${x.aliases[0]} (${x.name})`).join(', ')}`,
      'UNKNOWN_ESTIMATOR',
    );
  }
  return e;
}

export function createEstimator(name: string, params: Record<string, unknown> = {}): Estimator {
  return estimatorEntry(name).create(params);
}
