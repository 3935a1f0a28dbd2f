import type { BatchResult, FitSpec, GroupBatch } from './batch.js';
import { fitBatch } from './fit-batch.js';

/** Fits batches of groups somewhere: in this thread, or in a pool of worker threads. */
export interface Fitter {
  /** How many batches it can usefully work on at once. */
  readonly parallelism: number;
  fit(batch: GroupBatch, spec: FitSpec): Promise<BatchResult>;
  close(): Promise<void>;
}

/** Fits in the calling thread. */
export class InlineFitter implements Fitter {
  readonly parallelism = 1;
  async fit(batch: GroupBatch, spec: FitSpec): Promise<BatchResult> {
    return fitBatch(batch, spec);
  }
  async close(): Promise<void> {}
}
