import { parentPort } from 'node:worker_threads';
import type { EncodeSpec, GroupBatch } from './batch.js';
import { fitAndEncodeBatch } from './encode-batch.js';

/** The worker thread: fits the batches it is sent and sends back their encoded rows, transferred. */
if (parentPort === null) throw new Error('exec/worker.js runs as a worker thread');
const port = parentPort;
port.on('message', (msg: { id: number; batch: GroupBatch; spec: EncodeSpec }) => {
  const out = fitAndEncodeBatch(msg.batch, msg.spec);
  port.postMessage({ id: msg.id, out }, [out.rows.buffer as ArrayBuffer]);
});
