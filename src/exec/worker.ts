import { parentPort } from 'node:worker_threads';
import type { EncodeSpec, GroupBatch } from './batch.js';
import { fitAndEncodeBatch } from './encode-batch.js';

/** The worker thread: fits the batches it is sent and sends back their encoded rows, transferred. */
if (parentPort === null) throw new Error('exec/worker.js runs as a worker thread');
const port = parentPort;
// Fault injection for the tests: MANYMODELS_FAULT_WORKER=crash-first-attempt makes a worker die
// on a batch's first attempt (the retry succeeds), crash-always on every attempt.
const fault = process.env.MANYMODELS_FAULT_WORKER;
port.on('message', (msg: { id: number; batch: GroupBatch; spec: EncodeSpec; attempt: number }) => {
  if (fault === 'crash-always' || (fault === 'crash-first-attempt' && msg.attempt === 0)) process.exit(70);
  const out = fitAndEncodeBatch(msg.batch, msg.spec);
  port.postMessage({ id: msg.id, out }, [out.rows.buffer as ArrayBuffer]);
});
