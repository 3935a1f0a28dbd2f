import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DatabaseError, type ManyModels, type ManyModelsError, decodeModel, type LogisticRegression } from 'manymodels';
import { backends } from '../helpers/backends.js';

type Row = Record<string, any>;
/** README: the in-database strategy's probabilities (and regressions) agree with the streaming strategy's to 1e-12. */
const TOL = 1e-12;

const SETUP = `
CREATE TABLE offer AS
SELECT (g / 9) + 1 AS userid, g AS offerid, 1 + (g * 7) % 10 AS asktimes, 1 + (g * 5) % 14 AS askbackoffdays,
       CASE WHEN (g / 9) + 1 = 4 THEN 0 WHEN ((g * 7) % 10 + (g * 3) % 4 + g / 9) % 3 = 0 THEN 1 ELSE 0 END AS bought_offer
FROM generate_series(0, 9 * 30 - 1) AS g;
UPDATE offer SET asktimes = NULL WHERE offerid = 3;
UPDATE offer SET bought_offer = NULL WHERE offerid = 12;
INSERT INTO offer VALUES (NULL, 9999, 1, 1, 1), (31, 10000, 2, 2, 1);
CREATE TABLE offers_vec AS SELECT userid, ARRAY[asktimes, askbackoffdays] AS features, bought_offer FROM offer WHERE asktimes IS NOT NULL;
CREATE TABLE tests AS SELECT u AS userid, ARRAY[k, 15 - k] AS features FROM generate_series(1, 32) u, generate_series(1, 9) k;
`;

/** Trains with both strategies into <name>_s and <name>_i and returns both tables' rows by group. */
async function both(db: ManyModels, name: string, opts: Record<string, any>): Promise<[Row[], Row[]]> {
  const base = { group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', from: 'offer', ...opts };
  const a = await db.train({ ...base, into: `${name}_s` } as any);
  const b = await db.train({ ...base, into: `${name}_i`, strategy: 'in-database' } as any);
  assert.equal(b.groupsOk, a.groupsOk);
  assert.equal(b.groupsFailed, a.groupsFailed);
  assert.equal(b.rowsUsed, a.rowsUsed);
  assert.equal(b.rowsSkipped, a.rowsSkipped);
  assert.equal(b.nullKeyRows, a.nullKeyRows);
  const order = ([] as string[]).concat(base.group).map((g) => `"${g}"`).join(', ');
  return [(await db.sql(`SELECT * FROM ${name}_s ORDER BY ${order}`)).rows, (await db.sql(`SELECT * FROM ${name}_i ORDER BY ${order}`)).rows];
}

for (const backend of backends) {
  describe(`the in-database strategy on ${backend.name}`, () => {
    let db: ManyModels;
    before(async () => {
      db = await backend.open();
      await db.exec(SETUP);
    });
    after(async () => {
      await db?.close();
    });

    it('gives the streaming strategy’s models, statuses, reasons and counts (LogisticRegression)', async () => {
      const [s, i] = await both(db, 'lr', {});
      assert.equal(s.length, 31);
      assert.equal(i.length, 31);
      let failed = 0;
      for (let k = 0; k < s.length; k++) {
        assert.equal(i[k].userid, s[k].userid);
        assert.equal(i[k].status, s[k].status, `user ${s[k].userid}`);
        assert.equal(i[k].error, s[k].error);
        assert.equal(i[k].n_rows, s[k].n_rows);
        assert.equal(i[k].n_skipped, s[k].n_skipped);
        if (s[k].status !== 'ok') {
          failed++;
          continue;
        }
        assert.equal(i[k].converged, true);
        assert.ok(Math.abs(i[k].n_iter - s[k].n_iter) <= 1, `iterations ${i[k].n_iter} vs ${s[k].n_iter}`);
        assert.equal(i[k].train_score, s[k].train_score);
        const ms = decodeModel(s[k].model) as LogisticRegression;
        const mi = decodeModel(i[k].model) as LogisticRegression;
        assert.deepEqual(mi.classes_, ms.classes_);
        assert.deepEqual(Object.keys(i[k].model).sort(), Object.keys(s[k].model).sort());
        const X = [[1, 1], [3, 9], [10, 14], [5, 2]];
        const ps = ms.predictProba(X);
        const pi = mi.predictProba(X);
        for (let r = 0; r < X.length; r++) assert.ok(Math.abs(ps[r][1] - pi[r][1]) <= TOL, `user ${s[k].userid}: ${ps[r][1]} vs ${pi[r][1]}`);
      }
      assert.equal(failed, 2); // user 4 has one class; user 31 has one row
      assert.match(i.find((r) => r.userid === 4)!.error, /^SINGLE_CLASS: /);
    });

    it('predicts within 1e-12 of the streaming strategy’s models (the README’s claim)', async () => {
      await db.predict({ models: 'lr_s', from: 'tests', into: 'p_s', features: 'features' });
      await db.predict({ models: 'lr_i', from: 'tests', into: 'p_i', features: 'features' });
      const d = (await db.sql<Row>(`SELECT max(abs(a.probability - b.probability)) AS d, count(*) FILTER (WHERE (a.probability IS NULL) <> (b.probability IS NULL))::int AS mismatched
        FROM p_s a JOIN p_i b ON a.userid = b.userid AND a.features = b.features`)).rows[0];
      assert.ok(d.d <= TOL, `max difference ${d.d}`);
      assert.equal(d.mismatched, 0);
    });

    it('array features, multi-column and text keys, quoted names in a schema', async () => {
      await both(db, 'arr', { from: 'offers_vec', features: 'features' });
      await db.exec(`CREATE SCHEMA "In ""DB"""; CREATE TABLE "In ""DB"""."Visits" AS SELECT 'shop ' || (userid % 3) AS "Shop", (userid % 2 = 0) AS "even", asktimes AS "Ask Times", askbackoffdays, bought_offer FROM offer`);
      const [s, i] = await both(db, 'multi', { from: ['In "DB"', 'Visits'], group: ['Shop', 'even'], features: ['Ask Times', 'askbackoffdays'] });
      assert.equal(i.length, s.length);
      for (let k = 0; k < s.length; k++) {
        assert.equal(i[k].Shop, s[k].Shop);
        assert.equal(i[k].even, s[k].even);
        assert.equal(i[k].status, s[k].status);
      }
    });

    it('LinearRegression and Ridge from sufficient statistics', async () => {
      for (const estimator of ['linear', 'ridge']) {
        const [s, i] = await both(db, `reg_${estimator}`, { estimator, label: 'askbackoffdays', features: ['asktimes', 'bought_offer'], params: estimator === 'ridge' ? { alpha: 0.3 } : {} });
        for (let k = 0; k < s.length; k++) {
          assert.equal(i[k].status, s[k].status);
          if (s[k].status !== 'ok') continue;
          const a = decodeModel(s[k].model);
          const b = decodeModel(i[k].model);
          const X = [[1, 0], [7, 1], [10, 1]];
          const pa = a.predict(X) as number[];
          const pb = b.predict(X) as number[];
          for (let r = 0; r < X.length; r++) assert.ok(Math.abs(pa[r] - pb[r]) <= TOL * (1 + Math.abs(pa[r])), `${estimator} user ${s[k].userid}: ${pa[r]} vs ${pb[r]}`);
          assert.ok(Math.abs(i[k].train_score - s[k].train_score) <= TOL);
        }
      }
    });

    it('a failed run leaves the previous table as it was and no work tables behind', async () => {
      const before = (await db.sql('SELECT * FROM lr_i ORDER BY userid')).rows;
      await assert.rejects(
        db.train({ from: { query: 'SELECT userid, asktimes, askbackoffdays, bought_offer / (userid - 7) * 0 + bought_offer AS bought_offer FROM offer' }, group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'lr_i', strategy: 'in-database' }),
        (e: DatabaseError) => e.sqlState === '22012',
      );
      assert.deepEqual((await db.sql('SELECT * FROM lr_i ORDER BY userid')).rows, before);
      assert.equal((await db.sql<Row>(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'mm_stage_%'`)).rows[0].n, 0);
    });

    it('explain prints the statements and writes nothing', async () => {
      const tables = (await db.sql<Row>(`SELECT count(*)::int AS n FROM pg_class WHERE relkind = 'r'`)).rows[0].n;
      const sql = await db.explainTrain({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'never', strategy: 'in-database' });
      assert.ok(sql.some((s) => s.startsWith('UPDATE') && s.includes('GROUP BY')));
      assert.ok(sql.some((s) => s.startsWith('ALTER TABLE') && s.includes('RENAME TO "never"')));
      const streaming = await db.explainTrain({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'never' });
      assert.ok(streaming.some((s) => /^COPY \(SELECT .* ORDER BY s\."userid"\) TO STDOUT/.test(s)));
      assert.equal((await db.sql<Row>(`SELECT count(*)::int AS n FROM pg_class WHERE relkind = 'r'`)).rows[0].n, tables);
      assert.equal((await db.sql<Row>(`SELECT to_regclass('never') AS t`)).rows[0].t, null);
    });

    it('says what it cannot do: packed arrays, classWeight; multiclass groups fail alone', async () => {
      await db.exec(`CREATE TABLE packed AS SELECT userid, array_agg(ARRAY[asktimes, askbackoffdays]) AS features, array_agg(bought_offer) AS results FROM offer WHERE asktimes IS NOT NULL AND userid IS NOT NULL GROUP BY userid`);
      await assert.rejects(db.train({ from: 'packed', group: 'userid', features: 'features', label: 'results', into: 'x', strategy: 'in-database' }), (e: ManyModelsError) => e.code === 'USAGE' && /packed/.test(e.message));
      await assert.rejects(db.train({ from: 'offer', group: 'userid', features: ['asktimes'], label: 'bought_offer', into: 'x', strategy: 'in-database', params: { classWeight: 'balanced' } }), /classWeight/);
      await db.exec(`CREATE TABLE three AS SELECT userid, asktimes, askbackoffdays, CASE WHEN userid = 2 THEN offerid % 3 ELSE bought_offer END AS y FROM offer WHERE userid IN (1, 2)`);
      const r = await db.train({ from: 'three', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'y', into: 'three_m', strategy: 'in-database' });
      assert.equal(r.groupsOk, 1);
      assert.equal(r.failures[0].code, 'UNSUPPORTED');
    });
  });
}

describe('the in-database SQL without subquery fences (for a dialect without them: the installed solver)', () => {
  it('fits the same models on PGlite', async () => {
    const { planTraining } = await import('../../dist/pipeline/train.js');
    const { inDatabaseSpec, trainInDatabase } = await import('../../dist/pipeline/train-in-database.js');
    const { postgres } = await import('../../dist/sql/dialects/postgres.js');
    const { stagingFor, workTablesOf } = await import('../../dist/pipeline/output-table.js');
    const db = await backends[0].open();
    try {
      await db.exec(SETUP);
      const opts = { from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'unused' };
      const fenced = await db.train({ ...opts, into: 'fenced', strategy: 'in-database' });
      const staging = stagingFor(['unfenced'], '11111111-2222-4333-8444-555555555555');
      const plan = await planTraining(db.database, opts);
      const spec = await inDatabaseSpec(db.database, plan, { ...postgres, fence: '' }, staging, '11111111-2222-4333-8444-555555555555');
      const [, dataTable, groupTable] = workTablesOf(staging);
      const sql = (await import('../../dist/pipeline/train-in-database.js')).inDatabaseStatements({ ...spec, dataTable, groupTable });
      assert.ok(sql.every((s: string) => !s.includes('OFFSET')));
      const out = await trainInDatabase(db.database, { ...spec, dataTable, groupTable, staging: staging.staging }, opts, () => undefined);
      assert.equal(out.totals.ok, fenced.groupsOk);
      const a = (await db.sql<Row>('SELECT userid, model FROM fenced WHERE status = $1 ORDER BY userid', ['ok'])).rows;
      const b = (await db.sql<Row>(`SELECT userid, model FROM "${staging.staging[0]}" WHERE status = $1 ORDER BY userid`, ['ok'])).rows;
      assert.equal(b.length, a.length);
      for (let k = 0; k < a.length; k++) {
        const ma = decodeModel(a[k].model) as LogisticRegression;
        const mb = decodeModel(b[k].model) as LogisticRegression;
        const pa = ma.predictProba([[2, 3], [9, 1]]);
        const pb = mb.predictProba([[2, 3], [9, 1]]);
        for (let r = 0; r < 2; r++) assert.ok(Math.abs(pa[r][1] - pb[r][1]) <= TOL, `${pa[r][1]} vs ${pb[r][1]}`);
      }
    } finally {
      await db.close();
    }
  });
});
