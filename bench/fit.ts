/**
 * Micro-benchmark of one LogisticRegression fit: the demo's shape (10 rows × 2 features) and a
 * larger one (200 rows × 10 features). Prints the median time per fit and, where
 * /usr/bin/python3 has scikit-learn, scikit-learn's median on the same data and the ratio.
 *
 *   node --import tsx bench/fit.ts
 */
import { execFileSync } from 'node:child_process';
import { LogisticRegression } from 'manymodels/core';
import { datasets } from './fit-data.js';

function medianMicros(n: number, d: number, reps: number): number {
  const data = datasets(256, n, d, n * 31 + d);
  const times: number[] = [];
  const batch = Math.max(1, Math.floor(2000 / (n * d)));
  // warm-up so the JIT has compiled the hot loops
  for (let i = 0; i < 2000; i++) new LogisticRegression().fit({ data: data[i % 256].X, rows: n, cols: d }, data[i % 256].y);
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    for (let b = 0; b < batch; b++) {
      const ds = data[(r * batch + b) % 256];
      new LogisticRegression().fit({ data: ds.X, rows: n, cols: d }, ds.y);
    }
    times.push(Number(process.hrtime.bigint() - t0) / 1e3 / batch);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function sklearnMicros(n: number, d: number): number | null {
  const py = `
import time, numpy as np
from sklearn.linear_model import LogisticRegression
rng = np.random.default_rng(${n * 31 + d})
sets = []
for c in range(64):
    X = rng.integers(1, 11, size=(${n}, ${d})).astype(float)
    w = rng.random(${d}) - 0.5
    y = (rng.random(${n}) < 1/(1+np.exp(-(X-5)@w))).astype(int); y[0]=0; y[1]=1
    sets.append((X, y))
for X, y in sets[:10]: LogisticRegression().fit(X, y)
ts = []
for r in range(200):
    X, y = sets[r % 64]
    t = time.perf_counter(); LogisticRegression().fit(X, y); ts.append(time.perf_counter() - t)
ts.sort(); print(ts[len(ts)//2] * 1e6)
`;
  try {
    return Number(execFileSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    return null;
  }
}

console.log('median time to fit one LogisticRegression (C=1, lbfgs objective), this machine:');
for (const [n, d, target] of [
  [10, 2, 3],
  [200, 10, 60],
] as const) {
  const ours = medianMicros(n, d, 301);
  const sk = sklearnMicros(n, d);
  const skText = sk === null ? 'scikit-learn: not installed (/usr/bin/python3 -c "import sklearn" failed)' : `scikit-learn ${sk.toFixed(1)} µs, ratio ${(sk / ours).toFixed(0)}×`;
  console.log(`  ${String(n).padStart(3)} rows × ${String(d).padStart(2)} features: manymodels ${ours.toFixed(2)} µs (target < ${target} µs)  ${skText}`);
}
