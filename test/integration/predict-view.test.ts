import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ManyModels } from 'manymodels';
import { backends, cluster } from '../helpers/backends.js';
import { OFFER_SQL } from '../helpers/offers.js';

/**
 * predict --view (src/pipeline/predict-view.ts): the view's rows are exactly the rows of the
 * predictions table that predict writes from the same models and source (the table is the oracle:
 * it is checked against scikit-learn elsewhere), for a binary classifier, a boolean label, a
 * regressor, a multiclass model (the scoring functions' path), and for a read of a few groups; it
 * scores on read, so a retrain shows without running predict again.
 */
async function rows(db: ManyModels, sql: string): Promise<Record<string, unknown>[]> {
  return (await db.sql(sql)).rows as Record<string, unknown>[];
}

/** Every column of both, in the same order, compared exactly (a float to the last bit, NULL as NULL). */
async function sameRows(db: ManyModels, view: string, table: string, where = 'true'): Promise<number> {
  const v = await rows(db, `SELECT * FROM ${view} WHERE ${where} ORDER BY offerid`);
  const t = await rows(db, `SELECT * FROM ${table} WHERE ${where} ORDER BY offerid`);
  assert.deepEqual(v, t);
  return v.length;
}

const TOTAL = 363; // the 360 rows of 40 users (6 + u % 7 each) and 3 more

for (const backend of backends) {
  describe(`predict into a view (${backend.name})`, { skip: cluster !== null ? 'not tried on a cluster' : false }, () => {
    let db: ManyModels;
    before(async () => {
      db = await backend.open();
      await db.exec(OFFER_SQL(40, { singleClass: [7] }));
      // a test set with a NULL feature, a huge one (overflow in float8 arithmetic for the table's fast form), and a user without a model
      await db.exec(`CREATE TABLE tests AS SELECT offerid, userid, asktimes, askbackoffdays, bought_offer, bought_offer = 1 AS bought, (offerid % 3) AS kind FROM offer;
        INSERT INTO tests VALUES (100001, 3, NULL, 2, 0, false, 0), (100002, 999, 1, 2, 0, false, 1), (100003, 4, 1, 2, 1, true, 2);`);
    });
    after(async () => db?.close());

    const features = ['asktimes', 'askbackoffdays'];
    it('a binary classifier: the view is the table, row for row, and a few groups read alone are too', async () => {
      await db.train({ from: 'offer', group: 'userid', features, label: 'bought_offer', into: 'models' });
      await db.predict({ models: 'models', from: 'tests', into: 'scored' });
      const r = await db.predict({ models: 'models', from: 'tests', into: 'scored_v', view: true });
      assert.equal(r.view, true);
      const kind = await rows(db, `SELECT relkind::text AS k FROM pg_class WHERE oid = 'scored_v'::regclass`);
      assert.equal(kind[0].k, 'v');
      assert.equal(await sameRows(db, 'scored_v', 'scored'), TOTAL);
      assert.equal(await sameRows(db, 'scored_v', 'scored', 'userid IN (3, 7, 999)'), 17); // 9 + 1 rows of user 3, 6 of user 7 (no model: one class), 1 of user 999
      // its metadata is a predictions table's: it can be replaced by predict without --replace
      await db.predict({ models: 'models', from: 'tests', into: 'scored_v', view: true });
      await db.predict({ models: 'models', from: 'tests', into: 'scored_v' });
      assert.equal((await rows(db, `SELECT relkind::text AS k FROM pg_class WHERE oid = 'scored_v'::regclass`))[0].k, 'r');
      await db.predict({ models: 'models', from: 'tests', into: 'scored_v', view: true });
      assert.equal(await sameRows(db, 'scored_v', 'scored'), TOTAL);
    });

    it('scores on read: a retrain shows in the view at once', async () => {
      await db.train({ from: 'offer', group: 'userid', features, label: 'bought_offer', into: 'models', params: { C: 0.05 } });
      await db.predict({ models: 'models', from: 'tests', into: 'scored' });
      assert.equal(await sameRows(db, 'scored_v', 'scored'), TOTAL);
    });

    it('a read of one group uses the models table’s primary key (the key condition reaches it)', { skip: backend.name === 'pglite' ? 'EXPLAIN checked on the server' : false }, async () => {
      await db.exec('SET enable_seqscan = off');
      try {
        const plan = (await db.sql('EXPLAIN SELECT * FROM scored_v WHERE userid = 5')).rows.map((r) => String(Object.values(r)[0])).join('\n');
        assert.match(plan, /Index (Only )?Scan using models_pkey/);
      } finally {
        await db.exec('RESET enable_seqscan');
      }
    });

    it('a boolean label, a regressor and a multiclass model: the view is the table', async () => {
      await db.train({ from: 'tests', group: 'userid', features, label: 'bought', into: 'm_bool' });
      await db.predict({ models: 'm_bool', from: 'tests', into: 's_bool' });
      await db.predict({ models: 'm_bool', from: 'tests', into: 'v_bool', view: true });
      assert.equal(await sameRows(db, 'v_bool', 's_bool'), TOTAL);
      assert.equal(typeof (await rows(db, 'SELECT prediction FROM v_bool WHERE prediction IS NOT NULL LIMIT 1'))[0].prediction, 'boolean');

      await db.train({ from: 'offer', group: 'userid', features: ['asktimes'], label: 'askbackoffdays', into: 'm_lin', estimator: 'linear' });
      await db.predict({ models: 'm_lin', from: 'tests', into: 's_lin', features: ['asktimes'] });
      await db.predict({ models: 'm_lin', from: 'tests', into: 'v_lin', features: ['asktimes'], view: true });
      assert.equal(await sameRows(db, 'v_lin', 's_lin'), TOTAL);

      await db.train({ from: 'tests', group: 'userid', features, label: 'kind', into: 'm_multi' });
      await db.predict({ models: 'm_multi', from: 'tests', into: 's_multi' });
      await db.predict({ models: 'm_multi', from: 'tests', into: 'v_multi', view: true });
      assert.equal(await sameRows(db, 'v_multi', 's_multi'), TOTAL);
      assert.ok((await rows(db, 'SELECT probabilities FROM v_multi WHERE probabilities IS NOT NULL')).length > 0);
    });

    it('refuses the TypeScript engine, and a table it did not write, leaving it as it was', async () => {
      await assert.rejects(db.predict({ models: 'models', from: 'tests', into: 'v_ts', view: true, engine: 'ts' }), (e: any) => e.code === 'USAGE' && /--view/.test(e.message));
      // a fallback model would be frozen into the view's text while the groups' models follow retrains
      await assert.rejects(db.predict({ models: 'models', from: 'tests', into: 'v_fb', view: true, fallback: 'global' }), (e: any) => e.code === 'INVALID_OPTION' && /--fallback/.test(e.message));
      assert.equal((await db.sql(`SELECT to_regclass('v_fb') AS r`)).rows[0].r, null);
      await db.exec('CREATE TABLE mine (x int); INSERT INTO mine VALUES (1)');
      await assert.rejects(db.predict({ models: 'models', from: 'tests', into: 'mine', view: true }), (e: any) => e.code === 'OUTPUT_TABLE_NOT_MANAGED');
      assert.deepEqual(await rows(db, 'SELECT x FROM mine'), [{ x: 1 }]);
    });
  });
}
