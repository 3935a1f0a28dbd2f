import { ManyModelsError } from '../errors.js';
import { checkFinite, type Label } from '../estimators/input.js';
import { encodeAgainst, PooledLogisticRegression } from '../estimators/pooling.js';
import { ModelJsonEncoder } from '../model-io/document.js';
import { setWarningHandler } from '../warnings.js';
import type { BatchResult, FitSpec, GroupBatch, PoolSpec } from './batch.js';
import { emptyBatchResult } from './fit-batch.js';

/**
 * fitBatch with partial pooling: every group's LogisticRegression is fitted with its penalty
 * centred on the global model (estimators/pooling.ts). A group that could not be fitted alone —
 * one class, fewer rows than minRows, or no usable row — still gets its (finite) model, with
 * status ok and a note in its error column: `POOLED: ...`. A group whose rows could not be read
 * (INVALID_GROUP) or whose feature count differs from the global model's fails as before.
 * Imports nothing from Node or the database.
 */
export function fitPooledBatch(batch: GroupBatch, spec: FitSpec, pool: PoolSpec): BatchResult {
  const n = batch.count;
  const res = emptyBatchResult(n, null);
  const params = { C: pool.C, interceptC: pool.interceptC, maxIter: spec.params.maxIter as number | undefined, tol: spec.params.tol as number | undefined };
  const est = new PooledLogisticRegression(pool.prior, params);
  const encoder = new ModelJsonEncoder(est, spec.features);
  const d = pool.prior.coef.length;
  const prev = setWarningHandler(() => undefined);
  try {
    for (let g = 0; g < n; g++) {
      try {
        if (batch.preError[g] !== null) throw new ManyModelsError('INVALID_GROUP', batch.preError[g] as string);
        const rows = batch.nRows[g];
        if (rows > 0 && batch.nFeatures[g] !== d) {
          throw new ManyModelsError('INVALID_GROUP', `the group has ${batch.nFeatures[g]} features, the global model ${d}: a pooled model needs the global model's features`);
        }
        const x = batch.x.subarray(batch.xStart[g], batch.xStart[g] + rows * d);
        // as without pooling: a NaN or infinite value fails its group alone (fitEncoded takes validated numbers)
        checkFinite(x, rows * d, d, 'X');
        const r0 = batch.rowStart[g];
        const y: readonly Label[] | Float64Array = batch.yNum !== null ? batch.yNum.subarray(r0, r0 + rows) : (batch.yText as string[]).slice(r0, r0 + rows);
        est.fitEncoded(x, rows, d, encodeAgainst(pool.prior.classes, y, rows));
        const state = est.pool_ as NonNullable<PooledLogisticRegression['pool_']>;
        state.chosenBy = pool.chosenBy;
        const why = rows === 0 ? 'has no usable row' : !state.alone ? `has one class only (${JSON.stringify(y[0])})` : rows < spec.minRows ? `has ${rows} usable row${rows === 1 ? '' : 's'}, fewer than the ${spec.minRows} needed to fit it alone` : null;
        if (why !== null) state.alone = false;
        res.trainScore[g] = rows > 0 ? est.accuracyFlat({ data: x, rows, cols: d }, y) : NaN;
        encoder.write(res.model, g, est);
        res.nIter[g] = est.nIter_;
        res.converged[g] = est.converged_ ? 1 : 0;
        res.ok[g] = 1;
        if (why !== null) res.error[g] = `POOLED: the group ${why}; its model is the global model pulled towards its rows (pooling strength C = ${pool.C})`;
      } catch (e) {
        res.error[g] = e instanceof ManyModelsError ? `${e.code}: ${e.message.split('\n')[0]}` : `INTERNAL: ${(e as Error)?.message ?? String(e)}`;
      }
    }
  } finally {
    setWarningHandler(prev);
  }
  return res;
}
