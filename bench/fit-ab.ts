/**
 * bench:fit's two fits, timed for two builds side by side in one process: each round times one
 * batch of fits with the first build, then one with the second, so both see the same machine load.
 * Prints each build's median and the ratio (first / second: above 1 means the second is faster).
 *
 *   node --import tsx bench/fit-ab.ts <checkout-before> <checkout-after>
 *
 * Each argument is a directory holding a built dist/ (npx tsc -p tsconfig.json), e.g. a copy of
 * dist/ and package.json taken before a change.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { datasets } from './fit-data.js';

type Fit = new () => { fit(X: { data: Float64Array; rows: number; cols: number }, y: Float64Array): unknown };


const dirs = process.argv.slice(2);
if (dirs.length !== 2) {
  console.error('usage: node --import tsx bench/fit-ab.ts <checkout-before> <checkout-after>');
  process.exit(2);
}
const builds: Fit[] = [];
for (const dir of dirs) builds.push((await import(pathToFileURL(resolve(dir, 'dist/core.js')).href)).LogisticRegression);

for (const [n, d] of [
  [10, 2],
  [200, 10],
] as const) {
  const data = datasets(256, n, d, n * 31 + d);
  const batch = Math.max(1, Math.floor(2000 / (n * d)));
  for (const L of builds) for (let i = 0; i < 3000; i++) new L().fit({ data: data[i % 256].X, rows: n, cols: d }, data[i % 256].y);
  const times: number[][] = builds.map(() => []);
  for (let r = 0; r < 2001; r++) {
    builds.forEach((L, k) => {
      const t0 = process.hrtime.bigint();
      for (let b = 0; b < batch; b++) {
        const ds = data[(r * batch + b) % 256];
        new L().fit({ data: ds.X, rows: n, cols: d }, ds.y);
      }
      times[k].push(Number(process.hrtime.bigint() - t0) / 1e3 / batch);
    });
  }
  const med = times.map((t) => t.sort((a, b) => a - b)[t.length >> 1]);
  console.log(
    `${String(n).padStart(3)} rows × ${String(d).padStart(2)} features: ${dirs[0]} ${med[0].toFixed(2)} µs, ${dirs[1]} ${med[1].toFixed(2)} µs, ratio ${(med[0] / med[1]).toFixed(2)}`,
  );
}
