import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { type DatabaseError, type ManyModels, ManyModelsError, open } from 'manymodels';
import { freshDatabaseUrl } from '../helpers/backends.js';
import { clearFaults, doAt, holdAt, within } from '../helpers/faults.js';
import { snapshot } from '../helpers/snapshot.js';

/** Faults and concurrency against a real PostgreSQL server. */
type Row = Record<string, any>;
const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const base = { from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer' };
/** A source whose first row comes only after the server has slept (the run is then surely under way). */
const slow = (seconds: number) => ({ query: `SELECT userid, asktimes, askbackoffdays, bought_offer FROM offer, (SELECT pg_sleep(${seconds})) AS z` });

describe('faults and concurrency on a PostgreSQL server', () => {
  let url: string;
  let db: ManyModels;
  before(async () => {
    url = await freshDatabaseUrl();
    db = await open(url);
    await db.exec(`CREATE TABLE offer AS SELECT 1 + g % 400 AS userid, g AS offerid, 1 + g % 10 AS asktimes, 1 + (g * 3) % 14 AS askbackoffdays, (g * 7 + g / 400) % 2 AS bought_offer FROM generate_series(0, 3999) AS g`);
    await db.train({ ...base, into: 'models' });
  });
  after(async () => {
    await db?.close();
  });

  /** The test database's URL with a server setting for its sessions (options in its query, as the hints say). */
  const withOption = (option: string) => `${url}${url.includes('?') ? '&' : '?'}options=${option}`;
  const stagingLeft = async () => (await db.sql<Row>(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'mm_stage_%'`)).rows[0].n;

  it('a dropped connection mid-run: CONNECTION_LOST, nothing half-written, the run marked failed', { timeout: 90_000 }, async () => {
    const before = await snapshot(db);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    // another session watches: pg_stat_activity is read once per transaction, and admin's stays open
    const watch = new pg.Client({ connectionString: url });
    await watch.connect();
    try {
      // once the staging table exists the test locks the source table in an open transaction: the
      // run's COPY then waits for it on the server (active, on a lock; on the coordinator of a
      // cluster, where an advisory lock taken in the query's rows would be taken on the segments)
      // and is terminated there; no timing window
      doAt('staging-created', async () => {
        await admin.query('BEGIN');
        await admin.query('LOCK TABLE offer IN ACCESS EXCLUSIVE MODE NOWAIT');
      });
      const run = db.train({ ...base, from: { query: 'SELECT userid, asktimes, askbackoffdays, bought_offer FROM offer' }, into: 'models' });
      let settled = false;
      const outcome = run.then(() => null, (e: unknown) => e).finally(() => (settled = true));
      let killed = 0;
      // wait for the state (the COPY blocked on the lock), not for a time (the deadline only ends a test gone wrong)
      const deadline = Date.now() + 60_000;
      while (killed === 0 && !settled && Date.now() < deadline) {
        const r = await watch.query(`SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY (SELECT%' AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`);
        killed = r.rowCount ?? 0;
      }
      assert.equal(killed, 1, 'the COPY was found waiting on the lock and terminated');
      await admin.query('COMMIT');
      const e = await within(outcome, 'the run ends') as ManyModelsError;
      assert.ok(e instanceof ManyModelsError, `the run failed: ${e}`);
      assert.equal(e.code, 'CONNECTION_LOST', e.message);
      assert.match(e.message, /the database connection was lost: terminating connection due to administrator command/);
    } finally {
      clearFaults();
      await admin.query('ROLLBACK').catch(() => undefined);
      await admin.end();
      await watch.end();
    }
    assert.deepEqual(await snapshot(db), before);
    const last = (await db.sql<Row>(`SELECT status, error FROM manymodels.runs ORDER BY started_at DESC LIMIT 1`)).rows[0];
    assert.equal(last.status, 'failed');
    assert.match(last.error, /terminating connection/);
  });

  it('a worker thread that crashes once: its batch is retried and every group is trained', async () => {
    process.env.MANYMODELS_FAULT_WORKER = 'crash-first-attempt';
    try {
      const r = await db.train({ ...base, into: 'crash_once', workers: 2, batchGroups: 50 });
      assert.equal(r.groupsOk, 400);
      assert.equal(r.groupsFailed, 0);
      assert.equal(r.failures.find((f) => f.code === 'WORKER_CRASHED'), undefined);
    } finally {
      delete process.env.MANYMODELS_FAULT_WORKER;
    }
    const a = (await db.sql<Row>('SELECT userid, model FROM crash_once ORDER BY userid')).rows;
    const b = (await db.sql<Row>('SELECT userid, model FROM models ORDER BY userid')).rows;
    assert.deepEqual(a.map((x) => x.model?.state), b.map((x) => x.model?.state));
  });

  it('a worker thread that keeps crashing: its groups fail with the reason, the rest are trained', async () => {
    process.env.MANYMODELS_FAULT_WORKER = 'crash-always';
    try {
      const r = await db.train({ ...base, into: 'crash_always', workers: 2, batchGroups: 50 });
      // the first batch is fitted in the main thread (the pool starts with the second)
      const crashed = r.failures.find((f) => f.code === 'WORKER_CRASHED');
      assert.ok(crashed, 'some groups failed with WORKER_CRASHED');
      assert.equal(crashed.count, 350);
      assert.match(crashed.example, /worker thread .* died twice/);
      // the main thread's batch holds users 1..50: those with both classes are trained (SQL counts them)
      const twoClass = (await db.sql<Row>(`SELECT count(*)::int AS n FROM (SELECT userid FROM offer WHERE userid <= 50 GROUP BY userid HAVING count(DISTINCT bought_offer) = 2) q`)).rows[0].n;
      assert.equal(r.groupsOk, twoClass);
      assert.equal(r.groupsFailed, 400 - twoClass);
    } finally {
      delete process.env.MANYMODELS_FAULT_WORKER;
    }
  });

  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${sig} cancels cleanly: the server query is cancelled, staging dropped, exit ${code}`, async () => {
      const before = await snapshot(db);
      const child = spawn(process.execPath, [CLI, '--db', url, '--quiet', 'train', '--from', slow(30).query, '--group', 'userid', '--features', 'asktimes,askbackoffdays', '--label', 'bought_offer', '--into', 'models'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      // wait until the COPY is running on the server
      for (let i = 0; i < 100; i++) {
        const r = await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY (SELECT%pg_sleep(30)%' AND state = 'active'`);
        if (r.rows[0].n > 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      child.kill(sig);
      const exit = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      assert.equal(exit, code, stderr);
      assert.match(stderr, /CANCELLED/);
      const active = (await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(30)%' AND state = 'active' AND pid <> pg_backend_pid()`)).rows[0].n;
      await admin.end();
      assert.equal(active, 0, 'the server-side query was cancelled');
      assert.deepEqual(await snapshot(db), before);
      const last = (await db.sql<Row>(`SELECT status FROM manymodels.runs ORDER BY started_at DESC LIMIT 1`)).rows[0];
      assert.equal(last.status, 'cancelled');
    });
  }

  it('two runs writing the same table do not interleave: the second waits, or fails at once with OUTPUT_LOCKED', async () => {
    const db2 = await open(url);
    try {
      // the first run holds the table's lock from before its catalog row until the swap
      const held = holdAt('run-recorded');
      const first = db.train({ ...base, into: 'shared' });
      await within(held.reached, 'the first run holds the lock');
      await assert.rejects(db2.train({ ...base, into: 'shared', wait: false }), (e: DatabaseError) => {
        assert.equal(e.code, 'OUTPUT_LOCKED');
        assert.match(e.message, /another manymodels run is writing shared/);
        return true;
      });
      // the second run (waiting) reaches its own catalog row only after the first has swapped
      const order: string[] = [];
      first.then(() => order.push('first done'));
      const second = db2.train({ ...base, into: 'shared' }).then((r) => (order.push('second done'), r));
      held.release();
      const [a, b] = await within(Promise.all([first, second]), 'both runs end');
      assert.deepEqual(order, ['first done', 'second done']);
      const runs = (await db.sql<Row>(`SELECT run_id::text AS id, started_at, finished_at FROM manymodels.runs WHERE run_id IN ($1, $2)`, [a.runId, b.runId])).rows;
      const ra = runs.find((r) => r.id === a.runId)!;
      const rb = runs.find((r) => r.id === b.runId)!;
      assert.ok(rb.started_at >= ra.finished_at, 'the second run started after the first had swapped its table in');
      const owner = (await db.sql<Row>(`SELECT DISTINCT run_id::text AS id FROM shared`)).rows;
      assert.deepEqual(owner, [{ id: b.runId }]);
    } finally {
      clearFaults();
      await db2.close();
    }
  });

  it('runs into different tables proceed in parallel: both hold their locks at once', async () => {
    const db2 = await open(url);
    try {
      // the first run to reach its catalog row waits there until the other has reached its own:
      // were the runs serialised, this would never happen (and `within` fails the test)
      const held = holdAt('run-recorded');
      const a = db.train({ ...base, into: 'par_a' });
      await within(held.reached, 'run a holds its lock');
      const b = db2.train({ ...base, into: 'par_b' });
      const bRecorded = new Promise<void>((resolve) => doAt('swap:begin', resolve));
      await within(bRecorded, 'run b got past its lock while run a held its own');
      held.release();
      const [ra, rb] = await within(Promise.all([a, b]), 'both runs end');
      assert.equal(ra.groupsOk, rb.groupsOk);
    } finally {
      clearFaults();
      await db2.close();
    }
  });

  it('a connection the server closed while idle (idle_session_timeout): CONNECTION_LOST with its hint, not DATABASE_ERROR', async (t) => {
    const c = await open(url);
    try {
      // PostgreSQL 14 and later (Greenplum 7 is 12)
      if ((await c.sql<Row>(`SELECT count(*)::int AS n FROM pg_settings WHERE name = 'idle_session_timeout'`)).rows[0].n === 0) {
        t.skip('this server has no idle_session_timeout');
        return;
      }
      await c.sql(`SET idle_session_timeout = '200ms'`);
      // wait for the server to have ended the session (its backend gone), not for a time
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        for (let n = 1; n > 0; ) n = (await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'SET idle_session_timeout%'`)).rows[0].n;
      } finally {
        await admin.end();
      }
      const e = await c.sql('SELECT 1').then(() => null, (x: ManyModelsError) => x);
      assert.equal(e?.code, 'CONNECTION_LOST', e?.message);
      // the server's own reason, sent as it ended the session, and what to do about it
      assert.match(e.message, /idle-session timeout/);
      assert.match(e.hint ?? '', /idle_session_timeout/);
    } finally {
      await c.close().catch(() => undefined);
    }
  });

  it("a statement_timeout shorter than the run: CANCELLED, nothing replaced, and a hint whose URL option lets the run through", async () => {
    const before = await snapshot(db);
    const short = await open(withOption('-c%20statement_timeout%3D200'));
    let hint = '';
    try {
      const e = await short.train({ ...base, from: slow(1), into: 'models' }).then(() => null, (x: ManyModelsError) => x);
      assert.ok(e instanceof ManyModelsError, 'the run failed');
      assert.equal(e.code, 'CANCELLED', e.message);
      assert.match(e.message, /statement timeout/);
      hint = e.hint ?? '';
      assert.match(hint, /statement_timeout/);
    } finally {
      await short.close();
    }
    assert.deepEqual(await snapshot(db), before);
    // the server's limit failed the run (a cancel is the caller's): recorded so, with the reason
    const last = (await db.sql<Row>(`SELECT status, error FROM manymodels.runs ORDER BY started_at DESC LIMIT 1`)).rows[0];
    assert.equal(last.status, 'failed');
    assert.match(last.error, /statement timeout/);
    // the hint's own URL option, as it is written there
    const option = /options=(\S+)/.exec(hint)?.[1];
    assert.ok(option !== undefined, `the hint gives a URL option: ${hint}`);
    const raised = await open(withOption(option));
    try {
      assert.equal((await raised.sql<Row>('SHOW statement_timeout')).rows[0].statement_timeout, '0');
      const r = await raised.train({ ...base, from: slow(0.3), into: 'models_timeout_raised' });
      assert.equal(r.groupsOk, 400);
    } finally {
      await raised.close();
    }
  });

  it("a lock held past the server's lock_timeout at the swap: LOCK_NOT_AVAILABLE with a hint, the table as it was", async () => {
    const short = await open(withOption('-c%20lock_timeout%3D200'));
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query('BEGIN');
      await admin.query('LOCK TABLE models IN ACCESS SHARE MODE');
      const before = await snapshot(db);
      const e = await short.train({ ...base, into: 'models' }).then(() => null, (x: ManyModelsError) => x);
      assert.ok(e instanceof ManyModelsError, 'the run failed');
      assert.equal(e.code, 'LOCK_NOT_AVAILABLE', e.message);
      assert.match(e.hint ?? '', /lock_timeout/);
      await admin.query('COMMIT');
      assert.deepEqual(await snapshot(db), before);
    } finally {
      await admin.query('ROLLBACK').catch(() => undefined);
      await admin.end();
      await short.close();
    }
  });

  it("a train longer than the server's idle_session_timeout: its sessions that wait meanwhile are not ended, the run succeeds", async (t) => {
    const probe = await open(url);
    const has = (await probe.sql<Row>(`SELECT count(*)::int AS n FROM pg_settings WHERE name = 'idle_session_timeout'`)).rows[0].n === 1;
    await probe.close();
    if (!has) {
      t.skip('this server has no idle_session_timeout');
      return;
    }
    const short = await open(withOption('-c%20idle_session_timeout%3D300'));
    try {
      // the read takes ~2 s on the server (0.5 ms a row), while the run's other sessions wait idle
      const r = await short.train({ ...base, from: { query: 'SELECT userid, asktimes, askbackoffdays, bought_offer FROM offer WHERE pg_sleep(0.0005) IS NOT NULL' }, into: 'models_idle' });
      assert.equal(r.groupsOk + r.groupsFailed, 400);
      assert.equal((await db.sql<Row>('SELECT count(*)::int AS n FROM models_idle')).rows[0].n, 400);
      // the caller's own connection sat idle meanwhile and keeps the server's policy: ended, with the reason
      const e = await short.sql('SELECT 1').then(() => null, (x: ManyModelsError) => x);
      assert.equal(e?.code, 'CONNECTION_LOST', e?.message);
      assert.match(e.hint ?? '', /idle_session_timeout/);
    } finally {
      await short.close().catch(() => undefined);
    }
  });

  it('a connection reset while it sat idle: CONNECTION_LOST, not CONNECTION_FAILED (that is for connecting)', async () => {
    // a real socket reset between this process and the server: a proxy in between drops its sockets
    const server = new URL(url);
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(server.port), server.hostname);
      sockets.add(client);
      for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
        a.pipe(b);
        a.on('error', () => undefined);
        a.on('close', () => b.destroy());
      }
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const via = new URL(url);
    via.port = String((proxy.address() as net.AddressInfo).port);
    const c = await open(via.toString());
    try {
      assert.equal((await c.sql<Row>('SELECT 1 AS x')).rows[0].x, 1);
      for (const s of sockets) s.resetAndDestroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const e = await c.sql('SELECT 1').then(() => null, (x: ManyModelsError) => x);
      assert.equal(e?.code, 'CONNECTION_LOST', e?.message);
      assert.match(e.hint ?? '', /run again/);
    } finally {
      await c.close().catch(() => undefined);
      proxy.close();
    }
  });

  it('no staging table is left behind by any of the above', async () => {
    assert.equal(await stagingLeft(), 0);
  });

  it("a failed run's staging table whose DROP failed too is dropped by the next run, which keeps the run's status", async () => {
    // a run that fails with a reason of its own (a source that errors mid-read)
    const e = await db.train({ ...base, from: { query: 'SELECT userid, asktimes, askbackoffdays, 1 / (userid - 7) AS bought_offer FROM offer' }, into: 'models_fail' }).then(() => null, (x: unknown) => x);
    assert.ok(e instanceof ManyModelsError, 'the run failed');
    const run = (await db.sql<Row>(`SELECT run_id::text AS id, status, staging_table AS st FROM manymodels.runs WHERE output_table LIKE '%models_fail%' ORDER BY started_at DESC LIMIT 1`)).rows[0];
    assert.equal(run.status, 'failed');
    // its clean-up's DROP failing (a lock_timeout, a lost connection) would have left the table: put it back
    await db.exec(`CREATE TABLE ${run.st.map((x: string) => `"${x}"`).join('.')} (x int)`);
    assert.equal(await stagingLeft(), 1);
    await db.train({ ...base, into: 'models_after' });
    assert.equal(await stagingLeft(), 0, 'dropped by the next run');
    assert.equal((await db.sql<Row>(`SELECT status FROM manymodels.runs WHERE run_id = $1`, [run.id])).rows[0].status, 'failed', 'its status and reason stay');
  });
});
