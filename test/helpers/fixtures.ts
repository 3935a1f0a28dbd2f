import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

/**
 * The fixtures every test reads (one place): scikit-learn's answers, made by the Python scripts
 * beside them (never run by the tests), and the offer data of the integration tests.
 */
const json = (name: string): any => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));

export interface LogregCase {
  name: string;
  X: number[][];
  y: number[];
  params: { C: number; fit_intercept: boolean; penalty: 'l2' | null; max_iter: number; tol: number };
  classes: number[];
  coef: number[][];
  intercept: number[];
  predict_proba: number[][];
  Xtest: number[][];
  predict_proba_test: number[][];
  predict_proba_exact?: number[][];
  predict_proba_test_exact?: number[][];
  coef_exact?: number[][];
  intercept_exact?: number[];
  objective_exact?: number;
}

/** test/fixtures/sklearn_logreg.json: 42 LogisticRegression cases (38 binary with exact optima). */
export const logregFixture = json('sklearn_logreg.json') as { cases: LogregCase[] };

export interface RegressionCase {
  kind: 'linear' | 'ridge';
  name: string;
  X: number[][];
  y: number[];
  params: { fit_intercept: boolean; alpha?: number };
  sample_weight: number[] | null;
  Xtest: number[][];
  coef: number[];
  intercept: number;
  predict_test: number[];
  score: number;
  coef_exact?: number[];
  intercept_exact?: number;
  predict_test_exact?: number[];
}

export interface WeightedLogregCase {
  kind: 'logistic';
  name: string;
  X: number[][];
  y: number[];
  params: { C: number; fit_intercept: boolean; penalty: 'l2' | null; class_weight: null | 'balanced' | Record<string, number> };
  sample_weight: number[] | null;
  Xtest: number[][];
  classes: number[];
  coef: number[][];
  intercept: number[];
  predict_proba_test: number[][];
  coef_exact: number[][];
  intercept_exact: number[];
  objective_exact: number;
  predict_proba_test_exact: number[][];
}

/** test/fixtures/sklearn_more.json (make_sklearn_more.py): regressors, class weights, multinomial. */
export const moreFixture = json('sklearn_more.json') as { cases: (RegressionCase | WeightedLogregCase)[] };

export function maxAbsDiff(a: number[][], b: number[][]): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    assert.equal(a[i].length, b[i].length);
    for (let j = 0; j < a[i].length; j++) m = Math.max(m, Math.abs(a[i][j] - b[i][j]));
  }
  return m;
}
