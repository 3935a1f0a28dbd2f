import type { BatchOutput, EncodeSpec, GroupBatch } from './batch.js';
import { fitAndEncodeBatch } from './encode-batch.js';

/** Fits batches of groups somewhere: in this thread, or in a pool of worker threads. */
export interface Fitter {
  /** How many batches it can usefully work on at once. */
  readonly parallelism: number;
  fit(batch: GroupBatch, spec: EncodeSpec): Promise<BatchOutput>;
  close(): Promise<void>;
}

/** Fits in the calling thread. */
export class InlineFitter implements Fitter {
  readonly parallelism = 1;
  async fit(batch: GroupBatch, spec: EncodeSpec): Promise<BatchOutput> {
    return fitAndEncodeBatch(batch, spec);
  }
  async close(): Promise<void> {}
}
