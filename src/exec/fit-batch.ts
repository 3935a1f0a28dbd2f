import { ManyModelsError } from '../errors.js';
import { r2Score } from '../estimators/linear-model.js';
import { LogisticRegression, SEPARATION_MESSAGE } from '../estimators/logistic-regression.js';
import { createEstimator } from '../estimators/registry.js';
import { featureNames, ModelJsonEncoder } from '../model-io/document.js';
import { JsonColumn } from '../model-io/json-column.js';
import { inferenceStats } from '../inference/stats.js';
import { groupInput } from '../preprocess/group-input.js';
import { expandedNames } from '../preprocess/transform.js';
import { setWarningHandler } from '../warnings.js';
import { GroupSearch } from '../evaluation/search.js';
import type { BatchResult, FitSpec, GroupBatch } from './batch.js';
import { fitPooledBatch } from './fit-pooled.js';

/**
 * Fits every group of a batch with the numerical core. A group that cannot be fitted gets its
 * reason; the others go on. Imports nothing from Node or the database: it runs as it is in a
 * worker thread.
 */
export function fitBatch(batch: GroupBatch, spec: FitSpec): BatchResult {
  if (spec.pool !== undefined) return fitPooledBatch(batch, spec, spec.pool);
  const n = batch.count;
  const res = emptyBatchResult(n, null);
  // one estimator fits every group of the batch: fit starts afresh each time
  const est = createEstimator(spec.estimator, spec.params);
  const encoder = new ModelJsonEncoder(est, spec.features);
  const search = spec.evaluation != null ? new GroupSearch(spec.estimator, spec.params, spec.evaluation, spec.features) : null;
  // non-convergence is recorded per group (converged = false), not printed
  const prev = setWarningHandler(() => undefined);
  try {
    for (let g = 0; g < n; g++) {
      try {
        if (batch.preError[g] !== null) throw new GroupError('INVALID_GROUP', batch.preError[g] as string);
        const rows = batch.nRows[g];
        if (rows < spec.minRows || rows === 0) {
          throw new GroupError('TOO_FEW_ROWS', `the group has ${rows} usable row${rows === 1 ? '' : 's'}; at least ${Math.max(1, spec.minRows)} ${spec.minRows === 1 ? 'is' : 'are'} needed`);
        }
        const d = batch.nFeatures[g];
        const r0 = batch.rowStart[g];
        const y = batch.yNum !== null ? batch.yNum.subarray(r0, r0 + rows) : (batch.yText as string[]).slice(r0, r0 + rows);
        // the rows as the estimator sees them (preprocessed when the run asks), and their weights
        const { m, w, preprocess } = groupInput(batch, g, spec);
        // with an evaluation (never with weights or preprocessing: refused when planned), the group is
        // fitted on its folds (and grid) first, then refitted on all its rows
        const evaluated = search?.run(m, y, batch.fold?.subarray(r0, r0 + rows) ?? null);
        const fitted = evaluated?.est ?? est.fit(m, y, w);
        // with sample weights, the weighted score (scikit-learn's score(X, y, sample_weight))
        res.trainScore[g] = fitted instanceof LogisticRegression ? (w === null ? fitted.accuracyFlat(m, y) : fitted.score(m, y, w)) : r2Score(y as Float64Array, fitted.predictFlat(m), w);
        const names = preprocess !== null ? expandedNames(preprocess) : spec.features === undefined ? undefined : featureNames(spec.features, d);
        const inference = spec.inference === true ? inferenceStats(fitted, m, y, names) : undefined;
        if (evaluated === undefined) encoder.write(res.model, g, fitted, inference, preprocess);
        else res.model.setText(g, (search as GroupSearch).json(evaluated, inference));
        if (evaluated !== undefined) res.metrics[g] = JSON.stringify(evaluated.evaluation);
        res.nIter[g] = fitted.nIter_ ?? -1;
        res.converged[g] = fitted.converged_ ? 1 : 0;
        res.ok[g] = 1;
        // a usable model, but its row says why its coefficients are not an optimum (or why it was not evaluated)
        if (fitted instanceof LogisticRegression && fitted.separated_) res.error[g] = `PERFECT_SEPARATION: ${SEPARATION_MESSAGE}`;
        else if (evaluated?.evaluation.reason !== undefined) res.error[g] = `NOT_EVALUATED: ${evaluated.evaluation.reason}`;
      } catch (e) {
        res.error[g] = e instanceof ManyModelsError ? `${e.code}: ${e.message.split('\n')[0]}` : `INTERNAL: ${(e as Error)?.message ?? String(e)}`;
      }
    }
  } finally {
    setWarningHandler(prev);
  }
  return res;
}

/** A result with every group failed for `reason` (or not yet fitted, for null). */
export function emptyBatchResult(n: number, reason: string | null): BatchResult {
  return {
    ok: new Uint8Array(n),
    model: new JsonColumn(n),
    error: new Array(n).fill(reason),
    nIter: new Int32Array(n).fill(-1),
    converged: new Int8Array(n).fill(-1),
    trainScore: new Float64Array(n).fill(NaN),
    metrics: new Array(n).fill(null),
  };
}

class GroupError extends ManyModelsError {}
