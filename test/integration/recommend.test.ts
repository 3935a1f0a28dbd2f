import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ManyModels } from 'manymodels';
import { backends } from '../helpers/backends.js';

/**
 * recommend against outside oracles: predict writes every (user, offer) score, and a plain
 * row_number() OVER (PARTITION BY userid ORDER BY score DESC, offerid) query written here ranks
 * them; the SQL and TypeScript engines must both give that ranking.
 */
function offerRows(users: number): string {
  const rows: string[] = [];
  let s = 4242;
  const r = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  for (let u = 1; u <= users; u++) {
    for (let i = 0; i < 8 + (u % 5); i++) {
      const a = 1 + Math.floor(r() * 10);
      const b = 1 + Math.floor(r() * 14);
      const p = 1 / (1 + Math.exp(-((u % 4) - 1.5) * 0.3 * a + 0.15 * b - 0.5));
      let y = r() < p ? 1 : 0;
      if (i === 0) y = 0;
      if (i === 1) y = 1;
      if (u === 7) y = 1; // one class only: a failed group
      rows.push(`(${u}, ${a}, ${b}, ${y}, ${(a * 1.5 + b * r()).toFixed(3)})`);
    }
  }
  return rows.join(',\n');
}

// offers 7 and 8 are the same offer under two ids: exact ties, broken by offerid
const SETUP = `
CREATE TABLE offer (userid int, asktimes int, askbackoffdays int, bought_offer int, spend float8);
INSERT INTO offer VALUES ${offerRows(30)};
CREATE TABLE offers (offerid int, asktimes int, askbackoffdays int, price float8);
INSERT INTO offers VALUES (1, 1, 1, 10), (2, 2, 9, 4), (3, 3, 3, 8), (4, 5, 2, 2.5), (5, 6, 12, 6), (6, 8, 4, 1),
  (7, 9, 7, 3), (8, 9, 7, 3), (9, 10, 14, 9), (10, 4, 4, 5);
CREATE TABLE taken (userid int, offerid int);
INSERT INTO taken VALUES (1, 9), (1, 1), (2, 4), (3, 7), (999, 1);
CREATE TABLE own_offers AS SELECT u.userid, o.offerid, o.asktimes, o.askbackoffdays, o.price
  FROM generate_series(1, 30) AS u(userid) JOIN offers o ON (o.offerid + u.userid) % 3 <> 0;
`;

type Row = Record<string, any>;

/** (userid, offerid, rank, score) of a recommendations table, in a fixed order. */
async function picks(db: ManyModels, table: string): Promise<Row[]> {
  return (await db.sql(`SELECT userid, offerid, rank, score FROM ${table} ORDER BY userid, rank`)).rows;
}

/** The oracle: rank predict's output with a window function. */
async function oracle(db: ManyModels, predictions: string, score: string, k: number, where = 'TRUE'): Promise<Row[]> {
  return (
    await db.sql(`
      SELECT userid, offerid, rank, score FROM (
        SELECT userid, offerid, ${score} AS score,
               (row_number() OVER (PARTITION BY userid ORDER BY ${score} DESC, offerid))::int AS rank
        FROM ${predictions} p WHERE ${score} IS NOT NULL AND ${where}) AS q
      WHERE rank <= ${k} ORDER BY userid, rank`)
  ).rows;
}

function sameRanking(actual: Row[], expected: Row[], tol: number): void {
  assert.ok(expected.length > 0, 'the oracle has rows');
  assert.deepEqual(
    actual.map((r) => [r.userid, r.offerid, r.rank]),
    expected.map((r) => [r.userid, r.offerid, r.rank]),
  );
  for (let i = 0; i < actual.length; i++) assert.ok(Math.abs(actual[i].score - expected[i].score) <= tol, `score ${actual[i].score} vs ${expected[i].score}`);
}

for (const backend of backends) {
  describe(`recommend on ${backend.name}`, () => {
    let db: ManyModels;
    before(async () => {
      db = await backend.open();
      await db.exec(SETUP);
      await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'models' });
      await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'spend', into: 'spend_models', estimator: 'linear' });
      // every (user, offer) pair scored by predict: what the oracles rank
      const all = `SELECT u.userid, o.* FROM (SELECT DISTINCT userid FROM models) AS u CROSS JOIN offers AS o`;
      await db.predict({ models: 'models', from: { query: all }, into: 'all_scores' });
      await db.predict({ models: 'spend_models', from: { query: all }, into: 'all_spend' });
    });
    after(async () => {
      await db?.close();
    });

    it('top 3 by probability: the SQL engine ranks as a window over predict, the TypeScript engine the same, ties by offer', async () => {
      const expected = await oracle(db, 'all_scores', 'p.probability', 3);
      const sql = await db.recommend({ models: 'models', candidates: 'offers', candidate: 'offerid', into: 'rec_sql', k: 3 });
      assert.equal(sql.engine, 'sql');
      assert.equal(sql.by, 'probability');
      sameRanking(await picks(db, 'rec_sql'), expected, 0);
      const ts = await db.recommend({ models: 'models', candidates: 'offers', candidate: 'offerid', into: 'rec_ts', k: 3, engine: 'ts' });
      assert.equal(ts.engine, 'ts');
      sameRanking(await picks(db, 'rec_ts'), expected, 1e-12);
      // user 7 has one class only: its model failed, so it is skipped and counted
      for (const r of [sql, ts]) {
        assert.equal(r.groups, 30);
        assert.equal(r.groupsWithoutModel, 1);
        assert.equal(r.groupsRecommended, 29);
        assert.equal(r.rows, 29 * 3);
        assert.equal(r.candidates, 300);
      }
      assert.ok(!(await picks(db, 'rec_sql')).some((r) => r.userid === 7));
      // the full ranking (k = 10) holds the tie of offers 7 and 8 in every group: 7 first, on both engines
      const full = await oracle(db, 'all_scores', 'p.probability', 10);
      for (const engine of ['sql', 'ts'] as const) {
        await db.recommend({ models: 'models', candidates: 'offers', candidate: 'offerid', into: `full_${engine}`, k: 10, engine });
        sameRanking(await picks(db, `full_${engine}`), full, 1e-12);
        const tied = await db.sql<Row>(`SELECT count(*)::int AS n FROM full_${engine} a JOIN full_${engine} b ON a.userid = b.userid AND a.offerid = 7 AND b.offerid = 8 AND b.rank = a.rank + 1 AND a.score = b.score`);
        assert.equal(tied.rows[0].n, 29);
      }
    });

    it('expected value (probability × price − cost) with pairs already taken excluded', async () => {
      const where = 'NOT EXISTS (SELECT 1 FROM taken t WHERE t.userid = p.userid AND t.offerid = p.offerid)';
      const expected = await oracle(db, 'all_scores', 'p.probability * p.price - 0.75', 2, where);
      for (const engine of ['sql', 'ts'] as const) {
        const r = await db.recommend({ models: 'models', candidates: 'offers', candidate: 'offerid', into: `ev_${engine}`, k: 2, value: 'price', cost: 0.75, exclude: 'taken', engine });
        assert.equal(r.by, 'expected-value');
        assert.equal(r.candidates, 300 - 4);
        const got = await picks(db, `ev_${engine}`);
        sameRanking(got, expected, 1e-12);
        assert.ok(!got.some((x) => (x.userid === 1 && (x.offerid === 9 || x.offerid === 1)) || (x.userid === 2 && x.offerid === 4)));
      }
    });

    it('probability of a chosen class, a cost per candidate, and the groups given as a table', async () => {
      await db.exec(`CREATE TABLE some_users AS SELECT * FROM (VALUES (2), (7), (11), (999)) AS t(userid)`);
      const expected = await oracle(db, 'all_scores', '(1 - p.probability) - p.price / 100', 1, 'userid IN (2, 11)');
      for (const engine of ['sql', 'ts'] as const) {
        const r = await db.recommend({ models: 'models', candidates: 'offers', candidate: 'offerid', groups: 'some_users', into: `neg_${engine}`, positiveClass: '0', cost: { column: 'price' }, engine });
        // price is subtracted whole here; the oracle divides by 100 in its own query below
        assert.equal(r.groups, 4);
        assert.equal(r.groupsWithoutModel, 2); // 7 failed, 999 has no model
        assert.equal(r.groupsRecommended, 2);
      }
      // the same ranking with the cost scaled as the oracle has it
      await db.exec(`CREATE VIEW offers_cents AS SELECT offerid, asktimes, askbackoffdays, price / 100 AS cents FROM offers`);
      for (const engine of ['sql', 'ts'] as const) {
        await db.recommend({ models: 'models', candidates: 'offers_cents', candidate: 'offerid', groups: 'some_users', into: `negc_${engine}`, positiveClass: '0', cost: { column: 'cents' }, engine });
        sameRanking(await picks(db, `negc_${engine}`), expected, 1e-12);
      }
    });

    it('each group its own candidates (a table with the group key)', async () => {
      await db.predict({ models: 'models', from: 'own_offers', into: 'own_scores' });
      const expected = await oracle(db, 'own_scores', 'p.probability', 2);
      for (const engine of ['sql', 'ts'] as const) {
        const r = await db.recommend({ models: 'models', candidates: 'own_offers', candidate: 'offerid', into: `own_${engine}`, k: 2, engine });
        assert.equal(r.groupsRecommended, 29);
        sameRanking(await picks(db, `own_${engine}`), expected, 1e-12);
      }
      // a candidate must belong to its group: nothing from another user's list
      const foreign = await db.sql(`SELECT 1 FROM own_sql r WHERE NOT EXISTS (SELECT 1 FROM own_offers o WHERE o.userid = r.userid AND o.offerid = r.offerid)`);
      assert.equal(foreign.rows.length, 0);
    });

    it('regressors rank by their prediction', async () => {
      const expected = await oracle(db, 'all_spend', 'p.prediction', 2);
      for (const engine of ['sql', 'ts'] as const) {
        const r = await db.recommend({ models: 'spend_models', candidates: 'offers', candidate: 'offerid', into: `spend_${engine}`, k: 2, engine });
        assert.equal(r.by, 'prediction');
        assert.equal(r.groupsRecommended, 30);
        sameRanking(await picks(db, `spend_${engine}`), expected, 1e-9);
        const probs = await db.sql<Row>(`SELECT count(*)::int AS n FROM spend_${engine} WHERE probability IS NOT NULL`);
        assert.equal(probs.rows[0].n, 0);
      }
    });

    it('multiclass models: the probability of the class asked for, on both engines', async () => {
      await db.exec(`CREATE TABLE tiers AS SELECT userid, asktimes, askbackoffdays, (CASE WHEN spend < 6 THEN 0 WHEN spend < 11 THEN 1 ELSE 2 END) AS tier FROM offer`);
      await db.train({ from: 'tiers', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'tier', into: 'tier_models' });
      const all = `SELECT u.userid, o.* FROM (SELECT DISTINCT userid FROM tier_models) AS u CROSS JOIN offers AS o`;
      await db.predict({ models: 'tier_models', from: { query: all }, into: 'tier_scores' });
      // the oracle reads predict's per-class probabilities at the position of class 2 in the model's classes
      await db.exec(`CREATE VIEW tier2 AS SELECT p.userid, p.offerid,
        p.probabilities[array_position(ARRAY(SELECT jsonb_array_elements_text(m.model->'state'->'classes')), '2')] AS probability
        FROM tier_scores p JOIN tier_models m USING (userid)`);
      const expected = await oracle(db, 'tier2', 'p.probability', 2);
      const multi = (await db.sql<Row>(`SELECT count(*)::int AS n FROM tier_models WHERE jsonb_array_length(model->'state'->'classes') = 3`)).rows[0].n;
      assert.ok(multi > 5, `${multi} groups with three classes`);
      for (const engine of ['sql', 'ts'] as const) {
        const r = await db.recommend({ models: 'tier_models', candidates: 'offers', candidate: 'offerid', into: `tier_${engine}`, k: 2, positiveClass: '2', engine });
        sameRanking(await picks(db, `tier_${engine}`), expected, 1e-12);
        assert.equal(r.groupsRecommended, new Set(expected.map((x) => x.userid)).size);
      }
      await assert.rejects(db.recommend({ models: 'tier_models', candidates: 'offers', into: 'bad' }), { code: 'USAGE' });
    });

    it('a candidate whose score underflows float8 arithmetic: scored again with ieee_dot, as predict does, on both engines', async () => {
      // 5e-324 × a coefficient underflows to 0, which PostgreSQL's float8 multiplication refuses (SQLSTATE 22003)
      await assert.rejects(db.sql(`SELECT '5e-324'::float8 * '0.1'::float8`), { sqlState: '22003' });
      await db.exec(`CREATE VIEW offers_huge AS SELECT offerid, (CASE WHEN offerid = 5 THEN '1e308' WHEN offerid = 3 THEN '5e-324' ELSE asktimes::text END)::float8 AS asktimes, askbackoffdays::float8 AS askbackoffdays FROM offers`);
      const all = `SELECT u.userid, o.* FROM (SELECT DISTINCT userid FROM models) AS u CROSS JOIN offers_huge AS o`;
      await db.predict({ models: 'models', from: { query: all }, into: 'huge_scores' });
      const expected = await oracle(db, 'huge_scores', 'p.probability', 2);
      assert.ok(expected.some((x) => x.offerid === 5 && x.score === 1), 'offer 5 is certain for some users');
      for (const engine of ['sql', 'ts'] as const) {
        await db.recommend({ models: 'models', candidates: 'offers_huge', candidate: 'offerid', into: `huge_${engine}`, k: 2, engine });
        sameRanking(await picks(db, `huge_${engine}`), expected, 1e-12);
      }
    });

    it('bad options: clear codes, nothing written', async () => {
      await assert.rejects(db.recommend({ models: 'models', candidates: 'offers', into: 'bad', k: 0 }), { code: 'INVALID_OPTION' });
      await assert.rejects(db.recommend({ models: 'spend_models', candidates: 'offers', into: 'bad', value: 'price' }), { code: 'USAGE' });
      await assert.rejects(db.recommend({ models: 'models', candidates: 'offers', into: 'bad', candidate: 'nope' }), { code: 'COLUMN_NOT_FOUND' });
      await assert.rejects(db.recommend({ models: 'offers', candidates: 'offers', into: 'bad' }), { code: 'NOT_A_MODELS_TABLE' });
      await assert.rejects(db.recommend({ models: 'models', candidates: 'offers', into: 'bad', exclude: 'offer' }), { code: 'COLUMN_NOT_FOUND' });
      const t = await db.sql<Row>(`SELECT to_regclass('bad') AS t`);
      assert.equal(t.rows[0].t, null);
    });
  });
}
