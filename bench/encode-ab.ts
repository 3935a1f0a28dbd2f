/**
 * Side-by-side CPU of fitting and encoding batches (exec/encode-batch.ts fitAndEncodeBatch, what
 * each worker thread runs) for two builds, alternated in one process: the same batches of
 * 4,096 groups of 10 rows × 2 features (the offers' shape), both builds taking turns, median
 * microseconds per group and the ratio B/A. Isolates the worker's work from the database.
 *
 *   node --import tsx bench/encode-ab.ts --a OLD_DIST --b dist [--rounds 15]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { datasets } from './fit-data.js';

function arg(name: string, def?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : process.argv[i + 1];
}
const rounds = Number(arg('rounds', '15'));
type Encode = (batch: unknown, spec: unknown) => { rows: Uint8Array; ok: number };
const load = async (dist: string): Promise<Encode> =>
  (await import(pathToFileURL(resolve(dist, 'exec/encode-batch.js')).href)).fitAndEncodeBatch as Encode;
const builds: [string, Encode][] = [['A', await load(arg('a') as string)], ['B', await load(arg('b') as string)]];

const G = 4096;
const data = datasets(G, 10, 2, 7);
const x = new Float64Array(G * 20);
const y = new Float64Array(G * 10);
const keys = new Uint8Array(G * 8);
const kv = new DataView(keys.buffer);
data.forEach((d, g) => {
  x.set(d.X, g * 20);
  y.set(d.y, g * 10);
  kv.setInt32(g * 8, 4);
  kv.setInt32(g * 8 + 4, g);
});
const batch = {
  count: G,
  x,
  xStart: Int32Array.from({ length: G }, (_, g) => g * 20),
  nRows: new Int32Array(G).fill(10),
  nFeatures: new Int32Array(G).fill(2),
  yNum: y,
  yText: null,
  rowStart: Int32Array.from({ length: G }, (_, g) => g * 10),
  nSkipped: new Int32Array(G),
  preError: new Array(G).fill(null),
  rowsRead: G * 10,
  keys,
  keyStart: Int32Array.from({ length: G + 1 }, (_, g) => g * 8),
};
const spec = { estimator: 'LogisticRegression', params: {}, minRows: 1, features: ['asktimes', 'askbackoffdays'], keyFields: 1, runId: '00000000-0000-4000-8000-000000000000', serializedOn: 1.7e12 };
const times: Record<string, number[]> = { A: [], B: [] };
const out: Record<string, Uint8Array> = {};
for (let r = -3; r < rounds; r++) {
  for (const [name, f] of r % 2 === 0 ? builds : [...builds].reverse()) {
    const t = performance.now();
    const o = f(batch, spec);
    const us = ((performance.now() - t) * 1000) / G;
    if (r >= 0) times[name].push(us);
    out[name] = o.rows;
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const same = Buffer.compare(Buffer.from(out.A), Buffer.from(out.B)) === 0;
console.log(`fit + encode, µs per group (median of ${rounds}): A ${med(times.A).toFixed(3)}, B ${med(times.B).toFixed(3)}, B/A ${(med(times.B) / med(times.A)).toFixed(3)}; the same bytes: ${same}`);
