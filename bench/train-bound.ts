/**
 * The least CPU any streaming train of a table must spend on this machine, measured part by part,
 * against the train itself, on a local PostgreSQL server (its CPU is read from /proc):
 *
 *   read    the bare COPY floor: the rows out, ordered by group, as binary COPY, read and thrown
 *           away (server and this process): a train reads exactly these rows;
 *   decode  what this process adds to the read to turn its bytes into groups: the train's own
 *           read (its features and label as float8) through the binary COPY decoder and the
 *           group cutter, as a train's reading thread does, less the same read thrown away
 *           (this process's CPU only; the two alternated, median of --runs each);
 *   fit     fitting one LogisticRegression per group: this process's CPU per 10 × 2 fit (the
 *           groups' shape, bench/fit-data.ts), times the number of groups, on one thread;
 *   write   writing the trained models table's rows again, server side, from a file the server
 *           wrote (COPY ... FROM '/tmp/...'; no client at all): into a table like it with its
 *           primary key (what a train writes), with `model` as text instead of jsonb (any format
 *           that stores the same document as text), with no document at all but the coefficients,
 *           intercept and classes as float8[] columns (a stored format that builds the document on
 *           demand), and unlogged without a key (the rows' bytes).
 *
 * read + fit + write is a lower bound of a train's CPU (it leaves out decoding, cutting, encoding
 * and the protocol); divided by the cores it is a lower bound of the train's wall time, printed
 * beside 1.5 × the floor's wall time (issue 11's target); read + decode + fit + write, the same
 * with the decoding this build does, whatever it writes. Each part is the median of --runs. The
 * models/s each bound allows is set against the seed's PL/Python baseline measured in the same run
 * (bench/plpython-baseline.ts, on the table's first --baseline-users users; issue 11's 150×).
 *
 *   node --import tsx bench/train-bound.ts --db postgres://postgres@127.0.0.1:PORT/DB [--table offer] [--runs 3] [--baseline-users 10000] [--out FILE]
 *
 * --out writes every part and bound as JSON (default bench/results/bound-<time>.json).
 *
 * The table has the benchmark's columns (userid, asktimes, askbackoffdays, bought_offer; see
 * bench/case.ts). Writes tables tb_* (the train with keep 0: no earlier version archived) and the
 * baseline's training_set1, trained_model_by_user_pl, and drops them at the end; run `npx tsc -p tsconfig.json` first (it times dist/).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { open } from 'manymodels';
import { LogisticRegression } from 'manymodels/core';
import { datasets } from './fit-data.js';
import { medianOf } from './median.js';
import { plpythonBaseline } from './plpython-baseline.js';
import { serverCpuSeconds } from './server-cpu.js';

function arg(name: string, def?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : process.argv[i + 1];
}
const url = arg('db');
if (url === undefined || !/^(127\.0\.0\.1|localhost)$/.test(new URL(url).hostname)) throw new Error('--db must be a postgres:// URL of a server on this machine');
const port = new URL(url).port || '5432';
const table = arg('table', 'offer') as string;
const runs = Number(arg('runs', '3'));
const baselineUsers = Number(arg('baseline-users', '10000'));
const outFile = arg('out', `bench/results/bound-${new Date().toISOString().replace(/[:.]/g, '-')}.json`) as string;
const cores = cpus().length;

interface Cost {
  wall: number;
  proc: number;
  server: number;
}
async function measure(body: () => Promise<void>): Promise<Cost> {
  const u0 = process.cpuUsage();
  const s0 = serverCpuSeconds(port) as number;
  const t0 = performance.now();
  await body();
  const wall = (performance.now() - t0) / 1000;
  const u = process.cpuUsage(u0);
  return { wall, proc: (u.user + u.system) / 1e6, server: (serverCpuSeconds(port) as number) - s0 };
}
/** The median of each of a part's measures (the mean of the middle two for an even count). */
function medianCost(all: readonly Cost[]): Cost {
  const mid = (k: keyof Cost) => medianOf(all.map((c) => c[k]));
  return { wall: mid('wall'), proc: mid('proc'), server: mid('server') };
}
async function median(body: () => Promise<void>, before?: () => Promise<void>): Promise<Cost> {
  const all: Cost[] = [];
  for (let r = 0; r < runs; r++) {
    if (before !== undefined) await before();
    all.push(await measure(body));
  }
  return medianCost(all);
}
const f = (c: Cost) => `${c.wall.toFixed(2)} s wall, CPU ${(c.proc + c.server).toFixed(2)} s (this process ${c.proc.toFixed(2)}, server ${c.server.toFixed(2)})`;

const db = await open(url);
const file = `/tmp/mm-train-bound-${process.pid}.bin`;
try {
  if (serverCpuSeconds(port) === null) throw new Error(`no PostgreSQL server listening on port ${port} runs on this machine`);
  const floor = await median(async () => {
    for await (const _ of db.database.main.copyOut(`(SELECT userid, asktimes, askbackoffdays, bought_offer FROM ${table} ORDER BY userid)`, 'binary'));
  });
  console.log(`read  (the bare COPY floor):            ${f(floor)}`);
  // the train's own read, thrown away, then decoded and cut into groups as its reading thread does
  const trainRead = `(SELECT userid, asktimes::float8, askbackoffdays::float8, bought_offer::float8 FROM ${table} ORDER BY userid)`;
  const dist = async (p: string) => import(new URL(`../dist/${p}`, import.meta.url).href);
  const { BinaryCopyDecoder } = await dist('copy/binary-decoder.js');
  const { GroupCutter } = await dist('pipeline/group-cutter.js');
  const throwAway = async () => {
    for await (const _ of db.database.main.copyOut(trainRead, 'binary'));
  };
  let cut = 0;
  const decodeRead = async () => {
    const cutter = new GroupCutter({ keyFields: 1, features: { kind: 'columns', count: 2 }, label: 'number', keyBytes: true }, { batchNumbers: 1 << 18, batchGroups: 4096, maxGroupRows: 1_000_000 });
    const decoder = new BinaryCopyDecoder(4);
    cut = 0;
    for await (const chunk of db.database.main.copyOut(trainRead, 'binary')) {
      decoder.feed(chunk, cutter.onRow);
      for (const b of cutter.takeReady()) cut += b.count;
    }
    decoder.finish();
    cutter.finish();
    for (const b of cutter.takeReady()) cut += b.count;
  };
  // alternated, so that the machine's drift falls on both alike
  const pairs: [Cost[], Cost[]] = [[], []];
  for (let r = 0; r < runs; r++) {
    pairs[0].push(await measure(throwAway));
    pairs[1].push(await measure(decodeRead));
  }
  const thrown = medianCost(pairs[0]);
  const decoded = medianCost(pairs[1]);
  const decode: Cost = { wall: 0, proc: Math.max(0, decoded.proc - thrown.proc), server: 0 };
  console.log(`decode (${cut} groups cut, this process): ${decode.proc.toFixed(2)} CPU-s (the train's read decoded ${decoded.proc.toFixed(2)}, thrown away ${thrown.proc.toFixed(2)})`);
  let groups = 0;
  const train = await median(async () => {
    const r = await db.train({ from: table, group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'tb_models', replace: true, keep: 0 });
    groups = r.groupsOk + r.groupsFailed;
  });
  console.log(`train (${groups} groups, for comparison):  ${f(train)}`);

  const sets = datasets(20000, 10, 2, 11);
  const est = new LogisticRegression();
  for (const s of sets.slice(0, 2000)) est.fit({ data: s.X, rows: 10, cols: 2 }, s.y);
  const u0 = process.cpuUsage();
  for (let k = 0; k < 5; k++) for (const s of sets) est.fit({ data: s.X, rows: 10, cols: 2 }, s.y);
  const u = process.cpuUsage(u0);
  const perFit = (u.user + u.system) / 1e6 / (5 * sets.length);
  const fit: Cost = { wall: perFit * groups, proc: perFit * groups, server: 0 };
  console.log(`fit   (${(perFit * 1e6).toFixed(2)} µs a group, one thread): ${f(fit)}`);

  await db.exec(`COPY tb_models TO '${file}' (FORMAT binary)`);
  const write = async (ddl: string): Promise<Cost> =>
    median(
      async () => db.exec(`COPY tb_write FROM '${file}' (FORMAT binary)`),
      async () => db.exec(`DROP TABLE IF EXISTS tb_write; ${ddl}`),
    );
  const asIs = await write(`CREATE TABLE tb_write (LIKE tb_models); ALTER TABLE tb_write ADD PRIMARY KEY (userid)`);
  console.log(`write (the models table, jsonb, key):   ${f(asIs)}`);
  const asText = await write(`CREATE TABLE tb_write (LIKE tb_models); ALTER TABLE tb_write ALTER COLUMN model TYPE text; ALTER TABLE tb_write ADD PRIMARY KEY (userid)`);
  console.log(`write (model as text, key):              ${f(asText)}`);
  const bare = await write(`CREATE UNLOGGED TABLE tb_write (LIKE tb_models); ALTER TABLE tb_write ALTER COLUMN model TYPE text`);
  console.log(`write (text, unlogged, no key):          ${f(bare)}`);
  // the same rows with the document's numbers as float8[] columns in its place
  const arrays = `SELECT userid, ARRAY(SELECT jsonb_array_elements_text(model->'state'->'coef'->0)::float8) AS coef,
                         ARRAY(SELECT jsonb_array_elements_text(model->'state'->'intercept')::float8) AS intercept,
                         ARRAY(SELECT jsonb_array_elements_text(model->'state'->'classes')::float8) AS classes,
                         status, error, n_rows, n_skipped, n_iter, converged, train_score, serialized_on, run_id, fingerprint, metrics FROM tb_models`;
  await db.exec(`COPY (${arrays}) TO '${file}' (FORMAT binary)`);
  const asArrays = await write(`CREATE TABLE tb_write AS ${arrays} WITH NO DATA; ALTER TABLE tb_write ADD PRIMARY KEY (userid)`);
  console.log(`write (float8[] columns, no document, key): ${f(asArrays)}`);

  const baseline =
    baselineUsers <= 0 ? 'not run (--baseline-users 0)' : table !== 'offer' ? 'not run (the seed reads the table offer)' : await plpythonBaseline(db, baselineUsers, runs);
  if (typeof baseline === 'string') console.log(`PL/Python baseline: ${baseline}`);
  else console.log(`PL/Python baseline (${baseline.users} users, median of ${baseline.runs.length}): ${Math.round(baseline.modelsPerSecond)} models/s (runs: ${baseline.runs.map((r) => Math.round(r.modelsPerSecond)).join(', ')})`);
  const overBaseline = (modelsPerSecond: number) => (typeof baseline === 'string' ? '' : `, ${Math.round(modelsPerSecond / baseline.modelsPerSecond)}x the baseline`);
  const cpu = (c: Cost) => c.proc + c.server;
  const target = 1.5 * floor.wall;
  const bounds: Record<string, unknown>[] = [];
  for (const [name, w] of [['jsonb', asIs], ['text', asText], ['float8[]', asArrays], ['bare', bare]] as const) {
    for (const [parts, least] of [
      ['read + fit + write', cpu(floor) + cpu(fit) + cpu(w)],
      ['read + decode + fit + write', cpu(floor) + decode.proc + cpu(fit) + cpu(w)],
    ] as const) {
      const wall = least / cores;
      bounds.push({ write: name, parts, cpuSeconds: least, wallSeconds: wall, overFloor: wall / floor.wall, modelsPerSecond: groups / wall, overBaseline: typeof baseline === 'string' ? null : groups / wall / baseline.modelsPerSecond });
      console.log(
        `bound with the ${name} write: ${parts} = ${least.toFixed(2)} CPU-s, so at least ${wall.toFixed(2)} s on ${cores} cores = ${(wall / floor.wall).toFixed(2)}x the floor (target 1.5x = ${target.toFixed(2)} s), at most ${Math.round(groups / wall)} models/s${overBaseline(groups / wall)}`,
      );
    }
  }
  console.log(`the train: ${(train.wall / floor.wall).toFixed(2)}x the floor, ${cpu(train).toFixed(2)} CPU-s, ${Math.round(groups / train.wall)} models/s${overBaseline(groups / train.wall)}`);
  const json = {
    table,
    runs,
    cores,
    groups,
    loadAfter: loadavg(),
    read: floor,
    decode: { proc: decode.proc, decoded, thrown },
    train,
    fit: { ...fit, perFitSeconds: perFit },
    write: { jsonb: asIs, text: asText, textUnloggedNoKey: bare, float8Arrays: asArrays },
    baseline,
    bounds,
    trainOverFloor: train.wall / floor.wall,
    trainModelsPerSecond: groups / train.wall,
  };
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`results: ${outFile}`);
} finally {
  // what it wrote, also after an error (the server writes the COPY file: emptied through it)
  await db.exec('DROP TABLE IF EXISTS tb_write, tb_models, training_set1, trained_model_by_user_pl').catch(() => undefined);
  await db.exec(`COPY (SELECT 1) TO '${file}'`).catch(() => undefined);
  await db.close();
}
