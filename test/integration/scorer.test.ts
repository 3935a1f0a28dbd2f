/**
 * Issue 13, item 3: db.loadModels gives an in-process scorer. The oracle is the database: every
 * source row is scored by `predict` with the SQL engine (the SQL scoring functions, in the
 * server's own arithmetic) and the scorer must give the same probabilities (to 1e-12) and classes,
 * and NULL exactly where predict gives NULL (no ok model, a NULL feature). A bounded scorer
 * (maxModels below the table's size) and a key-filtered one must agree with the complete one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ManyModels, Scorer } from 'manymodels';
import { backends } from '../helpers/backends.js';
import { OFFER_SQL } from '../helpers/offers.js';

type Row = Record<string, any>;

const close = (a: number, b: number, tol = 1e-12): boolean => Math.abs(a - b) <= tol;

for (const backend of backends) {
  describe(`in-process scorer on ${backend.name}`, () => {
    let db: ManyModels;
    before(async () => {
      db = await backend.open();
      await db.exec(OFFER_SQL(25, { singleClass: [4] }));
      // offers to score: every user (and one without a model) × four offers, one with a NULL feature
      await db.exec(`CREATE TABLE tests AS SELECT u AS userid, a AS asktimes, b AS askbackoffdays
        FROM generate_series(1, 26) AS u, (VALUES (1, 1), (3, 9), (8, 2), (5, NULL)) AS v(a, b)`);
      await db.exec(`ALTER TABLE offer ADD COLUMN kind text, ADD COLUMN spend float8, ADD COLUMN flag boolean, ADD COLUMN region text`);
      await db.exec(`UPDATE offer SET kind = (ARRAY['low','mid','top'])[1 + (offerid * 7 + asktimes) % 3], spend = asktimes * 2.5 - askbackoffdays * 0.75 + (offerid % 5) * 0.1,
        flag = bought_offer = 1, region = CASE WHEN userid % 2 = 0 THEN 'north' ELSE 'south' END`);
      await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'm_bin' });
      await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'kind', into: 'm_multi', params: { C: 0.5 } });
      await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'spend', into: 'm_ridge', estimator: 'ridge' });
      await db.train({ from: 'offer', group: ['region', 'userid'], features: ['asktimes', 'askbackoffdays'], label: 'flag', into: 'm_bool' });
    });
    after(async () => db?.close());

    async function oracle(models: string, from = 'tests'): Promise<Row[]> {
      await db.predict({ models, from, into: `${models}_scored`, engine: 'sql', replace: true });
      return (await db.sql(`SELECT * FROM ${models}_scored ORDER BY userid, asktimes`)).rows;
    }

    const x = (r: Row): number[] => [r.asktimes === null ? NaN : Number(r.asktimes), r.askbackoffdays === null ? NaN : Number(r.askbackoffdays)];

    it('binary: predictProba and predict equal the SQL engine row for row; NULL where it is NULL', async () => {
      const scorer = await db.loadModels('m_bin');
      assert.equal(scorer.size, 24, 'the 24 ok models are held (user 4 failed)');
      assert.equal(scorer.bounded, false);
      const rows = await oracle('m_bin');
      let scored = 0;
      for (const r of rows) {
        const p = scorer.predictProba(r.userid, x(r));
        const c = scorer.predict(r.userid, x(r));
        if (r.probability === null) {
          assert.equal(p, null, `user ${r.userid} ${JSON.stringify(x(r))}`);
          assert.equal(c, null);
          continue;
        }
        scored++;
        assert.ok(p !== null && close(p[1], r.probability) && close(p[0], 1 - r.probability), `user ${r.userid}: ${p} vs ${r.probability}`);
        assert.equal(c, Number(r.prediction));
      }
      assert.equal(scored, 24 * 3);
      // the batch forms give the same answers
      const probs = await scorer.predictProbaBatch(rows.map((r) => r.userid), rows.map(x));
      rows.forEach((r, i) => assert.deepEqual(probs[i], scorer.predictProba(r.userid, x(r))));
      const preds = await scorer.predictBatch(rows.map((r) => r.userid), rows.map(x));
      rows.forEach((r, i) => assert.equal(preds[i], scorer.predict(r.userid, x(r))));
      // a key given as text or as a one-element array is the same key
      assert.deepEqual(scorer.predictProba('7', [2, 3]), scorer.predictProba([7], [2, 3]));
      assert.deepEqual(scorer.classes(7), [0, 1]);
      assert.equal(scorer.model(7)?.estimatorName, 'LogisticRegression');
    });

    it('bigint keys beyond 2^53: a number finds the group its exact value names, never a neighbour it rounds to', async () => {
      // two groups whose keys are one apart above 2^53: as JavaScript numbers both would be 2^53
      await db.exec(`CREATE TABLE big AS SELECT (9007199254740992 + k)::bigint AS g, a::float8 AS x, ((a + k) % 2)::int AS y
        FROM generate_series(0, 1) AS k, generate_series(1, 8) AS a`);
      await db.exec(`UPDATE big SET x = x * 3 WHERE g = 9007199254740993`);
      await db.train({ from: 'big', group: 'g', features: ['x'], label: 'y', into: 'm_big' });
      await db.exec(`CREATE TABLE big_tests AS SELECT DISTINCT g, 2.5::float8 AS x FROM big`);
      await db.predict({ models: 'm_big', from: 'big_tests', into: 'big_scored', engine: 'sql' });
      const want = new Map((await db.sql(`SELECT g::text AS g, probability FROM big_scored`)).rows.map((r: Row) => [r.g, r.probability]));
      assert.notEqual(want.get('9007199254740992'), want.get('9007199254740993'));
      for (const opts of [{}, { maxModels: 1 }]) {
        const scorer = await db.loadModels('m_big', opts);
        if (scorer.bounded) await scorer.load([9007199254740992]);
        // 9007199254740992 is 2^53: the number's text is the key's text, so it names group …992
        assert.ok(close((scorer.predictProba(9007199254740992, [2.5]) as number[])[1], want.get('9007199254740992')), JSON.stringify(opts));
        assert.deepEqual((await scorer.predictProbaBatch([9007199254740992], [[2.5]]))[0], scorer.predictProba('9007199254740992', [2.5]));
        if (!scorer.bounded) assert.ok(close((scorer.predictProba('9007199254740993', [2.5]) as number[])[1], want.get('9007199254740993')));
      }
    });

    it('multiclass (text labels) and ridge agree with the SQL engine', async () => {
      const multi = await db.loadModels('m_multi');
      for (const r of await oracle('m_multi')) {
        const p = multi.predictProba(r.userid, x(r));
        if (r.prediction === null) {
          assert.equal(p, null);
          continue;
        }
        assert.ok(p !== null);
        const want = (r.probabilities as number[]).map(Number);
        assert.equal(p.length, want.length);
        p.forEach((v, k) => assert.ok(close(v, want[k]), `user ${r.userid} class ${k}: ${v} vs ${want[k]}`));
        assert.equal(multi.predict(r.userid, x(r)), r.prediction);
      }
      const ridge = await db.loadModels('m_ridge');
      for (const r of await oracle('m_ridge')) {
        const v = ridge.predict(r.userid, x(r));
        if (r.prediction === null) assert.equal(v, null);
        else assert.ok(typeof v === 'number' && close(v, r.prediction, 1e-9 * (1 + Math.abs(r.prediction))), `${v} vs ${r.prediction}`);
      }
      assert.throws(() => ridge.predictProba(1, [1, 1]), { code: 'INVALID_OPTION' });
    });

    it('partially pooled models (train pool: global) score as predict scores them', async () => {
      await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'm_pool', pool: 'global', poolC: 0.5 });
      const s = await db.loadModels('m_pool');
      assert.equal(s.size, 25, 'the one-class user gets a pooled model too');
      let n = 0;
      for (const r of await oracle('m_pool')) {
        const p = s.predictProba(r.userid, x(r));
        if (r.probability === null) assert.equal(p, null);
        else {
          n++;
          assert.ok(p !== null && close(p[1], r.probability), `user ${r.userid}: ${p} vs ${r.probability}`);
        }
      }
      assert.ok(n >= 25 * 3);
    });

    it('models trained with preprocessing (impute, standardize, one-hot): the scorer applies it to raw rows as predict does', async () => {
      await db.exec(`CREATE TABLE offer_p AS SELECT userid, CASE WHEN offerid % 5 = 0 THEN NULL ELSE asktimes END AS asktimes, askbackoffdays,
        region || (offerid % 3)::text AS cat, bought_offer FROM offer`);
      await db.train({ from: 'offer_p', group: 'userid', features: ['asktimes', 'askbackoffdays', 'cat'], label: 'bought_offer', into: 'm_pre', standardize: true, impute: 'mean' });
      await db.exec(`CREATE TABLE tests_p AS SELECT t.*, v.cat FROM tests t, (VALUES ('north0'), ('south1'), ('nope'), (NULL)) AS v(cat)`);
      const s = await db.loadModels('m_pre');
      assert.ok(s.size >= 20);
      let n = 0;
      for (const r of await oracle('m_pre', 'tests_p')) {
        const raw = [r.asktimes === null ? null : Number(r.asktimes), r.askbackoffdays === null ? null : Number(r.askbackoffdays), r.cat];
        const p = s.predictProba(r.userid, raw);
        if (r.probability === null) {
          assert.equal(p, null, `user ${r.userid} ${JSON.stringify(raw)}`);
          continue;
        }
        n++;
        assert.ok(p !== null && close(p[1], r.probability), `user ${r.userid} ${JSON.stringify(raw)}: ${p} vs ${r.probability}`);
        assert.equal(s.predict(r.userid, raw), Number(r.prediction));
      }
      assert.ok(n >= 20 * 16, `scored ${n}: a NULL askbackoffdays is imputed too`);
      assert.throws(() => s.predictProba(1, [1, 2]), { code: 'FEATURE_COUNT_MISMATCH' }, 'three raw columns');
    });

    it('a composite key with a boolean label: keys as arrays, classes as booleans', async () => {
      const s = await db.loadModels('m_bool');
      await db.exec(`CREATE TABLE tests2 AS SELECT CASE WHEN userid % 2 = 0 THEN 'north' ELSE 'south' END AS region, * FROM tests`);
      const rows = await oracle('m_bool', 'tests2');
      let n = 0;
      for (const r of rows) {
        const p = s.predictProba([r.region, r.userid], x(r));
        if (r.probability === null) {
          assert.equal(p, null);
          continue;
        }
        n++;
        assert.ok(p !== null && close(p[1], r.probability));
        assert.equal(s.predict([r.region, r.userid], x(r)), r.prediction);
        assert.equal(typeof r.prediction, 'boolean');
      }
      assert.ok(n > 0);
      assert.deepEqual(s.classes(['north', 2]), [false, true]);
      assert.equal(s.predictProba(['south', 2], [1, 1]), null, 'no such group');
      assert.throws(() => s.predictProba(2, [1, 1]), { code: 'INVALID_OPTION' });
    });

    it('keys loads a subset; maxModels below the table size gives a bounded scorer that agrees', async () => {
      const full = await db.loadModels('m_bin');
      const some = await db.loadModels('m_bin', { keys: [3, 4, 5, 999] });
      assert.equal(some.size, 2, 'user 4 failed, 999 does not exist');
      assert.deepEqual(some.predictProba(3, [2, 2]), full.predictProba(3, [2, 2]));
      assert.equal(some.predictProba(6, [2, 2]), null, 'outside the subset');

      const small: Scorer = await db.loadModels('m_bin', { maxModels: 5 });
      assert.equal(small.bounded, true);
      assert.equal(small.size, 0);
      assert.throws(() => small.predictProba(3, [2, 2]), { code: 'MODEL_NOT_LOADED' });
      const keys: number[] = [];
      const xs: number[][] = [];
      for (let i = 0; i < 200; i++) {
        keys.push(1 + ((i * 7) % 26));
        xs.push([1 + (i % 9), 1 + ((i * 5) % 13)]);
      }
      const got = await small.predictProbaBatch(keys, xs);
      assert.ok(small.size <= 5, `holds ${small.size}`);
      keys.forEach((k, i) => assert.deepEqual(got[i], full.predictProba(k, xs[i]), `row ${i} user ${k}`));
      await small.load([3]);
      assert.deepEqual(small.predictProba(3, [2, 2]), full.predictProba(3, [2, 2]));
      assert.equal((await small.predictBatch([4], [[1, 1]]))[0], null, 'a failed group has no model');
    });

    it('bad calls: wrong feature count, a key of the wrong width, a bad maxModels', async () => {
      const s = await db.loadModels('m_bin');
      assert.throws(() => s.predictProba(3, [1]), { code: 'FEATURE_COUNT_MISMATCH' });
      assert.throws(() => s.predict([3, 4], [1, 2]), { code: 'INVALID_OPTION' });
      await assert.rejects(db.loadModels('m_bin', { maxModels: 0 }), { code: 'INVALID_OPTION' });
      await assert.rejects(db.loadModels('nosuch'), { code: 'TABLE_NOT_FOUND' });
      await assert.rejects(db.loadModels('tests'), { code: 'NOT_A_MODELS_TABLE' });
    });
  });
}
