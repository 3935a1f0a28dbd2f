import { BinaryCopyEncoder } from '../copy/binary-encoder.js';
import type { BatchOutput, BatchResult, EncodeSpec, GroupBatch } from './batch.js';
import { emptyBatchResult, fitBatch } from './fit-batch.js';
import { tallyFailure } from './failure-tally.js';

/** The models table's columns after the group key, in the order encodeBatch writes them. */
export const MODEL_COLUMNS = ['model', 'status', 'error', 'n_rows', 'n_skipped', 'n_iter', 'converged', 'train_score', 'serialized_on', 'run_id', 'fingerprint', 'metrics'] as const;
export const MODEL_COLUMN_TYPES = ['jsonb', 'text', 'text', 'integer', 'integer', 'integer', 'boolean', 'double precision', 'timestamptz', 'uuid', 'text', 'jsonb'] as const;

/**
 * The columns of a models table (`names`: all of them, key first) that a run analyzes before its swap:
 * all but the model documents, whose statistics (whole documents compared as jsonb) plan no query
 * and cost most of an ANALYZE: 100k models on PGlite, 0.72 s of 0.75.
 */
export function statisticsColumns(names: readonly string[]): string[] {
  return names.filter((n) => n !== 'model');
}

/**
 * Fits a batch and encodes its rows of the models table as binary COPY data, so that the thread
 * that reads the database only has to pass bytes on. Pure: runs in a worker thread.
 */
export function fitAndEncodeBatch(batch: GroupBatch, spec: EncodeSpec): BatchOutput {
  return encodeBatch(batch, spec, fitBatch(batch, spec));
}

/** The output of a batch none of whose groups could be fitted, all for the same reason (a worker that kept crashing). */
export function failedBatchOutput(batch: GroupBatch, spec: EncodeSpec, reason: string): BatchOutput {
  return encodeBatch(batch, spec, emptyBatchResult(batch.count, reason));
}

/** The status column's two values, as framed fields. */
const STATUS_OK = framedFields((e) => e.text('ok'));
const STATUS_FAILED = framedFields((e) => e.text('failed'));

/** Fields written by `write`, framed, to be copied into many rows. */
function framedFields(write: (enc: BinaryCopyEncoder) => void): Uint8Array {
  const enc = new BinaryCopyEncoder(64);
  write(enc);
  return enc.bytes().slice();
}

function encodeBatch(batch: GroupBatch, spec: EncodeSpec, res: BatchResult): BatchOutput {
  const enc = new BinaryCopyEncoder(Math.max(1 << 12, batch.count * 512));
  // serialized_on, run_id and the fingerprint are the same in every row of the batch: encoded once
  const sameInEveryRow = framedFields((e) => {
    e.timestamptz(spec.serializedOn);
    e.uuid(spec.runId);
    // the group's rows' fingerprint: filled in SQL by incremental runs (lifecycle/fingerprint.ts)
    e.text(null);
  });
  const out: BatchOutput = { rows: new Uint8Array(0), groups: batch.count, ok: 0, failed: 0, notConverged: 0, rowsUsed: 0, rowsSkipped: 0, failures: {}, notes: {} };
  for (let g = 0; g < batch.count; g++) {
    const ok = res.ok[g] === 1;
    enc.beginRow(spec.keyFields + MODEL_COLUMNS.length);
    enc.framedRange(batch.keys, batch.keyStart[g], batch.keyStart[g + 1]);
    if (res.model.isNull(g)) enc.null();
    else enc.jsonbBytes(res.model.bytes, res.model.start[g], res.model.end[g]);
    enc.framed(ok ? STATUS_OK : STATUS_FAILED);
    enc.text(res.error[g]);
    enc.int4(batch.nRows[g]);
    enc.int4(batch.nSkipped[g]);
    enc.int4(res.nIter[g] >= 0 ? res.nIter[g] : null);
    enc.bool(res.converged[g] >= 0 ? res.converged[g] === 1 : null);
    enc.float8(Number.isNaN(res.trainScore[g]) ? null : res.trainScore[g]);
    enc.framed(sameInEveryRow);
    enc.jsonb(ok ? res.metrics[g] : null);
    out.rowsSkipped += batch.nSkipped[g];
    if (ok) {
      out.ok++;
      out.rowsUsed += batch.nRows[g];
      if (res.converged[g] === 0) out.notConverged++;
      if (res.error[g] !== null) tallyFailure(out.notes, res.error[g] as string);
    } else {
      out.failed++;
      tallyFailure(out.failures, res.error[g] as string);
    }
  }
  out.rows = enc.bytes();
  return out;
}

/** Counts a "CODE: message" reason under its code, keeping the first message as the example. */
