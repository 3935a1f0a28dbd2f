/**
 * The synthetic datasets of the fit benchmarks (bench/fit.ts, bench/fit-ab.ts): integer features in 1..10,
 * labels drawn from a random logistic model, both classes present. Deterministic for a seed.
 */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Many datasets of one shape, so the benchmark does not refit the same numbers. */
export function datasets(count: number, n: number, d: number, seed: number): { X: Float64Array; y: Float64Array }[] {
  const r = rng(seed);
  const out = [];
  for (let c = 0; c < count; c++) {
    const X = new Float64Array(n * d).map(() => Math.floor(1 + r() * 10));
    const w = Array.from({ length: d }, () => r() - 0.5);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let z = 0;
      for (let j = 0; j < d; j++) z += w[j] * (X[i * d + j] - 5);
      y[i] = r() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    }
    y[0] = 0;
    y[1] = 1; // both classes always present
    out.push({ X, y });
  }
  return out;
}
