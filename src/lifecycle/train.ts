import type { Database } from '../db/connection.js';
import { UsageError } from '../errors.js';
import { train, type TrainOptions, type TrainResult } from '../pipeline/train.js';
import { trainIncremental } from './incremental.js';
import { checkKeep, fullVersionKeeper } from './versions.js';

/**
 * A train with the lifecycle around it: the state it replaces is kept as a version (keep, default
 * 3), and with incremental (or changedSince) only the changed groups are refitted.
 */
export function trainWithLifecycle(db: Database, opts: TrainOptions, version: string): Promise<TrainResult> {
  if (opts.incremental === true || opts.changedSince !== undefined) return trainIncremental(db, opts, version);
  if (opts.vanished !== undefined) throw new UsageError('vanished applies to incremental runs only', 'add --incremental', 'INVALID_OPTION');
  const keep = checkKeep(opts.keep);
  return train(db, opts, version, {
    keeper: (dialect, plan) => fullVersionKeeper(dialect, keep, { distributeBy: plan.distributeBy ?? plan.group, colocateWith: plan.sourceTable }),
  });
}
