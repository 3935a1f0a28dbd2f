import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { open } from 'manymodels';
import { killCliAt } from '../helpers/kill-at.js';
import { OFFER_SQL } from '../helpers/offers.js';

/**
 * SIGKILL on the embedded database: a run killed at named points of reading, writing and the swap
 * leaves a file-backed PGlite database that opens again (the dead process's lock file is stale),
 * with the previous models table exactly as it was (or, once the swap has committed, entirely the
 * new one), and the next run succeeds and cleans up.
 */
type Row = Record<string, any>;
const work = mkdtempSync(join(tmpdir(), 'manymodels-kill-'));
after(() => rmSync(work, { recursive: true, force: true }));
const TRAIN = ['train', '--from', 'offer', '--group', 'userid', '--features', 'asktimes,askbackoffdays', '--label', 'bought_offer', '--into', 'models', '--batch-groups', '20'];


describe('SIGKILL of a run on a file-backed PGlite database', () => {
  for (const point of ['read:1', 'write:2', 'swap:renamed', 'swap:committed']) {
    it(`killed at ${point}: the database opens, the table is whole, the next run cleans up`, async () => {
      const dir = join(work, point.replace(':', '-'));
      let db = await open(dir);
      await db.exec(OFFER_SQL(100, { singleClass: [3] }));
      await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'models' });
      const fingerprint = async () => (await db.sql<Row>(`SELECT md5(string_agg(m::text, '|' ORDER BY m.userid)) AS f FROM models AS m`)).rows[0].f as string;
      const before = await fingerprint();
      await db.close();
      const { reached, stderr } = await killCliAt(dir, point, TRAIN, 120_000);
      assert.ok(reached, `the run reached ${point}: ${stderr}`);
      db = await open(dir);
      try {
        const latest = (await db.sql<Row>('SELECT run_id::text AS id, status FROM manymodels.runs ORDER BY started_at DESC LIMIT 1')).rows[0];
        if (point === 'swap:committed') {
          assert.deepEqual((await db.sql<Row>('SELECT DISTINCT run_id::text AS id FROM models')).rows, [{ id: latest.id }]);
          assert.equal(latest.status, 'succeeded');
        } else {
          assert.equal(await fingerprint(), before, `${point}: the previous table is byte-for-byte the same`);
          assert.equal(latest.status, 'running', 'the killed run is still marked running until the next run looks');
        }
        const next = await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'models' });
        assert.deepEqual([next.groupsOk, next.groupsFailed], [99, 1]);
        assert.equal((await db.sql<Row>(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'mm_stage_%'`)).rows[0].n, 0, 'no staging table left');
        const killed = (await db.sql<Row>('SELECT status FROM manymodels.runs WHERE run_id::text = $1', [latest.id])).rows[0];
        assert.equal(killed.status, point === 'swap:committed' ? 'succeeded' : 'abandoned');
      } finally {
        await db.close();
      }
    });
  }
});
