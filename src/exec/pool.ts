import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BatchOutput, EncodeSpec, GroupBatch } from './batch.js';
import { failedBatchOutput, fitAndEncodeBatch } from './encode-batch.js';
import type { Fitter } from './fitter.js';

interface Task {
  id: number;
  batch: GroupBatch;
  spec: EncodeSpec;
  attempts: number;
  resolve: (o: BatchOutput) => void;
}

interface Slot {
  worker: Worker;
  task: Task | null;
}

/** The worker entry next to this file: .js when built, .ts when run from source with tsx. */
function workerUrl(): { url: URL; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) return { url: new URL('./worker.ts', here), execArgv: ['--import', 'tsx'] };
  return { url: new URL('./worker.js', here), execArgv: [] };
}

/** The default pool size: every core (the reading thread mostly waits on the database). */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(16, availableParallelism()));
}

/**
 * A pool of worker threads fitting batches of groups. Batches queue and go to the first idle
 * worker, one message per batch; their numbers are in SharedArrayBuffers (not copied), the
 * encoded rows come back transferred. A worker that dies takes only its batch down: the batch is
 * retried once on a new worker, and if that one dies too every group of the batch is written as
 * failed with the reason, while the rest of the run goes on.
 */
export class WorkerPool implements Fitter {
  readonly parallelism: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;

  constructor(size = defaultWorkers()) {
    this.parallelism = size;
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const { url, execArgv } = workerUrl();
    const worker = new Worker(url, { execArgv });
    const slot: Slot = { worker, task: null };
    worker.on('message', (msg: { id: number; out: BatchOutput }) => {
      const t = slot.task;
      if (t === null || t.id !== msg.id) return;
      slot.task = null;
      t.resolve(msg.out);
      this.pump();
    });
    const died = (why: string): void => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return;
      const t = slot.task;
      slot.task = null;
      if (this.closed) return;
      this.slots[i] = this.spawn();
      if (t !== null) {
        t.attempts++;
        if (t.attempts < 2) this.queue.unshift(t);
        else t.resolve(failedBatchOutput(t.batch, t.spec, `WORKER_CRASHED: the worker thread fitting this group's batch died twice (${why})`));
      }
      this.pump();
    };
    worker.on('error', (e) => died(e.message));
    worker.on('exit', (code) => died(`exit code ${code}`));
    worker.unref();
    return slot;
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.task !== null) continue;
      const t = this.queue.shift();
      if (t === undefined) return;
      slot.task = t;
      slot.worker.ref();
      slot.worker.postMessage({ id: t.id, batch: t.batch, spec: t.spec, attempt: t.attempts });
    }
    for (const slot of this.slots) if (slot.task === null) slot.worker.unref();
  }

  fit(batch: GroupBatch, spec: EncodeSpec): Promise<BatchOutput> {
    if (this.closed) return Promise.resolve(fitAndEncodeBatch(batch, spec));
    return new Promise((resolve) => {
      this.queue.push({ id: this.nextId++, batch, spec, attempts: 0, resolve });
      this.pump();
    });
  }

  /** Kills the worker running a batch (for fault-injection tests). */
  crashOne(): boolean {
    const slot = this.slots.find((s) => s.task !== null);
    if (slot === undefined) return false;
    void slot.worker.terminate();
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}

/**
 * Fits the first batch in this thread and starts the pool only when a second batch comes: a
 * small job (the demo's two groups) never pays for starting threads.
 */
export class AutoFitter implements Fitter {
  private pool: WorkerPool | null = null;
  private batches = 0;
  constructor(private readonly workers = defaultWorkers()) {}

  get parallelism(): number {
    return this.workers;
  }

  fit(batch: GroupBatch, spec: EncodeSpec): Promise<BatchOutput> {
    this.batches++;
    if (this.batches === 1 || this.workers <= 0) return Promise.resolve(fitAndEncodeBatch(batch, spec));
    if (this.pool === null) this.pool = new WorkerPool(this.workers);
    return this.pool.fit(batch, spec);
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }
}
