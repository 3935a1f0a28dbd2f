/**
 * Checks a run's evaluation and search options (train's cv, folds, holdout, seed, paramGrid,
 * scoring) before anything is read, and turns them into the EvaluationSpec the workers use.
 */
import { InvalidParameterError, UsageError } from '../errors.js';
import { snakeCase } from '../estimators/params.js';
import type { SplitSpec } from './folds.js';
import { CLASSIFIER_SCORINGS, type EvaluationSpec, expandGrid, REGRESSOR_SCORINGS, type Scoring } from './search.js';

export interface EvaluationOptions {
  /** Stratified K-fold inside each group (K-fold for regressors): K ≥ 2. */
  cv?: number;
  /** A numeric column of fold ids, as scikit-learn's PredefinedSplit: one fold per distinct value; −1 (or NULL) never held out. */
  folds?: string;
  /** Hold out this fraction (0 < F < 1) of each group's rows, stratified by class for classifiers. */
  holdout?: number;
  /** Seed of the cv and holdout splits (default 0): the same data and seed give the same folds. */
  seed?: number;
  /** Per-group grid search: the values to try, per estimator parameter (scikit-learn's names work too). */
  paramGrid?: Readonly<Record<string, readonly unknown[]>>;
  /** What the search maximises, scikit-learn's scorer names (default: accuracy for classifiers, r2 for regressors). */
  scoring?: Scoring;
}

const invalid = (message: string, hint?: string): UsageError => new UsageError(message, hint, 'INVALID_OPTION');

/**
 * The evaluation of a run, or null when none is asked for. `create` builds the estimator (it
 * validates each candidate's parameters); `known` lists its parameter names.
 */
export function evaluationSpec(
  opts: EvaluationOptions,
  kind: 'classifier' | 'regressor',
  known: readonly string[],
  create: (params: Record<string, unknown>) => unknown,
  params: Record<string, unknown>,
): EvaluationSpec | null {
  const given = (['cv', 'folds', 'holdout'] as const).filter((k) => opts[k] !== undefined);
  if (given.length > 1) throw invalid(`${given.join(' and ')} are given: choose one way to hold rows out`, 'cv K (K folds per group), folds COLUMN (your own fold ids) or holdout F (one held-out fraction)');
  if (given.length === 0) {
    for (const k of ['paramGrid', 'scoring', 'seed'] as const) {
      if (opts[k] !== undefined) throw invalid(`${k} needs held-out rows, and none are asked for`, 'add cv K, folds COLUMN or holdout F');
    }
    return null;
  }
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw invalid(`seed must be a whole number ≥ 0, got ${String(opts.seed)}`);
  let split: SplitSpec;
  if (opts.cv !== undefined) {
    if (!Number.isInteger(opts.cv) || opts.cv < 2) throw invalid(`cv must be a whole number of folds ≥ 2, got ${String(opts.cv)}`);
    split = { kind: 'cv', k: opts.cv, seed };
  } else if (opts.holdout !== undefined) {
    if (typeof opts.holdout !== 'number' || !(opts.holdout > 0 && opts.holdout < 1)) throw invalid(`holdout must be a fraction between 0 and 1 (exclusive), got ${String(opts.holdout)}`, 'for example holdout 0.2 holds out a fifth of each group');
    split = { kind: 'holdout', fraction: opts.holdout, seed };
  } else {
    if (typeof opts.folds !== 'string' || opts.folds.length === 0) throw invalid('folds must name a column of fold ids');
    if (opts.seed !== undefined) throw invalid('seed is given with folds: your fold column decides the folds, there is nothing to seed', 'drop seed, or use cv K');
    split = { kind: 'folds', column: opts.folds };
  }
  const allowed = kind === 'classifier' ? CLASSIFIER_SCORINGS : REGRESSOR_SCORINGS;
  const scoring = opts.scoring ?? (kind === 'classifier' ? 'accuracy' : 'r2');
  if (!allowed.includes(scoring)) throw invalid(`scoring ${JSON.stringify(opts.scoring)} does not apply to a ${kind}`, `use one of: ${allowed.join(', ')}`);
  let grid: Record<string, unknown>[] | null = null;
  if (opts.paramGrid !== undefined) {
    const pg = opts.paramGrid;
    if (pg === null || typeof pg !== 'object' || Array.isArray(pg) || Object.keys(pg).length === 0) throw invalid('paramGrid must name at least one parameter with its values', 'for example { C: [0.01, 0.1, 1, 10] }');
    const named: Record<string, unknown[]> = {};
    for (const [key, values] of Object.entries(pg)) {
      const name = known.includes(key) ? key : known.find((k) => snakeCase(k) === key);
      if (name === undefined) throw new InvalidParameterError(`paramGrid names '${key}', which is not a parameter of the estimator`, `its parameters are: ${known.map((k) => (snakeCase(k) === k ? k : `${k} (${snakeCase(k)})`)).join(', ')}`);
      if (name in named) throw invalid(`paramGrid gives '${name}' twice`);
      if (!Array.isArray(values) || values.length === 0) throw invalid(`paramGrid ${key} must be a non-empty list of values, got ${JSON.stringify(values)}`);
      named[name] = values;
    }
    grid = expandGrid(named);
    // every candidate is a valid estimator before anything is read
    for (const point of grid) create({ ...params, ...point });
  } else if (opts.scoring !== undefined) {
    throw invalid('scoring is given without paramGrid: there is no search to score', 'add paramGrid (--param-grid C=0.1,1,10); the evaluation stores every metric anyway');
  }
  return { split, grid, scoring };
}
