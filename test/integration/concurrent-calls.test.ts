import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ManyModels } from 'manymodels';
import { backends } from '../helpers/backends.js';
import { assertDeepClose, exactOn } from '../helpers/close.js';

/**
 * Issue 9, item 11: three overlapping db.train() calls on one PGlite handle all failed ("current
 * transaction is aborted", "relation already exists"), one into another table included; on a
 * server they interleaved statements on one connection (node-postgres warned "Calling
 * client.query() when the client is already executing a query"). Overlapping trains, predicts
 * and sql calls on one handle must give what the same calls give one after the other.
 */
type Row = Record<string, any>;
const SETUP = `
CREATE TABLE offer AS SELECT 1 + g % 50 AS userid, 1 + g % 10 AS asktimes, 1 + (g * 3) % 14 AS askbackoffdays, (g * 7 + g / 50) % 2 AS bought_offer FROM generate_series(0, 999) AS g;
CREATE TABLE offer2 AS SELECT userid + 1000 AS userid, asktimes, askbackoffdays, 1 - bought_offer AS bought_offer FROM offer;`;
const base = { group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer' } as const;

async function models(db: ManyModels, table: string): Promise<Row[]> {
  return (await db.sql<Row>(`SELECT userid, model, status, error, n_rows FROM ${table} ORDER BY userid`)).rows;
}

async function predictions(db: ManyModels, table: string): Promise<Row[]> {
  return (await db.sql<Row>(`SELECT userid, asktimes, askbackoffdays, probability, prediction FROM ${table} ORDER BY userid, asktimes, askbackoffdays, probability`)).rows;
}

for (const backend of backends) {
  describe(`overlapping calls on one handle, ${backend.name}`, () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    let seq: ManyModels;
    let par: ManyModels;
    before(async () => {
      process.on('warning', onWarning);
      seq = await backend.open();
      par = await backend.open();
      await seq.exec(SETUP);
      await par.exec(SETUP);
      // a models table to predict from while the trains run
      await seq.train({ ...base, from: 'offer', into: 'old_models' });
      await par.train({ ...base, from: 'offer', into: 'old_models' });
    });
    after(async () => {
      process.off('warning', onWarning);
      await seq?.close();
      await par?.close();
    });

    it('Promise.all of trains (two into one table), a predict and sql statements equals the same calls in sequence', async () => {
      const calls = (db: ManyModels) => [
        () => db.train({ ...base, from: 'offer', into: 'm_a' }),
        () => db.train({ ...base, from: 'offer', into: 'm_a' }),
        () => db.train({ ...base, from: 'offer2', into: 'm_b', params: { C: 0.5 } }),
        () => db.train({ ...base, from: 'offer', into: 'm_c', strategy: 'in-database' }),
        () => db.predict({ models: 'old_models', from: 'offer', into: 'p_old' }),
        () => db.sql<Row>('SELECT count(*)::int AS n FROM offer WHERE bought_offer = $1', [1]),
        () => db.sql<Row>('SELECT sum(userid)::int AS s FROM offer2'),
      ];
      const one: unknown[] = [];
      for (const c of calls(seq)) one.push(await c());
      const all = await Promise.all(calls(par).map((c) => c()));
      for (const i of [0, 1, 2, 3]) {
        const [a, b] = [one[i] as Row, all[i] as Row];
        assert.deepEqual([b.groupsOk, b.groupsFailed, b.rowsUsed], [a.groupsOk, a.groupsFailed, a.rowsUsed], `train ${i}`);
      }
      assert.equal((all[4] as Row).rows, 1000);
      assert.deepEqual((all[5] as Row).rows, (one[5] as Row).rows);
      assert.deepEqual((all[6] as Row).rows, (one[6] as Row).rows);
      for (const t of ['m_a', 'm_b', 'm_c']) assertDeepClose(await models(par, t), await models(seq, t), exactOn(backend), t);
      assertDeepClose(await predictions(par, 'p_old'), await predictions(seq, 'p_old'), exactOn(backend));
      // the two runs into m_a each ran whole, one after the other
      const runs = (await par.sql<Row>(`SELECT status, count(*)::int AS n FROM manymodels.runs GROUP BY status`)).rows;
      assert.deepEqual(runs, [{ status: 'succeeded', n: 6 }]);
      assert.deepEqual((await par.sql<Row>('SELECT DISTINCT run_id::text AS id FROM m_a')).rows.length, 1);
      assert.equal((await par.sql<Row>(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'mm_stage_%'`)).rows[0].n, 0);
      assert.deepEqual(warnings.filter((w) => /already executing a query/.test(w)), []);
    });

    it('many overlapping sql calls come back with their own results', async () => {
      const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => par.sql<Row>('SELECT $1::int * 2 AS v, pg_sleep(0) AS z', [i])));
      assert.deepEqual(rs.map((r) => r.rows[0].v), Array.from({ length: 40 }, (_, i) => i * 2));
      assert.deepEqual(warnings.filter((w) => /already executing a query/.test(w)), []);
    });
  });
}
