import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ManyModels } from 'manymodels';
import { backends } from '../helpers/backends.js';

/**
 * On a real Greenplum cluster (the pass MANYMODELS_TEST_GREENPLUM_URL turns on): the same rows as
 * every kind of source Greenplum has — distributed by the group key, by another column, randomly,
 * replicated, a view, a query — train with both strategies and score with both engines, and every
 * result equals the one from the source distributed by the key (the oracle: the same rows, the
 * other strategy and the other engine; both strategies are tested against scikit-learn elsewhere).
 */
const gp = backends.find((b) => b.name === 'greenplum');

const SETUP = `
CREATE TABLE by_key (userid int, offerid int, asktimes int, askbackoffdays int, bought_offer int) DISTRIBUTED BY (userid);
INSERT INTO by_key
SELECT (g / 10) + 1, g, 1 + (g * 7) % 10, 1 + (g * 5) % 14,
       CASE WHEN (g / 10) + 1 = 5 THEN 1 WHEN ((g * 7) % 10 + (g * 3) % 4 + g / 10) % 3 = 0 THEN 1 ELSE 0 END
FROM generate_series(0, 10 * 60 - 1) AS g;
INSERT INTO by_key VALUES (NULL, 100000, 1, 1, 1);
CREATE TABLE by_other AS SELECT * FROM by_key DISTRIBUTED BY (offerid);
CREATE TABLE randomly AS SELECT * FROM by_key DISTRIBUTED RANDOMLY;
CREATE TABLE replicated AS SELECT * FROM by_key DISTRIBUTED REPLICATED;
CREATE VIEW a_view AS SELECT * FROM by_other;
CREATE TABLE tests_key AS SELECT u AS userid, ARRAY[k, 15 - k] AS features FROM generate_series(1, 61) AS u, generate_series(1, 9) AS k DISTRIBUTED BY (userid);
CREATE TABLE tests_random AS SELECT * FROM tests_key DISTRIBUTED RANDOMLY;
CREATE TABLE tests_replicated AS SELECT * FROM tests_key DISTRIBUTED REPLICATED;
ANALYZE;
`;

type Row = Record<string, any>;

const SOURCES: [string, unknown][] = [
  ['distributed by another column', 'by_other'],
  ['randomly distributed', 'randomly'],
  ['replicated', 'replicated'],
  ['a view', 'a_view'],
  ['a query', { query: 'SELECT * FROM randomly WHERE offerid >= 0' }],
];

function coefs(r: Row): number[] {
  const st = r.model?.state;
  return st ? [...st.coef.flat(), ...[st.intercept].flat()] : [];
}

describe('Greenplum: every kind of source, both strategies, both engines (real cluster)', { skip: gp === undefined ? 'runs in the Greenplum pass (set MANYMODELS_TEST_GREENPLUM_URL)' : false }, () => {
  let db: ManyModels;
  const base = { group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer' };
  const reference = new Map<string, Row[]>();
  const rows = async (sql: string): Promise<Row[]> => (await db.sql(sql)).rows as Row[];

  before(async () => {
    db = await (gp as NonNullable<typeof gp>).open();
    await db.exec(SETUP);
    for (const strategy of ['streaming', 'in-database']) {
      await db.train({ ...base, from: 'by_key', into: `ref_${strategy.replace('-', '_')}`, strategy } as never);
      reference.set(strategy, await rows(`SELECT * FROM ref_${strategy.replace('-', '_')} ORDER BY userid`));
    }
  });
  after(async () => {
    await db?.close();
  });

  it('the two strategies agree on the source distributed by the key (the reference)', () => {
    const [s, i] = [reference.get('streaming') as Row[], reference.get('in-database') as Row[]];
    assert.equal(s.length, 60);
    assert.equal(i.length, 60);
    assert.equal(s.filter((r) => r.status === 'failed').length, 1, 'user 5 has one class');
    for (let k = 0; k < s.length; k++) {
      assert.equal(i[k].status, s[k].status);
      const [a, b] = [coefs(s[k]), coefs(i[k])];
      assert.equal(a.length, b.length);
      for (let j = 0; j < a.length; j++) assert.ok(Math.abs(a[j] - b[j]) <= 1e-6 * (1 + Math.abs(a[j])), `user ${s[k].userid}: ${a} vs ${b}`);
    }
  });

  for (const [what, from] of SOURCES) {
    for (const strategy of ['streaming', 'in-database']) {
      it(`${strategy} from ${what}: the reference's models, in a table distributed by the key`, async () => {
        const into = `m_${String(typeof from === 'string' ? from : 'query')}_${strategy.replace('-', '_')}`;
        const r = await db.train({ ...base, from, into, strategy } as never);
        assert.equal(r.groupsOk, 59);
        assert.equal(r.nullKeyRows, 1);
        const got = await rows(`SELECT * FROM ${into} ORDER BY userid`);
        const ref = reference.get(strategy) as Row[];
        assert.equal(got.length, ref.length);
        for (let k = 0; k < ref.length; k++) {
          assert.equal(got[k].userid, ref[k].userid);
          assert.equal(got[k].status, ref[k].status);
          assert.equal(got[k].n_rows, ref[k].n_rows);
          const [a, b] = [coefs(ref[k]), coefs(got[k])];
          // the rows may reach a group in another order: sums may round differently
          for (let j = 0; j < a.length; j++) assert.ok(Math.abs(a[j] - b[j]) <= 1e-9 * (1 + Math.abs(a[j])), `user ${ref[k].userid}: ${a} vs ${b}`);
        }
        const key = await rows(`SELECT pg_get_table_distributedby('${into}'::regclass) AS k`);
        assert.equal(key[0].k, 'DISTRIBUTED BY (userid)');
      });
    }
  }

  for (const tests of ['tests_key', 'tests_random', 'tests_replicated']) {
    it(`predict from ${tests.replace('tests_', '')} rows: both engines give the same probabilities, in a table distributed by the key`, async () => {
      const out: Row[][] = [];
      for (const engine of ['sql', 'ts']) {
        const into = `p_${tests}_${engine}`;
        await db.predict({ models: 'ref_streaming', from: tests, into, features: 'features', engine } as never);
        out.push(await rows(`SELECT userid, features, probability FROM ${into} ORDER BY userid, features`));
        const key = await rows(`SELECT pg_get_table_distributedby('${into}'::regclass) AS k`);
        assert.equal(key[0].k, 'DISTRIBUTED BY (userid)', `${engine} engine`);
      }
      assert.equal(out[0].length, 61 * 9);
      let scored = 0;
      for (let k = 0; k < out[0].length; k++) {
        assert.deepEqual(out[1][k].features, out[0][k].features);
        if (out[0][k].probability === null) {
          assert.equal(out[1][k].probability, null);
          continue;
        }
        scored++;
        assert.ok(Math.abs(out[0][k].probability - out[1][k].probability) <= 1e-12, `user ${out[0][k].userid}`);
      }
      assert.equal(scored, 59 * 9, 'every user with a model is scored; user 5 (failed) and 61 (none) are not');
    });
  }

  it('reading the columns of a query source does not run the query (Greenplum runs InitPlans even under LIMIT 0)', async () => {
    await db.exec('CREATE SEQUENCE probe');
    const query = "SELECT b.* FROM by_key AS b, (SELECT nextval('probe') AS z) AS p";
    const statements = await db.explainTrain({ ...base, from: { query }, into: 'never' } as never);
    assert.ok(statements.some((s) => s.includes('nextval')), 'the statements read the query');
    const r = await rows('SELECT is_called FROM probe');
    assert.equal(r[0].is_called, false, 'nextval ran');
    // and a run does read it
    await db.train({ ...base, from: { query }, into: 'm_probe' } as never);
    assert.equal((await rows('SELECT is_called FROM probe'))[0].is_called, true);
  });

  it('the installed scoring functions run on the segments, per row, and agree with predict', async () => {
    const r = await rows(
      `SELECT t.userid, t.features, manymodels.predict_proba(m.model, t.features::float8[]) AS p
       FROM tests_random t JOIN ref_streaming m USING (userid) WHERE m.status = 'ok' ORDER BY 1, 2`,
    );
    const p = await rows(`SELECT userid, features, probability FROM p_tests_key_sql WHERE probability IS NOT NULL ORDER BY 1, 2`);
    assert.equal(r.length, 59 * 9);
    assert.equal(p.length, r.length);
    for (let k = 0; k < r.length; k++) assert.ok(Math.abs(r[k].p - p[k].probability) <= 1e-12, `user ${r[k].userid}`);
  });
});
