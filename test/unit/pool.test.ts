import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BatchOutput, EncodeSpec, GroupBatch } from '../../dist/exec/batch.js';
import { fitAndEncodeBatch } from '../../dist/exec/encode-batch.js';
import { WorkerPool } from '../../dist/exec/pool.js';
import { BinaryCopyDecoder } from '../../dist/copy/binary-decoder.js';
import { BinaryCopyEncoder } from '../../dist/copy/binary-encoder.js';
import { GroupCutter } from '../../dist/pipeline/group-cutter.js';
import { LogisticRegression, decodeModel } from 'manymodels';
import { rng } from '../helpers/random.js';

/**
 * The worker pool: batches fitted in worker threads come back as the same bytes as fitted in this
 * thread, each to its own caller whatever the order they finish in, and with the models the core
 * fits on the same rows; a worker killed mid-batch costs nothing (the batch is retried).
 */
const HEADER = new Uint8Array([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
const SPEC: EncodeSpec = { estimator: 'LogisticRegression', params: {}, minRows: 1, keyFields: 1, runId: '00000000-0000-4000-8000-000000000001', serializedOn: 1_700_000_000_000 };

/** `groups` groups of 5–30 rows (int4 key, two features, a 0/1 label), cut into batches of `per` groups. */
function batches(seed: number, groups: number, per: number): { batches: GroupBatch[]; rows: Map<number, { X: number[][]; y: number[] }> } {
  const r = rng(seed);
  const e = new BinaryCopyEncoder();
  const rows = new Map<number, { X: number[][]; y: number[] }>();
  for (let g = 1; g <= groups; g++) {
    const n = 5 + Math.floor(r() * 26);
    const data = { X: [] as number[][], y: [] as number[] };
    for (let i = 0; i < n; i++) {
      const x = [Math.round(r() * 100) / 10, Math.round(r() * 50) / 10];
      const y = i < 2 ? i : r() < 1 / (1 + Math.exp(-(x[0] - x[1] - 2))) ? 1 : 0;
      data.X.push(x);
      data.y.push(y);
    }
    data.X.forEach((x, i) => {
      // the pipeline's row: key, features, label, and the size of the row's group (int8)
      e.beginRow(5);
      e.int4(g);
      e.float8(x[0]);
      e.float8(x[1]);
      e.float8(data.y[i]);
      e.int8(n);
    });
    rows.set(g, data);
  }
  const body = e.bytes();
  const stream = new Uint8Array(HEADER.length + body.length + 2);
  stream.set(HEADER);
  stream.set(body, HEADER.length);
  stream.set([0xff, 0xff], HEADER.length + body.length);
  const cutter = new GroupCutter({ keyFields: 1, features: { kind: 'columns', count: 2 }, label: 'number' }, { maxGroupRows: 1000, batchGroups: per, batchNumbers: 1 << 18 });
  const d = new BinaryCopyDecoder(5);
  d.feed(stream, cutter.onRow);
  d.finish();
  cutter.finish();
  return { batches: cutter.takeReady(), rows };
}

const same = (a: BatchOutput, b: BatchOutput) => {
  assert.deepEqual(Buffer.from(a.rows), Buffer.from(b.rows));
  assert.deepEqual({ ...a, rows: null }, { ...b, rows: null });
};

describe('the worker pool', () => {
  it('fits 30 batches on 2 workers into the bytes this thread writes, each to its caller', async () => {
    const { batches: bs, rows } = batches(17, 300, 10);
    assert.equal(bs.length, 30);
    const inline = bs.map((b) => fitAndEncodeBatch(b, SPEC));
    const pool = new WorkerPool(2);
    try {
      const pooled = await Promise.all(bs.map((b) => pool.fit(b, SPEC)));
      pooled.forEach((p, k) => same(p, inline[k]));
      assert.equal(pooled.reduce((s, p) => s + p.ok, 0), 300);
    } finally {
      await pool.close();
    }
    // and the models written are the core's fit of each group's rows: group 121 opens batch 12
    const text = Buffer.from(inline[12].rows).toString('latin1');
    const doc = JSON.parse(text.slice(text.indexOf('{"format"'), text.indexOf('}}', text.indexOf('{"format"')) + 2));
    // (on the group's rows in the order the reader fits them: by features, then label)
    const g = rows.get(121)!;
    const order = g.y.map((_, i) => i).sort((a, b) => g.X[a][0] - g.X[b][0] || g.X[a][1] - g.X[b][1] || g.y[a] - g.y[b]);
    const direct = new LogisticRegression().fit(order.map((i) => g.X[i]), order.map((i) => g.y[i]));
    assert.deepEqual((decodeModel(doc) as LogisticRegression).coef_, direct.coef_);
  });

  it('retries the batch of a worker killed mid-batch, and the output is unchanged', async () => {
    const { batches: bs } = batches(23, 200, 20);
    const inline = bs.map((b) => fitAndEncodeBatch(b, SPEC));
    const pool = new WorkerPool(2);
    try {
      const pending = bs.map((b) => pool.fit(b, SPEC));
      assert.equal(pool.crashOne(), true, 'a worker was busy and was killed');
      const pooled = await Promise.all(pending);
      pooled.forEach((p, k) => same(p, inline[k]));
      assert.equal(pooled.reduce((s, p) => s + p.failed, 0), 0);
    } finally {
      await pool.close();
    }
  });
});
