import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { type DatabaseError, type ManyModels, ManyModelsError, open } from 'manymodels';
import { freshDatabaseUrl } from '../helpers/backends.js';
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

  const stagingLeft = async () => (await db.sql<Row>(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'mm_stage_%'`)).rows[0].n;

  it('a dropped connection mid-run: a clear error, nothing half-written, the run marked failed', async () => {
    const before = await snapshot(db);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const run = db.train({ ...base, from: slow(1.5), into: 'models' });
    // the reading connection is the one running the COPY with pg_sleep
    let killed = 0;
    for (let i = 0; i < 50 && killed === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await admin.query(`SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE query LIKE 'COPY (SELECT%pg_sleep%' AND pid <> pg_backend_pid()`);
      killed = r.rowCount ?? 0;
    }
    await admin.end();
    assert.equal(killed, 1, 'the reading backend was found and terminated');
    await assert.rejects(run, (e: ManyModelsError) => /CONNECTION_LOST|CONNECTION_FAILED|DATABASE_ERROR/.test(e.code) && /terminat|connection/i.test(e.message));
    assert.deepEqual(await snapshot(db), before);
    const last = (await db.sql<Row>(`SELECT status, error FROM manymodels.runs ORDER BY started_at DESC LIMIT 1`)).rows[0];
    assert.equal(last.status, 'failed');
  });

  it('a worker thread that crashes once: its batch is retried and every group is trained', async () => {
    process.env.MANYMODELS_FAULT_WORKER = 'crash-first-attempt';
    try {
      const r = await db.train({ ...base, into: 'crash_once', workers: 2, batchGroups: 50 });
      assert.equal(r.groupsOk + r.groupsFailed, 400);
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
      assert.ok(r.groupsOk >= 45);
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
        const r = await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'COPY (SELECT%pg_sleep(30)%' AND state = 'active'`);
        if (r.rows[0].n > 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      child.kill(sig);
      const exit = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      assert.equal(exit, code, stderr);
      assert.match(stderr, /CANCELLED/);
      const active = (await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND state = 'active' AND pid <> pg_backend_pid()`)).rows[0].n;
      await admin.end();
      assert.equal(active, 0, 'the server-side query was cancelled');
      assert.deepEqual(await snapshot(db), before);
      const last = (await db.sql<Row>(`SELECT status FROM manymodels.runs ORDER BY started_at DESC LIMIT 1`)).rows[0];
      assert.equal(last.status, 'cancelled');
    });
  }

  it('two runs writing the same table do not interleave: the second waits, or fails at once', async () => {
    const db2 = await open(url);
    try {
      const first = db.train({ ...base, from: slow(1), into: 'shared' });
      await new Promise((r) => setTimeout(r, 300));
      await assert.rejects(db2.train({ ...base, into: 'shared', wait: false }), (e: DatabaseError) => e.code === 'OUTPUT_LOCKED' && /another manymodels run is writing shared/.test(e.message));
      const second = db2.train({ ...base, into: 'shared' });
      const [a, b] = await Promise.all([first, second]);
      const runs = (await db.sql<Row>(`SELECT run_id::text AS id, started_at, finished_at FROM manymodels.runs WHERE run_id IN ($1, $2)`, [a.runId, b.runId])).rows;
      const ra = runs.find((r) => r.id === a.runId)!;
      const rb = runs.find((r) => r.id === b.runId)!;
      assert.ok(rb.started_at >= ra.finished_at, 'the second run started after the first had swapped its table in');
      const owner = (await db.sql<Row>(`SELECT DISTINCT run_id::text AS id FROM shared`)).rows;
      assert.deepEqual(owner, [{ id: b.runId }]);
    } finally {
      await db2.close();
    }
  });

  it('runs into different tables proceed in parallel', async () => {
    const db2 = await open(url);
    try {
      const [a, b] = await Promise.all([db.train({ ...base, from: slow(1), into: 'par_a' }), db2.train({ ...base, from: slow(1), into: 'par_b' })]);
      const runs = (await db.sql<Row>(`SELECT run_id::text AS id, started_at, finished_at FROM manymodels.runs WHERE run_id IN ($1, $2)`, [a.runId, b.runId])).rows;
      const [x, y] = runs;
      assert.ok(x.started_at < y.finished_at && y.started_at < x.finished_at, 'the two runs overlapped');
    } finally {
      await db2.close();
    }
  });

  it('no staging table is left behind by any of the above', async () => {
    assert.equal(await stagingLeft(), 0);
  });
});
