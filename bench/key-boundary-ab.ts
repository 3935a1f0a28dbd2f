/**
 * Train with the group boundaries told by the key's bytes (the default for integer and text keys)
 * and by SQL's count(*) OVER (PARTITION BY key) (MANYMODELS_KEY_BOUNDARY=count), alternated in
 * one process on the same rows, and print each run's wall time and this process's CPU.
 *
 *   node --import tsx bench/key-boundary-ab.ts [--users 100000] [--rounds 3] [--db postgres://...]
 *   (default: in-memory PGlite; run `npx tsc -p tsconfig.json` first: it times dist/)
 */
import { open } from 'manymodels';
import { offerCsvChunks } from './gen-offers.js';

function arg(name: string, def: string | undefined): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : process.argv[i + 1];
}
const users = Number(arg('users', '100000'));
const rounds = Number(arg('rounds', '3'));
const db = await open(arg('db', undefined));
try {
  await db.exec('DROP TABLE IF EXISTS kb_offer; CREATE TABLE kb_offer (offerid int, userid int, asktimes int, askbackoffdays int, bought_offer int)');
  const enc = new TextEncoder();
  await db.database.main.copyIn('kb_offer (offerid, userid, asktimes, askbackoffdays, bought_offer)', 'csv', (function* () {
    for (const chunk of offerCsvChunks(users, 10, 42)) yield enc.encode(chunk);
  })());
  await db.exec('ANALYZE kb_offer');
  const opts = { from: 'kb_offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', replace: true };
  // one untimed run of each: hint bits, caches, the worker pool's first start
  const times: Record<string, number[]> = { bytes: [], count: [] };
  for (let r = -1; r < rounds; r++) {
    for (const mode of ['bytes', 'count'] as const) {
      if (mode === 'count') process.env.MANYMODELS_KEY_BOUNDARY = 'count';
      else delete process.env.MANYMODELS_KEY_BOUNDARY;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await db.train({ ...opts, into: `kb_models_${mode}` });
      const wall = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      if (r >= 0) times[mode].push(wall);
      console.log(`${r < 0 ? 'warm-up' : `round ${r + 1}`} ${mode}: ${wall.toFixed(2)} s, process CPU ${((c.user + c.system) / 1e6).toFixed(2)} s`);
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`median: key bytes ${med(times.bytes).toFixed(2)} s, group sizes ${med(times.count).toFixed(2)} s, ratio ${(med(times.bytes) / med(times.count)).toFixed(2)}`);
} finally {
  delete process.env.MANYMODELS_KEY_BOUNDARY;
  await db.close();
}
