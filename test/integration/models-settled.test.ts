import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { type ManyModels, open } from 'manymodels';
import { backends, cluster, freshDatabaseUrl } from '../helpers/backends.js';

/**
 * A models table is ready to be read the moment a train ends: PostgreSQL's own catalog says it has
 * statistics (pg_class.reltuples is the number of models, pg_stats has its status column), so the
 * predict that follows is planned for the models there are rather than for a guess.
 */
const SOURCE = `SELECT g % 600 AS k, (g % 7)::float8 AS a, (g % 5)::float8 AS b, (g % 3 = 0)::int AS y FROM generate_series(1, 6000) g`;

interface RelStats {
  reltuples: number;
  relpages: number;
  relallvisible: number;
  statusStats: number;
}

async function relStats(db: ManyModels, table: string): Promise<RelStats> {
  return (await db.sql<RelStats>(
    `SELECT reltuples::float8 AS reltuples, relpages::int AS relpages, relallvisible::int AS relallvisible,
            (SELECT count(*)::int FROM pg_stats WHERE schemaname = 'public' AND tablename = $1 AND attname = 'status') AS "statusStats"
     FROM pg_class WHERE oid = to_regclass($1)`,
    [table],
  )).rows[0];
}

for (const backend of backends) {
  // on a cluster the coordinator's catalog holds no rows of a distributed table (its shards or
  // segments do), so there the statistics are not read from it
  const local = backend.name === 'pglite' || backend.name === 'postgres';
  describe(`a trained models table is analyzed on ${backend.name}`, { skip: !local && 'the catalog of a cluster coordinator holds no rows of distributed tables' }, () => {
    let db: ManyModels;
    before(async () => {
      db = await backend.open();
      await db.exec(`CREATE TABLE settle_src AS ${SOURCE}`);
    });
    after(async () => {
      await db?.close();
    });

    it('a new models table has statistics for every model', async () => {
      const r = await db.train({ from: 'settle_src', group: 'k', label: 'y', features: ['a', 'b'], into: 'settle_m' });
      assert.equal(r.groupsOk + r.groupsFailed, 600);
      const s = await relStats(db, 'settle_m');
      assert.equal(s.reltuples, 600, 'reltuples: the number of models, from ANALYZE');
      assert.equal(s.statusStats, 1, 'pg_stats has the status column');
      const doc = (await db.sql<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stats WHERE tablename = 'settle_m' AND attname = 'model'`)).rows[0].n;
      assert.equal(doc, 0, 'the documents are left out: their statistics plan nothing and cost most of an ANALYZE');
      assert.ok(s.relpages > 0);
    });

    it('a retrain into a table kept in place (an index on it) updates its statistics', async () => {
      await db.exec('CREATE INDEX settle_m_status ON settle_m (status)');
      await db.train({ from: { query: 'SELECT * FROM settle_src WHERE k < 150' }, group: 'k', label: 'y', features: ['a', 'b'], into: 'settle_m', replace: true });
      const idx = (await db.sql<{ n: number }>(`SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'settle_m_status'`)).rows[0].n;
      assert.equal(idx, 1, 'the index was kept: the rows were replaced in place');
      const s = await relStats(db, 'settle_m');
      assert.equal(s.reltuples, 150, 'reltuples: the new number of models');
      // a rollback to the state before (600 models) writes the table again: its statistics follow
      await db.rollback({ models: 'settle_m' });
      assert.equal((await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM settle_m')).rows[0].n, 600);
      assert.equal((await relStats(db, 'settle_m')).reltuples, 600, 'reltuples after the rollback');
    });

    it('an incremental run that adds many groups analyzes the table again (autovacuum\'s rule: 50 rows + 10%)', async () => {
      await db.exec(`CREATE TABLE settle_inc AS SELECT * FROM settle_src WHERE k < 50`);
      await db.train({ from: 'settle_inc', group: 'k', label: 'y', features: ['a', 'b'], into: 'settle_i', incremental: true });
      assert.equal((await relStats(db, 'settle_i')).reltuples, 50);
      await db.exec(`INSERT INTO settle_inc SELECT * FROM settle_src WHERE k >= 50`);
      await db.train({ from: 'settle_inc', group: 'k', label: 'y', features: ['a', 'b'], into: 'settle_i', incremental: true });
      assert.equal((await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM settle_i')).rows[0].n, 600);
      assert.equal((await relStats(db, 'settle_i')).reltuples, 600, 'reltuples after 550 new groups');
      // and the other way: groups that vanished and were dropped count as changes too
      await db.exec(`DELETE FROM settle_inc WHERE k >= 60`);
      await db.train({ from: 'settle_inc', group: 'k', label: 'y', features: ['a', 'b'], into: 'settle_i', incremental: true, vanished: 'drop' });
      assert.equal((await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM settle_i')).rows[0].n, 60);
      assert.equal((await relStats(db, 'settle_i')).reltuples, 60, 'reltuples after 540 vanished groups');
    });

    it('explain shows the statement that does it', async () => {
      const lines = (await db.explainTrain({ from: 'settle_src', group: 'k', label: 'y', features: ['a', 'b'], into: 'settle_m2' })).join('\n');
      assert.match(lines, /ANALYZE "mm_stage_[0-9a-f]+" \("k", "status", /);
    });
  });
}

/**
 * A train in progress holds no lock that another session's reading of the catalog waits for (an
 * earlier version emptied its staging table with TRUNCATE in the writer's transaction, for COPY
 * FREEZE, and pg_dump, VACUUM and size queries waited for the whole train). Held mid-read by an
 * advisory lock that the source's rows wait for: no timing window.
 */
describe('a train in progress on a PostgreSQL server blocks no other session', { skip: cluster !== null && 'the default pass only' }, () => {
  it('a query of every table\'s size does not wait for the train', async () => {
    const url = await freshDatabaseUrl();
    const db = await open(url);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await db.exec(`CREATE TABLE settle_src AS ${SOURCE}`);
      await admin.query('SELECT pg_advisory_lock(7777777701)');
      const run = db.train({ from: { query: 'SELECT * FROM settle_src WHERE pg_advisory_lock_shared(7777777701) IS NOT NULL' }, group: 'k', label: 'y', features: ['a', 'b'], into: 'settle_m' });
      const outcome = run.then(() => null, (e: unknown) => e);
      // wait for the state: the read's COPY waiting on the lock, after the staging table was made
      for (let waiting = 0; waiting === 0; ) {
        waiting = (await admin.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY (SELECT%' AND wait_event_type = 'Lock'`)).rowCount ?? 0;
      }
      await admin.query(`SET lock_timeout = '3s'`);
      const sizes = await admin.query(`SELECT count(*)::int AS n, sum(pg_total_relation_size(oid))::float8 AS bytes FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace`);
      assert.equal(sizes.rows[0].n, 2, 'the source and the staging table, read without waiting');
      await admin.query('SELECT pg_advisory_unlock(7777777701)');
      assert.equal(await outcome, null, 'the train succeeded');
      assert.equal((await relStats(db, 'settle_m')).reltuples, 600);
    } finally {
      await admin.end();
      await db.close();
    }
  });
});
