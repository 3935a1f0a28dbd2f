/**
 * Side-by-side CPU of a streaming train for two builds of manymodels (A/B, alternated in one run,
 * each train in its own process so that neither warms the other's JIT):
 *
 *   node --import tsx bench/train-ab.ts --a OLD_DIST --b dist --url postgres://... --rounds 3
 *
 * Each case trains the table `offer` (userid; asktimes, askbackoffdays -> bought_offer) of the
 * given database into its own table, and prints the train's wall seconds, the CPU seconds of the
 * whole process (main thread and worker threads) and of its main thread alone (from /proc); at the
 * end the medians and the ratios B/A. Earlier versions of those tables are not kept (keep: 0).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

function arg(name: string, def?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : process.argv[i + 1];
}

/** CPU seconds of this process's main thread (Linux /proc; utime + stime). */
function mainThreadCpu(): number {
  const s = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

if (arg('case') !== undefined) {
  const dist = arg('case') as string;
  const { open } = (await import(pathToFileURL(resolve(dist, 'index.js')).href)) as typeof import('../src/index.js');
  const db = await open(arg('url'));
  try {
    const c0 = process.cpuUsage();
    const m0 = mainThreadCpu();
    const t0 = performance.now();
    const r = await db.train({ from: arg('from', 'offer') as string, group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: arg('into') as string, replace: true, keep: 0 });
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const main = mainThreadCpu() - m0;
    process.stdout.write(JSON.stringify({ wall, cpu: (c.user + c.system) / 1e6, main, groups: r.groupsOk + r.groupsFailed }) + '\n');
  } finally {
    await db.close();
  }
} else {
  const a = arg('a') as string;
  const b = arg('b', 'dist') as string;
  const url = arg('url', 'postgres://postgres@127.0.0.1:55432/b100k') as string;
  const rounds = Number(arg('rounds', '3'));
  const res: Record<string, { wall: number; cpu: number; main: number }[]> = { A: [], B: [] };
  for (let i = 0; i < rounds; i++) {
    for (const [name, dist] of (i % 2 === 0 ? [['A', a], ['B', b]] : [['B', b], ['A', a]]) as [string, string][]) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--case', dist, '--url', url, '--into', `mme_ab_${name.toLowerCase()}`], { encoding: 'utf8' });
      const r = JSON.parse(out.trim().split('\n').pop() as string);
      res[name].push(r);
      console.log(`${name} round ${i + 1}: train ${r.wall.toFixed(2)} s, process CPU ${r.cpu.toFixed(2)} s, main thread ${r.main.toFixed(2)} s, workers+other ${(r.cpu - r.main).toFixed(2)} s (${r.groups} groups)`);
    }
  }
  const med = (xs: number[]): number => xs.slice().sort((p, q) => p - q)[Math.floor(xs.length / 2)];
  for (const k of ['wall', 'cpu', 'main'] as const) {
    const ma = med(res.A.map((r) => r[k]));
    const mb = med(res.B.map((r) => r[k]));
    console.log(`median ${k}: A ${ma.toFixed(2)} s, B ${mb.toFixed(2)} s, B/A ${(mb / ma).toFixed(3)}`);
  }
  const other = (r: { cpu: number; main: number }): number => r.cpu - r.main;
  const oa = med(res.A.map(other));
  const ob = med(res.B.map(other));
  console.log(`median workers+other: A ${oa.toFixed(2)} s, B ${ob.toFixed(2)} s, B/A ${(ob / oa).toFixed(3)}`);
}
