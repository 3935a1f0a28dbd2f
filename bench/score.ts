/**
 * In-process scoring (issue 13, item 3; target ≤ 1 µs per binary score of a loaded model): trains
 * one LogisticRegression per user on synthetic offers in an in-memory PGlite, loads the models
 * table with db.loadModels, and prints the load time, the median time per predictProba call (a
 * random user's model, number keys and text keys), per row of predictProbaBatch, and the same for
 * a bounded scorer holding a tenth of the models, after its cache is warm. Times are the process's CPU
 * time (process.cpuUsage), so that other work on a shared machine does not count.
 *
 *   npm run bench:score [-- --users 100000]
 */
// the built package (npm run build): the training's worker threads load dist/exec/worker.js
import { open } from '../dist/index.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : process.argv[i + 1];
}

const users = Number(arg('users', '100000'));
const db = await open();
await db.exec(`SELECT setseed(0.42)`);
await db.exec(`CREATE TABLE offer AS
  SELECT u AS userid, a AS asktimes, b AS askbackoffdays,
         CASE WHEN i = 1 THEN 0 WHEN i = 2 THEN 1 ELSE (random() < 1 / (1 + exp(-(0.4 * a - 0.15 * b - 0.5))))::int END AS bought_offer
  FROM generate_series(1, ${users}) AS u, generate_series(1, 10) AS i,
       LATERAL (SELECT 1 + floor(random() * 10)::int + 0 * u AS a, 1 + floor(random() * 14)::int + 0 * i AS b) AS r`);
let t = performance.now();
const trained = await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'models' });
console.log(`trained ${trained.groupsOk} models in ${((performance.now() - t) / 1000).toFixed(1)} s`);

t = performance.now();
const rss0 = process.memoryUsage().heapUsed;
const scorer = await db.loadModels('models');
console.log(`loadModels: ${scorer.size} models in ${((performance.now() - t) / 1000).toFixed(2)} s (heap +${((process.memoryUsage().heapUsed - rss0) / 2 ** 20).toFixed(0)} MiB)`);

const N = 1 << 16;
const keys = new Array<number>(N);
const texts = new Array<string>(N);
const xs: Float64Array[] = new Array(N);
let s = 12345;
const rand = (): number => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
for (let i = 0; i < N; i++) {
  keys[i] = 1 + Math.floor(rand() * users);
  texts[i] = String(keys[i]);
  xs[i] = Float64Array.of(1 + Math.floor(rand() * 10), 1 + Math.floor(rand() * 14));
}

/** CPU time of this process in ns (on a shared machine, wall time also counts other processes' turns). */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/** Median over `reps` timings of `N` calls, in CPU ns per call. */
function perCall(f: (i: number) => unknown, reps = 41): number {
  let sink = 0;
  const times: number[] = [];
  for (let r = -5; r < reps; r++) {
    const t0 = cpuNs();
    for (let i = 0; i < N; i++) if (f(i) !== null) sink++;
    const dt = (cpuNs() - t0) / N;
    if (r >= 0) times.push(dt);
  }
  if (sink < 0) console.log(sink);
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

const rows: [string, string][] = [];
rows.push(['predictProba(number key, x)', `${perCall((i) => scorer.predictProba(keys[i], xs[i])).toFixed(0)} ns`]);
rows.push(['predictProba(text key, x)', `${perCall((i) => scorer.predictProba(texts[i], xs[i])).toFixed(0)} ns`]);
rows.push(['predict(number key, x)', `${perCall((i) => scorer.predict(keys[i], xs[i])).toFixed(0)} ns`]);
{
  const times: number[] = [];
  for (let r = 0; r < 15; r++) {
    const t0 = cpuNs();
    await scorer.predictProbaBatch(keys, xs);
    times.push((cpuNs() - t0) / N);
  }
  times.sort((a, b) => a - b);
  rows.push([`predictProbaBatch (${N} rows), per row`, `${times[times.length >> 1].toFixed(0)} ns`]);
}
{
  const bounded = await db.loadModels('models', { maxModels: Math.ceil(users / 10) });
  const hot = keys.map((k) => 1 + (k % Math.floor(users / 20)));
  await bounded.load([...new Set(hot)]);
  rows.push([`bounded scorer (${bounded.maxModels} held), warm: predictProba`, `${perCall((i) => bounded.predictProba(hot[i], xs[i])).toFixed(0)} ns`]);
  const cold = keys.slice(0, 4096);
  const t0 = performance.now();
  await bounded.predictProbaBatch(cold, xs.slice(0, 4096));
  rows.push(['bounded scorer, cold: predictProbaBatch of 4096 rows (fetches their models), per row', `${(((performance.now() - t0) * 1e6) / 4096).toFixed(0)} ns`]);
}
console.log(`\nin-process scoring, ${users} binary LogisticRegression models of 2 features (median CPU time per call):`);
for (const [k, v] of rows) console.log(`  ${k.padEnd(90)} ${v}`);
await db.close();
