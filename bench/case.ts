/**
 * One benchmark case in its own process (so its peak RSS is its own): load the synthetic offers,
 * time the bare COPY floor, train, build the 9 test offers per user, predict; on a server with
 * PL/Python and scikit-learn, time the original demo's training on the same data.
 * Prints one JSON line. Run by bench/run.ts.
 *
 * Memory is recorded per phase (rssMiB: each phase's own peak RSS and its RSS at the end, from
 * Linux's /proc/self/status) so that the phase that sets the case's peak is named (peakRssPhase).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { open } from 'manymodels';
import { offerCsvChunks } from './gen-offers.js';
import { plpythonBaseline } from './plpython-baseline.js';
import { serverCpuSeconds } from './server-cpu.js';

interface CaseArgs {
  backend: 'pglite' | 'pglite-file' | 'postgres' | 'citus';
  target?: string;
  users: number;
  rows: number;
  workers?: number;
  baselineUsers: number;
  /** Timed runs of the PL/Python baseline (after one untimed call that imports scikit-learn); its models/s is their median. */
  baselineRuns?: number;
  predictTs: boolean;
  strategy?: 'streaming' | 'in-database';
  /** Also time two retrains into the same table: with nothing attached to it (DROP + RENAME), then with an index on it (the table kept, its rows replaced). */
  retrain?: boolean;
  /** Time an incremental retrain after changing 1% of the groups, against a full retrain of the same rows, side by side (and skip predict). */
  incremental?: boolean;
}

const args = JSON.parse(process.argv[2]) as CaseArgs;
const seconds = (t0: number): number => (performance.now() - t0) / 1000;
const out: Record<string, unknown> = { ...args };
const port = args.target !== undefined && /^postgres(ql)?:\/\//.test(args.target) && /^(127\.0\.0\.1|localhost)$/.test(new URL(args.target).hostname) ? new URL(args.target).port : undefined;
/** CPU seconds of this process (all its threads) and of the local server, for a phase's accounting. */
const cpuNow = (): { proc: number; server: number | null } => {
  const u = process.cpuUsage();
  return { proc: (u.user + u.system) / 1e6, server: serverCpuSeconds(port) };
};
const cpuSince = (name: string, c0: { proc: number; server: number | null }): void => {
  const c1 = cpuNow();
  out[`${name}ProcessCpuSeconds`] = c1.proc - c0.proc;
  if (c0.server !== null && c1.server !== null) out[`${name}ServerCpuSeconds`] = c1.server - c0.server;
};
/** RSS and peak RSS (VmRSS, VmHWM) in KiB, or null without /proc. */
function procMemory(): { rss: number; hwm: number } | null {
  try {
    const st = readFileSync('/proc/self/status', 'utf8');
    return { rss: Number(/VmRSS:\s+(\d+)/.exec(st)?.[1]), hwm: Number(/VmHWM:\s+(\d+)/.exec(st)?.[1]) };
  } catch {
    return null;
  }
}
/**
 * Starts a phase's memory accounting: the peak so far joins the run's, then the kernel's peak
 * (VmHWM) is reset to the current RSS (5 to /proc/self/clear_refs), so the peak read at the
 * phase's end is the phase's own. Where the reset is refused the peaks are cumulative
 * (rssPeaksCumulative), and the phase where the peak grows is still the one that set it.
 */
let runPeakKiB = 0;
const rssPhases: Record<string, { peakMiB: number; endMiB: number }> = {};
function memoryPhase(name: string): () => void {
  const m0 = procMemory();
  if (m0 !== null) {
    runPeakKiB = Math.max(runPeakKiB, m0.hwm);
    try {
      writeFileSync('/proc/self/clear_refs', '5');
    } catch {
      out.rssPeaksCumulative = true;
    }
  }
  return () => {
    const m = procMemory();
    if (m === null) return;
    runPeakKiB = Math.max(runPeakKiB, m.hwm);
    rssPhases[name] = { peakMiB: Math.round(m.hwm / 1024), endMiB: Math.round(m.rss / 1024) };
  };
}
/** The run's peak RSS (getrusage's maxRSS no longer holds it once VmHWM was reset) and the phase that set it. */
function finishMemory(): void {
  const m = procMemory();
  if (m !== null) runPeakKiB = Math.max(runPeakKiB, m.hwm);
  out.peakRssMiB = Math.max(runPeakKiB, m === null ? process.resourceUsage().maxRSS : 0) / 1024;
  out.rssMiB = rssPhases;
  const top = Object.entries(rssPhases).sort((a, b) => b[1].peakMiB - a[1].peakMiB)[0];
  if (top !== undefined) out.peakRssPhase = top[0];
}
let memEnd = memoryPhase('open');
const db = await open(args.target);
memEnd();
try {
  if (args.backend === 'postgres') {
    // e.g. "Greenplum Database 7.0.0-beta.0" or "PostgreSQL 15.20"
    const v = (await db.sql<{ v: string }>('SELECT version() AS v')).rows[0].v;
    out.serverVersion = (/Greenplum Database [^ )]+|Apache Cloudberry[^,)]*/.exec(v) ?? /PostgreSQL [^ ,]+/.exec(v))?.[0] ?? v;
  }
  memEnd = memoryPhase('load');
  let t = performance.now();
  await db.exec('DROP TABLE IF EXISTS offer; CREATE TABLE offer (offerid int, userid int, asktimes int, askbackoffdays int, bought_offer int)');
  // on Citus the source is distributed on the group key, as the README asks
  if (args.backend === 'citus') await db.exec(`SELECT create_distributed_table('offer', 'userid')`);
  const enc = new TextEncoder();
  await db.database.main.copyIn('offer (offerid, userid, asktimes, askbackoffdays, bought_offer)', 'csv', (function* () {
    for (const chunk of offerCsvChunks(args.users, args.rows, 42)) yield enc.encode(chunk);
  })());
  // settled (hint bits, visibility map, statistics) before the floor and the train read it, as
  // autovacuum leaves a loaded table: else the first of them to read it sets every hint bit, and
  // autovacuum's own pass over the 10M new rows starts in the middle of the timed phases
  await db.exec('VACUUM (ANALYZE) offer');
  out.loadSeconds = seconds(t);
  memEnd();

  // the floor: the rows out, ordered by group, as binary COPY, read and thrown away
  memEnd = memoryPhase('copyFloor');
  t = performance.now();
  let c = cpuNow();
  const s = await db.database.openStream();
  let bytes = 0;
  for await (const chunk of s.copyOut('(SELECT userid, asktimes, askbackoffdays, bought_offer FROM offer ORDER BY userid)', 'binary')) bytes += chunk.length;
  if (s !== db.database.main) await s.close();
  out.copyFloorSeconds = seconds(t);
  cpuSince('copyFloor', c);
  out.copyBytes = bytes;
  memEnd();

  memEnd = memoryPhase('train');
  t = performance.now();
  c = cpuNow();
  const r = await db.train({
    from: 'offer',
    group: 'userid',
    features: ['asktimes', 'askbackoffdays'],
    label: 'bought_offer',
    into: 'trained_model_by_user',
    workers: args.workers,
    replace: true,
    ...(args.strategy ? { strategy: args.strategy } : {}),
  } as Parameters<typeof db.train>[0]);
  out.trainSeconds = seconds(t);
  cpuSince('train', c);
  memEnd();
  out.groupsOk = r.groupsOk;
  out.groupsFailed = r.groupsFailed;
  out.modelsPerSecond = (r.groupsOk + r.groupsFailed) / (out.trainSeconds as number);
  out.trainOverFloor = (out.trainSeconds as number) / (out.copyFloorSeconds as number);

  if (args.retrain) {
    memEnd = memoryPhase('retrain');
    const again = { from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'trained_model_by_user', workers: args.workers };
    t = performance.now();
    await db.train(again);
    out.retrainSeconds = seconds(t);
    await db.exec('CREATE INDEX trained_model_by_user_score ON trained_model_by_user (train_score)');
    t = performance.now();
    await db.train(again);
    out.retrainKeptSeconds = seconds(t);
    await db.exec('DROP INDEX trained_model_by_user_score');
    memEnd();
  }

  if (args.incremental) {
    memEnd = memoryPhase('incremental');
    const inc = { from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'inc_models', workers: args.workers, incremental: true };
    // the first incremental run fits every group and records the fingerprints
    t = performance.now();
    await db.train(inc);
    out.incrementalFirstSeconds = seconds(t);
    // 1% of the groups change: one row of every 100th user
    t = performance.now();
    await db.exec(`UPDATE offer SET askbackoffdays = askbackoffdays % 14 + 1 WHERE userid % 100 = 0 AND offerid % ${args.rows} = 0; ANALYZE offer`);
    out.changeSeconds = seconds(t);
    t = performance.now();
    const r2 = await db.train(inc);
    out.incrementalSeconds = seconds(t);
    out.incrementalRefitted = r2.incremental?.refitted;
    out.incrementalMode = r2.incremental?.mode;
    // the full retrain of the same rows, side by side
    t = performance.now();
    await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'trained_model_by_user', workers: args.workers });
    out.fullRetrainSeconds = seconds(t);
    out.incrementalOverFull = (out.incrementalSeconds as number) / (out.fullRetrainSeconds as number);
    // the same models (coefficients and intercept within 1e-10)
    out.incrementalMismatches = (await db.sql<{ n: number }>(`SELECT count(*)::float8 AS n FROM inc_models i FULL JOIN trained_model_by_user f USING (userid)
      WHERE i.userid IS NULL OR f.userid IS NULL OR i.status <> f.status
         OR abs(coalesce((i.model #>> '{state,coef,0,0}')::float8 - (f.model #>> '{state,coef,0,0}')::float8, 0)) > 1e-10
         OR abs(coalesce((i.model #>> '{state,coef,0,1}')::float8 - (f.model #>> '{state,coef,0,1}')::float8, 0)) > 1e-10
         OR abs(coalesce((i.model #>> '{state,intercept,0}')::float8 - (f.model #>> '{state,intercept,0}')::float8, 0)) > 1e-10`)).rows[0].n;
    await db.close();
    memEnd();
    finishMemory();
    process.stdout.write(`${JSON.stringify(out)}\n`);
    process.exit(0);
  }

  memEnd = memoryPhase('tests');
  t = performance.now();
  await db.exec(`
    DROP TABLE IF EXISTS offers_raw, userlist, offers_tests;
    CREATE TABLE offers_raw (features int[]);
    INSERT INTO offers_raw SELECT ARRAY[k, k] FROM generate_series(1, 9) AS k;
    CREATE TABLE userlist AS SELECT userid FROM trained_model_by_user WHERE status = 'ok';
    CREATE TABLE offers_tests AS SELECT userid, features FROM userlist CROSS JOIN offers_raw WITH NO DATA;
    ${args.backend === 'citus' ? `SELECT create_distributed_table('offers_tests', 'userid', colocate_with => 'offer');` : ''}
    INSERT INTO offers_tests SELECT userid, features FROM userlist CROSS JOIN offers_raw;`);
  // settled as autovacuum leaves a new table within its first minute (hint bits, visibility map,
  // statistics), so that predict and its floor read it in the same state: unsettled, the first of the
  // two to read it pays ~2.5 s at 8.9M rows for setting the hint bits, and that was predict
  await db.exec('VACUUM (ANALYZE) offers_tests');
  out.testsSeconds = seconds(t);
  memEnd();
  memEnd = memoryPhase('predictSql');
  t = performance.now();
  c = cpuNow();
  const p = await db.predict({ models: 'trained_model_by_user', from: 'offers_tests', into: 'offer_predictions', features: 'features', engine: 'sql', replace: true });
  out.predictSqlSeconds = seconds(t);
  cpuSince('predictSql', c);
  out.predictions = p.rows;
  memEnd();
  memEnd = memoryPhase('predictFloor');
  // the floor of predict: writing the same rows with two constant columns in their place
  t = performance.now();
  c = cpuNow();
  await db.exec(`DROP TABLE IF EXISTS predict_floor; CREATE TABLE predict_floor AS SELECT s.*, 0.5::float8 AS probability, 1::float8 AS prediction FROM offers_tests s`);
  out.predictFloorSeconds = seconds(t);
  cpuSince('predictFloor', c);
  out.predictOverFloor = (out.predictSqlSeconds as number) / (out.predictFloorSeconds as number);
  await db.exec('DROP TABLE predict_floor');
  memEnd();
  memEnd = memoryPhase('predictView');
  // the predictions as a view that scores on read: one user's 9 rows, read 20 times, from the view and from the table
  // (both with an index on userid: the view's on its source, the table's on itself)
  await db.exec('CREATE INDEX ON offers_tests (userid); CREATE INDEX ON offer_predictions (userid)');
  t = performance.now();
  await db.predict({ models: 'trained_model_by_user', from: 'offers_tests', into: 'offer_predictions_view', features: 'features', view: true });
  out.predictViewCreateSeconds = seconds(t);
  for (const [name, table] of [['viewOneUserMs', 'offer_predictions_view'], ['tableOneUserMs', 'offer_predictions']] as const) {
    const times: number[] = [];
    for (let k = 0; k < 20; k++) {
      const u = 1 + ((k * 7919) % args.users);
      t = performance.now();
      await db.sql(`SELECT * FROM ${table} WHERE userid = $1`, [u]);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    out[name] = times[10];
  }
  memEnd();
  if (args.predictTs) {
    memEnd = memoryPhase('predictTs');
    t = performance.now();
    await db.predict({ models: 'trained_model_by_user', from: 'offers_tests', into: 'offer_predictions_ts', features: 'features', engine: 'ts', replace: true });
    out.predictTsSeconds = seconds(t);
    memEnd();
  }

  if ((args.backend === 'postgres' || args.backend === 'citus') && args.baselineUsers > 0) {
    memEnd = memoryPhase('baseline');
    const b = await plpythonBaseline(db, Math.min(args.baselineUsers, args.users), args.baselineRuns ?? 3, args.backend === 'citus');
    if (typeof b === 'string') out.baseline = b;
    else {
      out.baselineUsers = b.users;
      out.baselineTimings = b.runs;
      out.baselineTrainSeconds = b.seconds;
      out.baselineModelsPerSecond = b.modelsPerSecond;
      out.speedupOverBaseline = (out.modelsPerSecond as number) / b.modelsPerSecond;
    }
    memEnd();
  }
} finally {
  memEnd = memoryPhase('close');
  await db.close();
  memEnd();
}
finishMemory();
process.stdout.write(`${JSON.stringify(out)}\n`);
