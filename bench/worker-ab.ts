/**
 * Side-by-side CPU of one worker's job, fitAndEncodeBatch on synthetic 4000-group batches (10 rows
 * × 2 features, the offer benchmark's shape), for two builds of manymodels alternated in one
 * process; fitBatch alone (the fit and the model document's text) is timed beside it for B.
 *
 *   node --import tsx bench/worker-ab.ts --a OLD_DIST --b dist [--rounds 12]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EncodeSpec, GroupBatch } from '../src/exec/batch.js';

function arg(name: string, def?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : process.argv[i + 1];
}

type Job = (batch: GroupBatch, spec: EncodeSpec) => unknown;
const load = async (dist: string, file: string, name: string): Promise<Job> => (await import(pathToFileURL(resolve(dist, file)).href))[name] as Job;
const A = await load(arg('a') as string, 'exec/encode-batch.js', 'fitAndEncodeBatch');
const B = await load(arg('b', 'dist') as string, 'exec/encode-batch.js', 'fitAndEncodeBatch');
const fitB = await load(arg('b', 'dist') as string, 'exec/fit-batch.js', 'fitBatch');

const G = 4000;
const R = 10;
const D = 2;
function batch(seed: number): GroupBatch {
  let s = seed;
  const r = (): number => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const x = new Float64Array(G * R * D);
  const y = new Float64Array(G * R);
  for (let i = 0; i < G * R; i++) {
    x[2 * i] = 1 + Math.floor(r() * 10);
    x[2 * i + 1] = 1 + Math.floor(r() * 14);
    y[i] = r() < 0.4 ? 1 : 0;
  }
  for (let g = 0; g < G; g++) {
    y[g * R] = 0;
    y[g * R + 1] = 1;
  }
  // int4 keys, framed as a COPY out gives them
  const keys = new Uint8Array(G * 8);
  const dv = new DataView(keys.buffer);
  for (let g = 0; g < G; g++) {
    dv.setInt32(g * 8, 4);
    dv.setInt32(g * 8 + 4, g);
  }
  const offsets = (step: number): Int32Array => Int32Array.from({ length: G + 1 }, (_, g) => g * step);
  return {
    count: G,
    x,
    xStart: offsets(R * D),
    nRows: new Int32Array(G).fill(R),
    nFeatures: new Int32Array(G).fill(D),
    yNum: y,
    yText: null,
    rowStart: offsets(R),
    nSkipped: new Int32Array(G),
    preError: new Array(G).fill(null),
    rowsRead: G * R,
    keys,
    keyStart: offsets(8),
  };
}
const spec: EncodeSpec = { estimator: 'LogisticRegression', params: {}, features: ['asktimes', 'askbackoffdays'], minRows: 1, keyFields: 1, runId: '0b5e2f4c-8a61-4d6e-9f3a-2c7d1e0a9b84', serializedOn: Date.now() };
const batches = Array.from({ length: 8 }, (_, i) => batch(i + 1));
for (let i = 0; i < 10; i++) {
  A(batches[i % 8], spec);
  B(batches[i % 8], spec);
}
let k = 0;
const cpu = (f: Job, reps: number): number => {
  const c = process.cpuUsage();
  for (let i = 0; i < reps; i++) f(batches[k++ % 8], spec);
  const d = process.cpuUsage(c);
  return (d.user + d.system) / (reps * G);
};
const res: Record<'A' | 'B' | 'fitB', number[]> = { A: [], B: [], fitB: [] };
const rounds = Number(arg('rounds', '12'));
for (let r = 0; r < rounds; r++) {
  res.A.push(cpu(A, 10));
  res.B.push(cpu(B, 10));
  res.fitB.push(cpu(fitB, 10));
}
const med = (x: number[]): number => x.slice().sort((p, q) => p - q)[x.length >> 1];
console.log(`fit+encode CPU per group (µs, median of ${rounds} alternated rounds): A ${med(res.A).toFixed(2)}, B ${med(res.B).toFixed(2)}, B/A ${(med(res.B) / med(res.A)).toFixed(3)}; B's fitBatch alone ${med(res.fitB).toFixed(2)}`);
