/**
 * Partial pooling on a simulated hierarchy (issue 14, item 3): per-group coefficients drawn around
 * a shared mean, 5–20 training rows per group, 200 held-out rows per group from the same model.
 * Prints the mean held-out log loss (per held-out row) of
 *
 *   - per-group models fitted alone (LogisticRegression, C = 1; a group of one class cannot be
 *     fitted alone and is scored by the global model, counted in the table),
 *   - the one global model (all training rows),
 *   - pooled models with C = 1,
 *   - pooled models with C chosen per group by 5-fold CV on the group's own rows,
 *   - pooled models with one C for all groups, chosen by 5-fold CV summed over all groups (the default),
 *
 * for several seeds. Nothing here is timed against a target; the fitting time is printed.
 *
 *   node --import tsx bench/pooling.ts [--groups 2000] [--features 3] [--seeds 3] [--spread 1] [--pipeline 100000]
 *
 * --pipeline N also trains N simulated groups through the pipeline on PGlite, with and without
 * --pool global, and prints the seconds and peak RSS of each (--seeds 0 runs that alone).
 */
import { LogisticRegression, PooledLogisticRegression, SharedCSearch, encodeAgainst, fitPooled, pooledModel, priorOf } from '../src/core.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
}

interface Group {
  X: number[][];
  y: number[];
  testX: number[][];
  testY: number[];
}

/** Group g: w_g ~ N(mean, spread²·I), b_g ~ N(−0.5, (spread/2)²), x ~ N(0, I), y ~ Bernoulli(σ(b_g + x·w_g)). */
function simulate(seed: number, groups: number, d: number, spread: number, testRows = 200): Group[] {
  const r = rng(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(r())) * Math.cos(2 * Math.PI * r());
  const mean = Array.from({ length: d }, (_, j) => [1, -1, 0.5, -0.5, 0.25][j % 5]);
  const out: Group[] = [];
  for (let g = 0; g < groups; g++) {
    const w = mean.map((m) => m + spread * gauss());
    const b = -0.5 + (spread / 2) * gauss();
    const draw = (n: number): { X: number[][]; y: number[] } => {
      const X = Array.from({ length: n }, () => w.map(() => gauss()));
      return { X, y: X.map((x) => (r() < 1 / (1 + Math.exp(-(b + x.reduce((s, v, j) => s + v * w[j], 0)))) ? 1 : 0)) };
    };
    const tr = draw(5 + Math.floor(r() * 16));
    const te = draw(testRows);
    out.push({ X: tr.X, y: tr.y, testX: te.X, testY: te.y });
  }
  return out;
}

/** Σ −log p(y) over a group's held-out rows. */
function heldOut(m: LogisticRegression, g: Group): number {
  const p = m.predictProba(g.testX);
  let s = 0;
  for (let i = 0; i < g.testY.length; i++) s -= Math.log(Math.max(1e-300, p[i][m.classes_.indexOf(g.testY[i])]));
  return s;
}

const G = arg('groups', 2000);
const D = arg('features', 3);
const SEEDS = arg('seeds', 3);
const SPREAD = arg('spread', 1);
if (SEEDS > 0) console.log(`partial pooling: ${G} groups, ${D} features, 5–20 training rows and 200 held-out rows per group, coefficient spread ${SPREAD}`);
const rows: Record<string, number[]> = { alone: [], global: [], c1: [], perGroup: [], shared: [] };
const notes: string[] = [];
for (let seed = 1; seed <= SEEDS; seed++) {
  const data = simulate(seed * 7919, G, D, SPREAD);
  const nTest = data.reduce((s, g) => s + g.testY.length, 0);
  const t0 = performance.now();
  const res = fitPooled(data.map((g) => ({ X: g.X, y: g.y })));
  const secs = (performance.now() - t0) / 1000;
  const prior = priorOf(res.global);
  let alone = 0;
  let oneClass = 0;
  let global = 0;
  let c1 = 0;
  let perGroup = 0;
  let shared = 0;
  for (let gi = 0; gi < data.length; gi++) {
    const g = data[gi];
    global += heldOut(res.global, g);
    shared += heldOut(res.models[gi], g);
    c1 += heldOut(new PooledLogisticRegression(prior, { C: 1 }).fit(g.X, g.y), g);
    if (new Set(g.y).size < 2) {
      oneClass++;
      alone += heldOut(res.global, g);
    } else {
      alone += heldOut(new LogisticRegression({ C: 1 }).fit(g.X, g.y), g);
    }
    // C chosen on the group's own folds only
    const own = new SharedCSearch(prior, { folds: 5 });
    own.add({ x: Float64Array.from(g.X.flat()), rows: g.X.length, cols: D, y01: encodeAgainst(prior.classes, g.y, g.X.length) });
    perGroup += heldOut(pooledModel(prior, own.result()).fit(g.X, g.y), g);
  }
  rows.alone.push(alone / nTest);
  rows.global.push(global / nTest);
  rows.c1.push(c1 / nTest);
  rows.perGroup.push(perGroup / nTest);
  rows.shared.push(shared / nTest);
  notes.push(`seed ${seed}: shared C chosen = ${res.choice.C.toPrecision(3)} (CV over ${res.choice.groups} groups, ${res.choice.rows} rows); ${oneClass} one-class groups; fitPooled (global + CV over 25 C + ${G} pooled fits) took ${secs.toFixed(2)} s`);
}
const f = (v: number[]): string => v.map((x) => x.toFixed(3)).join(' / ');
if (SEEDS > 0) {
  console.log(`\n| held-out log loss (seeds ${Array.from({ length: SEEDS }, (_, i) => i + 1).join(' / ')}) | ${G} groups, ${D} features |`);
  console.log('| --- | --- |');
  console.log(`| per-group models alone (C = 1; one-class groups scored by the global model) | ${f(rows.alone)} |`);
  console.log(`| one global model | ${f(rows.global)} |`);
  console.log(`| pooled, C = 1 | ${f(rows.c1)} |`);
  console.log(`| pooled, C chosen per group by 5-fold CV | ${f(rows.perGroup)} |`);
  console.log(`| pooled, one C for all groups by 5-fold CV summed over all groups (the default) | ${f(rows.shared)} |`);
  console.log('');
  for (const n of notes) console.log(n);
}

// --pipeline N: the same simulation, N groups, trained through the pipeline on embedded PGlite, pooled
// (C by CV) and not, side by side in one run: seconds and the process's peak RSS.
const PIPE = arg('pipeline', 0);
if (PIPE > 0) {
  const { open } = await import('../src/index.js');
  const data = simulate(4242, PIPE, D, SPREAD, 0);
  const db = await open();
  const cols = Array.from({ length: D }, (_, j) => `x${j + 1}`);
  await db.exec(`CREATE TABLE sim (g int, ${cols.map((c) => `${c} float8`).join(', ')}, y int)`);
  for (let start = 0; start < data.length; start += 2000) {
    const values: string[] = [];
    data.slice(start, start + 2000).forEach((g, k) => g.X.forEach((x, i) => values.push(`(${start + k}, ${x.join(', ')}, ${g.y[i]})`)));
    await db.exec(`INSERT INTO sim VALUES ${values.join(', ')}`);
  }
  const rows = data.reduce((s, g) => s + g.X.length, 0);
  const t0 = performance.now();
  await db.train({ from: 'sim', group: 'g', features: cols, label: 'y', into: 'plain' });
  const t1 = performance.now();
  const rss1 = process.resourceUsage().maxRSS / 1024;
  const res = await db.train({ from: 'sim', group: 'g', features: cols, label: 'y', into: 'pooled', pool: 'global' });
  const t2 = performance.now();
  const rss2 = process.resourceUsage().maxRSS / 1024;
  const { loadavg } = await import('node:os');
  console.log(`\npipeline on PGlite (in memory), ${PIPE} groups, ${rows} rows, ${D} features (load average ${loadavg()[0].toFixed(1)}):`);
  console.log(`| train | seconds | peak RSS so far |`);
  console.log(`| --- | --- | --- |`);
  console.log(`| per-group models (default) | ${((t1 - t0) / 1000).toFixed(2)} | ${rss1.toFixed(0)} MiB |`);
  console.log(`| --pool global (C by 5-fold CV over ${res.pool?.groups} groups: C = ${res.pool?.C.toPrecision(3)}) | ${((t2 - t1) / 1000).toFixed(2)} | ${rss2.toFixed(0)} MiB |`);
  await db.close();
}
