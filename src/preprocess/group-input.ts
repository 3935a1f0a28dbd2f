import type { Matrix } from '../estimators/input.js';
import type { FitSpec, GroupBatch } from '../exec/batch.js';
import { fitTransform, type PreprocessDoc, planTransforms } from './transform.js';

/**
 * One group's input to its estimator: the batch's rows (raw, or through the preprocessing the run
 * asks for, fitted on this group), its sample weights, and the preprocessing to store with the model.
 */
export function groupInput(batch: GroupBatch, g: number, spec: FitSpec): { m: Matrix; w: Float64Array | null; preprocess: PreprocessDoc | null } {
  const rows = batch.nRows[g];
  const d = batch.nFeatures[g];
  const data = batch.x.subarray(batch.xStart[g], batch.xStart[g] + rows * d);
  const r0 = batch.rowStart[g];
  const w = batch.w != null ? batch.w.subarray(r0, r0 + rows) : null;
  const plan = spec.preprocess;
  if (plan == null || !planTransforms(plan)) return { m: { data, rows, cols: d }, w, preprocess: null };
  const { m, doc } = fitTransform(plan, data, rows, batch.strings ?? null);
  return { m, w, preprocess: doc };
}
