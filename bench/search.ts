/**
 * The per-group grid search against one plain fit of the same groups, side by side in one run
 * (issue 14: a 5-fold × 4-value search on 100k groups costs ≤ 8× one plain fit):
 *
 *   1. end to end on one database: `train` plain, then `train` with cv 5, paramGrid C = 0.01, 0.1,
 *      1, 10, scoring neg_log_loss (each twice, the faster kept), and their ratio;
 *   2. the numerical core alone on the same kind of groups: one plain fit per group, against the
 *      search with and without warm starts along the grid (what warm starting saves).
 *
 *   node --import tsx bench/search.ts [--users 100000] [--rows 20] [--workers N] [--db URL|DIR]
 *   (npm run bench:search -- ...)
 *
 * The default database is PGlite in memory; --db takes a postgres:// URL.
 */
import { open, GroupSearch, expandGrid, LogisticRegression, setWarningHandler } from 'manymodels';
import { offerCsvChunks } from './gen-offers.js';

function arg(name: string, def?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : process.argv[i + 1];
}
const users = Number(arg('users', '100000'));
const rows = Number(arg('rows', '20'));
const workers = arg('workers') === undefined ? undefined : Number(arg('workers'));
const target = arg('db');
const GRID = { C: [0.01, 0.1, 1, 10] };
const seconds = (t0: number): number => (performance.now() - t0) / 1000;

const db = await open(target);
try {
  await db.exec('DROP TABLE IF EXISTS offer; CREATE TABLE offer (offerid int, userid int, asktimes int, askbackoffdays int, bought_offer int)');
  const enc = new TextEncoder();
  await db.database.main.copyIn('offer (offerid, userid, asktimes, askbackoffdays, bought_offer)', 'csv', (function* () {
    for (const chunk of offerCsvChunks(users, rows, 42)) yield enc.encode(chunk);
  })());
  await db.exec('ANALYZE offer');
  const base = { from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', workers, replace: true } as const;
  const plain: number[] = [];
  const search: number[] = [];
  let searched = 0;
  let notEvaluated = 0;
  for (let rep = 0; rep < 2; rep++) {
    let t = performance.now();
    await db.train({ ...base, into: 'plain_models' });
    plain.push(seconds(t));
    t = performance.now();
    const r = await db.train({ ...base, into: 'searched_models', cv: 5, paramGrid: GRID, scoring: 'neg_log_loss' });
    search.push(seconds(t));
    notEvaluated = r.notes.find((n) => n.code === 'NOT_EVALUATED')?.count ?? 0;
    searched = r.groupsOk - notEvaluated;
  }
  const p = Math.min(...plain);
  const s = Math.min(...search);
  console.log(`end to end, ${users} groups × ${rows} rows, ${target ?? 'PGlite in memory'}, workers ${workers ?? 'default'}:`);
  console.log(`  plain train                               ${p.toFixed(2)} s   (runs: ${plain.map((v) => v.toFixed(2)).join(', ')})`);
  console.log(`  cv 5 × C in {0.01, 0.1, 1, 10}, refit     ${s.toFixed(2)} s   (runs: ${search.map((v) => v.toFixed(2)).join(', ')})`);
  console.log(`  ratio search / plain                      ${(s / p).toFixed(2)}×   (${searched} groups searched, ${notEvaluated} too small to split: fitted once)`);
} finally {
  await db.close();
}

// the core alone: the same generator's groups as arrays
const groups: { m: { data: Float64Array; rows: number; cols: number }; y: Float64Array }[] = [];
const coreUsers = Math.min(users, 20000);
for (const chunk of offerCsvChunks(coreUsers, rows, 7)) {
  const lines = chunk.trim().split('\n');
  for (let i = 0; i < lines.length; i += rows) {
    const x = new Float64Array(rows * 2);
    const y = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const f = lines[i + r].split(',');
      x[2 * r] = Number(f[2]);
      x[2 * r + 1] = Number(f[3]);
      y[r] = Number(f[4]);
    }
    if (y.some((v) => v !== y[0])) groups.push({ m: { data: x, rows, cols: 2 }, y });
  }
}
setWarningHandler(() => undefined);
const time = (fn: () => void): number => {
  fn(); // warm-up
  const t = performance.now();
  fn();
  return seconds(t);
};
const est = new LogisticRegression();
const plainCore = time(() => {
  for (const g of groups) est.fit(g.m, g.y);
});
const spec = { split: { kind: 'cv', k: 5, seed: 0 }, grid: expandGrid(GRID), scoring: 'neg_log_loss' } as const;
const warm = new GroupSearch('LogisticRegression', {}, spec);
const cold = new GroupSearch('LogisticRegression', {}, { ...spec, warmStart: false });
const run = (s: GroupSearch) => () => {
  for (const g of groups) s.run(g.m, g.y, null);
};
const warmCore = time(run(warm));
const coldCore = time(run(cold));
console.log(`the numerical core alone, ${groups.length} groups × ${rows} rows, one thread:`);
console.log(`  plain fit              ${(plainCore * 1e6 / groups.length).toFixed(1)} µs a group`);
console.log(`  search, warm starts    ${(warmCore * 1e6 / groups.length).toFixed(1)} µs a group (${(warmCore / plainCore).toFixed(1)}× plain)`);
console.log(`  search, cold starts    ${(coldCore * 1e6 / groups.length).toFixed(1)} µs a group (${(coldCore / plainCore).toFixed(1)}× plain; warm starts save ${((1 - warmCore / coldCore) * 100).toFixed(0)}%)`);
