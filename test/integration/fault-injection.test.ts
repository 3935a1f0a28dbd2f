import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ManyModels, open } from 'manymodels';
import { freshDatabaseUrl } from '../helpers/backends.js';
import { killCliAt } from '../helpers/kill-at.js';
import { OFFER_SQL } from '../helpers/offers.js';

const TRAIN_ARGS = ['train', '--from', 'offer', '--group', 'userid', '--features', 'asktimes,askbackoffdays', '--label', 'bought_offer', '--into', 'models', '--batch-groups', '50'];

/**
 * Kills a training run with SIGKILL at named points (read, fit, write, swap; both strategies) and
 * checks after each that the previous models table is byte-for-byte the same (or, once the swap
 * has committed, completely the new one), and that the next run succeeds and cleans up.
 */
type Row = Record<string, any>;

const STREAMING = ['plan', 'catalog', 'run-recorded', 'staging-created', 'read:1', 'read:2', 'read:4', 'read:7', 'write:1', 'write:2', 'write:5', 'copy-done', 'swap:begin', 'swap:dropped', 'swap:renamed', 'swap:catalogued', 'swap:committed', 'done'];
const IN_DATABASE = ['indb:data', 'indb:groups', 'indb:iter:1', 'indb:iter:3', 'indb:models', 'swap:dropped'];
const COMMITTED = new Set(['swap:committed', 'done']);
/** Points before the run's catalog row is written. */
const RECORDED_BEFORE = new Set(['plan', 'catalog']);



describe('SIGKILL at every stage of a run loses nothing', () => {
  let url: string;
  let db: ManyModels;
  const fingerprint = async () =>
    (await db.sql<Row>(`SELECT md5(string_agg(m::text, '|' ORDER BY m.userid)) || ' ' || obj_description('models'::regclass, 'pg_class') AS f FROM models AS m`)).rows[0].f as string;
  before(async () => {
    url = await freshDatabaseUrl();
    db = await open(url);
    await db.exec(OFFER_SQL(400, { rows: 10, singleClass: [7, 300] }));
    await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'models' });
  });
  after(async () => {
    await db?.close();
  });

  it(`kills at ${STREAMING.length + IN_DATABASE.length} points`, async () => {
    const points = [...STREAMING.map((p) => [p, []] as const), ...IN_DATABASE.map((p) => [p, ['--strategy', 'in-database']] as const)];
    for (const [point, extra] of points) {
      const before = await fingerprint();
      const runsBefore = (await db.sql<Row>('SELECT count(*)::int AS n FROM manymodels.runs')).rows[0].n;
      const { reached, stderr } = await killCliAt(url, point, [...TRAIN_ARGS, ...extra], 60_000);
      assert.ok(reached, `the run reached ${point}: ${stderr}`);
      const latest = (await db.sql<Row>('SELECT run_id::text AS id, status FROM manymodels.runs ORDER BY started_at DESC LIMIT 1')).rows[0];
      if (COMMITTED.has(point)) {
        // the swap committed before the kill: the table is completely the new run's
        const owners = (await db.sql<Row>('SELECT DISTINCT run_id::text AS id FROM models')).rows;
        assert.deepEqual(owners, [{ id: latest.id }], point);
        assert.equal((await db.sql<Row>('SELECT count(*)::int AS n FROM models')).rows[0].n, 400);
        assert.equal(latest.status, 'succeeded');
      } else {
        assert.equal(await fingerprint(), before, `${point}: the previous table is byte-for-byte the same`);
      }
      // the next run succeeds and cleans up after the killed one
      const next = await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'models' });
      assert.deepEqual([next.groupsOk, next.groupsFailed], [398, 2], `${point}: the next run trains every group but the two single-class ones`);
      const left = (await db.sql<Row>(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'mm_stage_%'`)).rows[0].n;
      assert.equal(left, 0, `${point}: staging and work tables are gone`);
      const runs = (await db.sql<Row>('SELECT count(*)::int AS n FROM manymodels.runs')).rows[0].n;
      const killed = (await db.sql<Row>(`SELECT status FROM manymodels.runs WHERE run_id::text = $1`, [latest.id])).rows[0];
      if (RECORDED_BEFORE.has(point)) {
        // the killed run did not get as far as its catalog row: only the next run was added
        assert.equal(runs, runsBefore + 1, `${point}: no catalog row of the killed run`);
      } else {
        assert.equal(runs, runsBefore + 2, `${point}: the killed run and the next one are catalogued`);
        assert.equal(killed.status, COMMITTED.has(point) ? 'succeeded' : 'abandoned', `${point}: the killed run's status`);
      }
      assert.equal((await db.sql<Row>(`SELECT count(*)::int AS n FROM manymodels.runs WHERE status = 'running'`)).rows[0].n, 0);
    }
  });
});
