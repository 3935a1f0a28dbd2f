/**
 * The numerical core: estimators, losses, optimisers and model documents. It imports no Node
 * module and no database code, so it runs unchanged in a worker thread or a browser.
 */
export * from './errors.js';
export { LogisticRegression, type LogisticRegressionParams, type ClassWeight } from './estimators/logistic-regression.js';
export { LinearRegression, type LinearRegressionParams } from './estimators/linear-regression.js';
export { Ridge, type RidgeParams } from './estimators/ridge.js';
export { r2Score } from './estimators/linear-model.js';
export { type Matrix, type MatrixInput, type Label, type LabelInput, matrix, toMatrix } from './estimators/input.js';
export { ESTIMATORS, createEstimator, estimatorEntry, type Estimator, type EstimatorName, type EstimatorAlias, type EstimatorChoice, type EstimatorParams } from './estimators/registry.js';
export { encodeModel, decodeModel, ModelJsonEncoder, featureNames, MODEL_FORMAT, MODEL_VERSION, type ModelDocument, type ModelState, type DocumentExtras, type FeatureSpec } from './model-io/document.js';
export { coefficientNames } from './model-io/names.js';
export { inferenceStats, type InferenceStats } from './inference/stats.js';
export { normalCdf, normalTwoSided, studentTCdf, studentTTwoSided } from './inference/distributions.js';
export { decodePreprocess } from './preprocess/document.js';
export type { PreprocessDoc, PreprocessColumn, ImputeStrategy } from './preprocess/transform.js';
export { BinaryLogisticLoss } from './loss/binary-logistic.js';
export { MultinomialLogisticLoss } from './loss/multinomial-logistic.js';
export type { Objective } from './loss/objective.js';
export { newton } from './optim/newton.js';
export { lbfgs } from './optim/lbfgs.js';
export type { MinimizeResult } from './optim/result.js';
export { setWarningHandler, WARNING_CODES, type CoreWarning, type WarningCode } from './warnings.js';
export {
  PooledLogisticRegression,
  SharedCSearch,
  fitPooled,
  pooledModel,
  priorOf,
  foldAssignment,
  encodeAgainst,
  DEFAULT_POOL_GRID,
  type PoolPrior,
  type PoolChoice,
  type PoolState,
  type PoolGroup,
  type PooledParams,
  type SharedCSearchOptions,
  type FitPooledOptions,
  type FitPooledResult,
} from './estimators/pooling.js';
export { PriorCentredObjective } from './loss/prior-centred.js';
export { GroupSearch, expandGrid, type EvaluationSpec, type Evaluation, type SearchRecord, type GroupSearchResult, type Scoring } from './evaluation/search.js';
export { assignFolds, type SplitSpec, type FoldAssignment } from './evaluation/folds.js';
export { logLoss, rocAuc, brier, accuracy, regressionMetrics, CLASSIFICATION_METRICS, REGRESSION_METRICS, type MetricName } from './evaluation/metrics.js';
