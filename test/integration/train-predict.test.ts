import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DatabaseError, type ManyModels, ManyModelsError, LogisticRegression, decodeModel } from 'manymodels';
import { backends } from '../helpers/backends.js';
import { OFFER_SQL } from '../helpers/offers.js';

/** 40 users with 6–12 rows each (user 1 has 7); user 5 has one class only. */
const SETUP = `
${OFFER_SQL(40, { singleClass: [5] })}
CREATE TABLE offers_vec AS SELECT offerid, userid, ARRAY[asktimes, askbackoffdays] AS features, bought_offer FROM offer;
CREATE TABLE packed AS SELECT userid, array_agg(ARRAY[asktimes, askbackoffdays] ORDER BY offerid) AS features, array_agg(bought_offer ORDER BY offerid) AS results FROM offer GROUP BY userid;
`;
const LONG = { from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer' };

type Row = Record<string, any>;

async function modelsOf(db: ManyModels, table: string, order = 'userid'): Promise<Row[]> {
  return (await db.sql(`SELECT * FROM ${table} ORDER BY ${order}`)).rows;
}

/**
 * The same numbers: exactly on one node, where a group's rows come in the same order every time;
 * to 1e-12 on a cluster, where they come from the segments or workers in no defined order (SQL
 * orders only by the group key), so sums may round differently in the last bits.
 */
function assertSameNumbers(actual: unknown, expected: unknown, exact: boolean, what = 'model'): void {
  if (exact) return assert.deepEqual(actual, expected);
  const a = [actual].flat(3) as number[];
  const b = [expected].flat(3) as number[];
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(a[i] === b[i] || Math.abs(a[i] - b[i]) <= 1e-12 * Math.max(1, Math.abs(b[i])), `${what}: ${a} vs ${b}`);
}

for (const backend of backends) {
  describe(`train and predict on ${backend.name}`, () => {
    const exact = backend.name === 'pglite' || backend.name === 'postgres';
    let db: ManyModels;
    // every test can run alone (--test-name-pattern): the tables several of them read are made here
    before(async () => {
      db = await backend.open();
      await db.exec(SETUP);
      await db.train({ ...LONG, into: 'models_long' });
      await db.train({ ...LONG, from: 'offers_vec', features: 'features', into: 'models_vec' });
    });
    after(async () => {
      await db?.close();
    });

    it('long form with feature columns: one row per group, a failed group among good ones', async () => {
      const r = await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'models_long' });
      assert.equal(r.groupsOk, 39);
      assert.equal(r.groupsFailed, 1);
      assert.equal(r.failures[0].code, 'SINGLE_CLASS');
      const rows = await modelsOf(db, 'models_long');
      assert.equal(rows.length, 40);
      const failed = rows.filter((x) => x.status === 'failed');
      assert.deepEqual(failed.map((x) => x.userid), [5]);
      assert.match(failed[0].error, /^SINGLE_CLASS: This solver needs samples of at least 2 classes/);
      assert.equal(failed[0].model, null);
      const ok = rows.find((x) => x.userid === 1)!;
      assert.equal(ok.status, 'ok');
      assert.equal(ok.converged, true);
      assert.ok(ok.n_iter > 0);
      assert.equal(ok.n_rows, 7);
      assert.equal(ok.n_skipped, 0);
      assert.ok(ok.train_score > 0 && ok.train_score <= 1);
      assert.ok(ok.serialized_on instanceof Date);
      assert.equal(ok.run_id, r.runId);
      // the stored model is the one the core fits on the same rows, in the order a group's rows are
      // fitted whatever order they come in: by features, then label
      const data = (await db.sql<{ asktimes: number; askbackoffdays: number; bought_offer: number }>('SELECT asktimes, askbackoffdays, bought_offer FROM offer WHERE userid = 1 ORDER BY asktimes, askbackoffdays, bought_offer')).rows;
      const direct = new LogisticRegression().fit(data.map((d) => [d.asktimes, d.askbackoffdays]), data.map((d) => d.bought_offer));
      const stored = decodeModel(ok.model) as LogisticRegression;
      assertSameNumbers(stored.coef_, direct.coef_, exact);
      assertSameNumbers(stored.intercept_, direct.intercept_, exact);
    });

    it('long form with an array feature column and packed form give the same models', async () => {
      await db.train({ from: 'offers_vec', group: 'userid', features: 'features', label: 'bought_offer', into: 'models_vec' });
      const p = await db.train({ from: 'packed', group: 'userid', features: 'features', label: 'results', into: 'models_packed' });
      assert.equal(p.groupsOk, 39);
      const a = await modelsOf(db, 'models_long');
      const b = await modelsOf(db, 'models_vec');
      const c = await modelsOf(db, 'models_packed');
      assert.equal(a.length, 40);
      for (let i = 0; i < a.length; i++) {
        assertSameNumbers(b[i].model?.state?.coef, a[i].model?.state?.coef, exact, `user ${a[i].userid}`);
        assertSameNumbers(c[i].model?.state?.coef, a[i].model?.state?.coef, exact, `user ${a[i].userid}`);
        assert.equal(c[i].status, a[i].status);
      }
    });

    it('multi-column and text group keys keep their names and types', async () => {
      await db.exec(`
        CREATE TABLE visits AS SELECT 'store ' || (userid % 3) AS store, (DATE '2024-01-01' + (userid % 2)) AS day, asktimes, askbackoffdays, bought_offer FROM offer;
      `);
      const r = await db.train({ from: 'visits', group: ['store', 'day'], features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'models_multi' });
      assert.deepEqual([r.groupsOk, r.groupsFailed], [6, 0]);
      const types = (await db.sql<{ column_name: string; data_type: string }>(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'models_multi' ORDER BY ordinal_position`,
      )).rows;
      assert.deepEqual(types.slice(0, 2), [
        { column_name: 'store', data_type: 'text' },
        { column_name: 'day', data_type: 'date' },
      ]);
      assert.deepEqual(types.slice(2).map((t) => t.column_name), ['model', 'status', 'error', 'n_rows', 'n_skipped', 'n_iter', 'converged', 'train_score', 'serialized_on', 'run_id', 'fingerprint', 'metrics']);
      const keys = (await db.sql<{ store: string; n: number }>(`SELECT store, sum(n_rows)::int AS n FROM models_multi GROUP BY store ORDER BY store`)).rows;
      const expect = (await db.sql<{ store: string; n: number }>(`SELECT store, count(*)::int AS n FROM visits GROUP BY store ORDER BY store`)).rows;
      assert.deepEqual(keys, expect);
    });

    it('NULL features and labels are skipped and counted per group; NULL keys per run', async () => {
      await db.exec(`
        CREATE TABLE holes AS SELECT * FROM offer WHERE userid <= 3;
        UPDATE holes SET asktimes = NULL WHERE offerid = 1;
        UPDATE holes SET bought_offer = NULL WHERE offerid = 3;
        INSERT INTO holes VALUES (1000, NULL, 1, 1, 1), (1001, NULL, 2, 2, 0);
      `);
      const r = await db.train({ from: 'holes', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'models_holes' });
      assert.equal(r.nullKeyRows, 2);
      assert.equal(r.rowsSkipped, 2);
      const u1 = (await db.sql<Row>('SELECT n_rows, n_skipped FROM models_holes WHERE userid = 1')).rows[0];
      assert.deepEqual(u1, { n_rows: 5, n_skipped: 2 });
      const run = (await db.sql<Row>('SELECT null_key_rows, rows_skipped, groups_ok FROM manymodels.runs WHERE run_id = $1', [r.runId])).rows[0];
      assert.equal(Number(run.null_key_rows), 2);
      assert.equal(Number(run.rows_skipped), 2);
    });

    it('non-finite values and unequal arrays fail their group alone', async () => {
      await db.exec(`
        CREATE TABLE bad (g int, x float8[], y int);
        INSERT INTO bad VALUES (1, '{1,2}', 0), (1, '{2,1}', 1), (1, '{3,3}', 1),
                               (2, '{1,2}', 0), (2, '{NaN,1}', 1),
                               (3, '{1,2}', 0), (3, '{1,2,3}', 1),
                               (4, '{1,1}', 0);
      `);
      const r = await db.train({ from: 'bad', group: 'g', features: 'x', label: 'y', into: 'models_bad' });
      assert.equal(r.groupsOk, 1);
      const rows = (await db.sql<Row>('SELECT g, status, error FROM models_bad ORDER BY g')).rows;
      assert.equal(rows[0].status, 'ok');
      assert.match(rows[1].error, /^NON_FINITE_INPUT: .*NaN/);
      assert.match(rows[2].error, /^INVALID_GROUP: feature arrays of unequal lengths within the group \(2 and 3\)/);
      assert.match(rows[3].error, /^SINGLE_CLASS/);
    });

    it('a run that fails mid-stream leaves the previous table exactly as it was, with no staging left', async () => {
      const before = await modelsOf(db, 'models_long');
      const runs = Number((await db.sql<Row>('SELECT count(*) AS n FROM manymodels.runs')).rows[0].n);
      await assert.rejects(
        db.train({
          from: { query: 'SELECT userid, asktimes, askbackoffdays, bought_offer / (40 - userid) * 0 + bought_offer AS bought_offer FROM offer' },
          group: 'userid',
          features: ['asktimes', 'askbackoffdays'],
          label: 'bought_offer',
          into: 'models_long',
        }),
        (e: DatabaseError) => e.code === 'DATABASE_ERROR' && e.sqlState === '22012' && /division by zero/.test(e.message),
      );
      assert.deepEqual(await modelsOf(db, 'models_long'), before);
      const staging = (await db.sql<Row>(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'mm_stage_%'`)).rows[0].n;
      assert.equal(staging, 0);
      const last = (await db.sql<Row>('SELECT status, error FROM manymodels.runs ORDER BY started_at DESC LIMIT 1')).rows[0];
      assert.equal(last.status, 'failed');
      assert.match(last.error, /division by zero/);
      assert.equal(Number((await db.sql<Row>('SELECT count(*) AS n FROM manymodels.runs')).rows[0].n), runs + 1);
    });

    it('a retrain keeps a view that depends on the models table (issue 9, item 10)', async () => {
      await db.exec('CREATE VIEW models_long_view AS SELECT userid, status FROM models_long');
      const before = await modelsOf(db, 'models_long');
      await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'models_long' });
      const after = await modelsOf(db, 'models_long');
      assert.equal(after.length, before.length);
      for (let i = 0; i < after.length; i++) {
        if (before[i].model === null) {
          assert.equal(after[i].model, null);
          continue;
        }
        assert.deepEqual({ ...after[i].model, state: undefined }, { ...before[i].model, state: undefined });
        assertSameNumbers([after[i].model.state.coef, after[i].model.state.intercept], [before[i].model.state.coef, before[i].model.state.intercept], exact);
      }
      assert.equal((await db.sql<Row>('SELECT count(*)::int AS n FROM models_long_view')).rows[0].n, 40);
      assert.equal((await db.sql<Row>(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'mm_stage_%'`)).rows[0].n, 0);
      await db.exec('DROP VIEW models_long_view');
    });

    it('identifiers with quotes, spaces, capitals and a schema', async () => {
      await db.exec(`
        CREATE SCHEMA "My ""Schema""";
        CREATE TABLE "My ""Schema""".".Odd Table;" ("User Id" int, "Ask ""Times""" int, "back.off" int, "Bought?" int);
        INSERT INTO "My ""Schema""".".Odd Table;" SELECT userid, asktimes, askbackoffdays, bought_offer FROM offer;
      `);
      const r = await db.train({
        from: ['My "Schema"', '.Odd Table;'],
        group: 'User Id',
        features: ['Ask "Times"', 'back.off'],
        label: 'Bought?',
        into: ['My "Schema"', 'Models "Out"'],
      });
      assert.equal(r.groupsOk, 39);
      const p = await db.predict({ models: ['My "Schema"', 'Models "Out"'], from: ['My "Schema"', '.Odd Table;'], into: ['My "Schema"', 'Scores. "x"'] });
      assert.equal(p.rows, (await db.sql<Row>('SELECT count(*)::int AS n FROM offer')).rows[0].n);
      const pairs = (await db.sql<Row>(`
        SELECT a."User Id" AS u, a.model AS ma, b.model AS mb, a.model->'state' AS a, b.model->'state' AS b, a.status = b.status AS same_status
        FROM "My ""Schema"""."Models ""Out""" a JOIN models_long b ON a."User Id" = b.userid`)).rows;
      assert.equal(pairs.length, 40);
      for (const x of pairs) {
        assert.ok(x.same_status, `user ${x.u}`);
        // the same model, but each document names its own inputs
        if (x.ma !== null) assert.deepEqual([x.ma.features, x.mb.features], [['Ask "Times"', 'back.off'], ['asktimes', 'askbackoffdays']]);
        if (exact) assert.deepEqual({ ...x.ma, features: null }, { ...x.mb, features: null }, `user ${x.u}`);
        else assertSameNumbers([x.a?.coef, x.a?.intercept].flat(2), [x.b?.coef, x.b?.intercept].flat(2), false, `user ${x.u}`);
      }
    });

    it('the SQL scorer and the TypeScript scorer agree to 1e-12 and count rows without a model', async () => {
      await db.exec(`
        CREATE TABLE tests AS SELECT u AS userid, ARRAY[k, k + 1] AS features FROM generate_series(1, 41) u, generate_series(1, 9) k;
      `);
      const a = await db.predict({ models: 'models_vec', from: 'tests', into: 'scores_sql', engine: 'sql' });
      const b = await db.predict({ models: 'models_vec', from: 'tests', into: 'scores_ts', engine: 'ts' });
      assert.equal(a.rows, 41 * 9);
      assert.equal(b.rows, 41 * 9);
      // user 5 failed, user 41 has no model
      assert.equal(a.rowsWithoutModel, 18);
      assert.equal(b.rowsWithoutModel, 18);
      for (const t of ['scores_sql', 'scores_ts']) {
        const nulls = (await db.sql<Row>(`SELECT count(*) FILTER (WHERE probability IS NULL)::int AS p, count(*) FILTER (WHERE prediction IS NULL)::int AS q FROM ${t}`)).rows[0];
        assert.deepEqual(nulls, { p: 18, q: 18 }, t);
      }
      const diff = (await db.sql<Row>(`
        SELECT max(abs(a.probability - b.probability)) AS d, count(*) FILTER (WHERE a.prediction IS DISTINCT FROM b.prediction)::int AS preds,
               count(*)::int AS n
        FROM scores_sql a JOIN scores_ts b ON a.userid = b.userid AND a.features = b.features`)).rows[0];
      assert.equal(diff.n, 41 * 9);
      assert.ok(diff.d <= 1e-12, `max difference ${diff.d}`);
      assert.equal(diff.preds, 0);
      // and both agree with the core scoring the same rows
      const m = decodeModel((await db.sql<Row>('SELECT model FROM models_vec WHERE userid = 7')).rows[0].model) as LogisticRegression;
      const rows = (await db.sql<Row>('SELECT features, probability FROM scores_sql WHERE userid = 7 ORDER BY features[1]')).rows;
      for (const row of rows) assert.ok(Math.abs(m.predictProba([row.features])[0][1] - row.probability) <= 1e-12);
    });

    it('scores in the user’s own query with the installed SQL functions', async () => {
      const r = (await db.sql<Row>(`
        SELECT manymodels.predict_proba(m.model, ARRAY[3, 4]::float8[]) AS p, manymodels.predict_label(m.model, ARRAY[3, 4]::float8[]) AS label,
               manymodels.predict_proba_all(m.model, ARRAY[3, 4]::float8[]) AS probs, manymodels.predict_proba(m.model, ARRAY[3]::float8[]) AS wrong
        FROM models_vec m WHERE userid = 2`)).rows[0];
      const m = decodeModel((await db.sql<Row>('SELECT model FROM models_vec WHERE userid = 2')).rows[0].model) as LogisticRegression;
      const p = m.predictProba([[3, 4]])[0];
      assert.ok(Math.abs(r.p - p[1]) <= 1e-12);
      assert.equal(r.label, String(m.predict([[3, 4]])[0]));
      assert.ok(Math.abs(r.probs[0] - p[0]) <= 1e-12);
      assert.equal(r.wrong, null);
    });

    it('multiclass with text labels, and regressors, score the same in SQL and TypeScript', async () => {
      await db.exec(`
        CREATE TABLE fruit AS SELECT (g % 3) AS shop, x1, x2,
          CASE WHEN x1 + x2 < 6 THEN 'apple' WHEN x1 > x2 THEN 'pear' ELSE 'plum' END AS kind,
          (2 * x1 - x2 + (g % 5) * 0.1)::float8 AS price
        FROM generate_series(1, 300) g, LATERAL (SELECT (g * 7) % 10 AS x1, (g * 3) % 9 AS x2) v;
      `);
      const c = await db.train({ from: 'fruit', group: 'shop', features: ['x1', 'x2'], label: 'kind', into: 'fruit_models' });
      assert.equal(c.groupsOk, 3);
      const a = await db.predict({ models: 'fruit_models', from: 'fruit', into: 'fruit_sql', engine: 'sql' });
      const b = await db.predict({ models: 'fruit_models', from: 'fruit', into: 'fruit_ts', engine: 'ts' });
      assert.equal(a.rowsWithoutModel, 0);
      assert.equal(b.rows, 300);
      const cmp = (await db.sql<Row>(`
        SELECT count(*)::int AS n, count(*) FILTER (WHERE a.prediction = b.prediction)::int AS same,
               max(abs(a.probability - b.probability)) AS dp,
               max((SELECT max(abs(x - y)) FROM unnest(a.probabilities, b.probabilities) AS u(x, y))) AS dall,
               count(*) FILTER (WHERE a.prediction = a.kind)::int AS correct
        FROM (SELECT row_number() OVER (ORDER BY shop, x1, x2, kind, price) AS i, * FROM fruit_sql) a
        JOIN (SELECT row_number() OVER (ORDER BY shop, x1, x2, kind, price) AS i, * FROM fruit_ts) b USING (i)`)).rows[0];
      assert.equal(cmp.n, 300);
      assert.equal(cmp.same, 300);
      assert.ok(cmp.dp <= 1e-12 && cmp.dall <= 1e-12, `differences ${cmp.dp} ${cmp.dall}`);
      assert.ok(cmp.correct > 200);
      for (const est of ['linear', 'ridge'] as const) {
        const r = await db.train({ from: 'fruit', group: 'shop', features: ['x1', 'x2'], label: 'price', into: `price_${est}`, estimator: est, params: est === 'ridge' ? { alpha: 0.5 } : {} });
        assert.equal(r.groupsOk, 3);
        await db.predict({ models: `price_${est}`, from: 'fruit', into: `price_${est}_sql`, engine: 'sql' });
        await db.predict({ models: `price_${est}`, from: 'fruit', into: `price_${est}_ts`, engine: 'ts' });
        const d = (await db.sql<Row>(`SELECT max(abs(a.prediction - b.prediction)) AS d, max(abs(a.prediction)) AS scale, count(*)::int AS n
          FROM (SELECT row_number() OVER (ORDER BY shop, x1, x2, kind, price) AS i, * FROM price_${est}_sql) a
          JOIN (SELECT row_number() OVER (ORDER BY shop, x1, x2, kind, price) AS i, * FROM price_${est}_ts) b USING (i)`)).rows[0];
        assert.equal(d.n, 300);
        // README: the two engines agree to 1e-12 (relative to the size of the prediction here)
        assert.ok(d.d <= 1e-12 * (1 + d.scale), `${est}: ${d.d}`);
      }
    });

    it('a group larger than maxGroupRows fails alone; progress events count every group', async () => {
      const events: { groupsDone: number; rowsDone: number; done: boolean }[] = [];
      const r = await db.train({
        from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'models_small',
        maxGroupRows: 10, batchGroups: 7, workers: 2, onProgress: (e) => events.push(e),
      });
      const big = (await db.sql<Row>(`SELECT count(*)::int AS n FROM (SELECT userid FROM offer GROUP BY userid HAVING count(*) > 10) q`)).rows[0].n;
      assert.ok(big > 0);
      const f = r.failures.find((x) => x.code === 'INVALID_GROUP');
      assert.equal(f?.count, big);
      assert.match(f!.example, /more than 10 rows \(maxGroupRows\)/);
      const last = events[events.length - 1];
      assert.equal(last.done, true);
      assert.equal(last.groupsDone, 40);
      assert.equal(last.rowsDone, (await db.sql<Row>('SELECT count(*)::int AS n FROM offer')).rows[0].n);
    });

    it('refuses to overwrite a table it did not write, unless replace', async () => {
      await db.exec('CREATE TABLE precious (a int); INSERT INTO precious VALUES (42)');
      await assert.rejects(
        db.train({ from: 'offer', group: 'userid', features: ['asktimes'], label: 'bought_offer', into: 'precious' }),
        (e: ManyModelsError) => e.code === 'OUTPUT_TABLE_NOT_MANAGED' && /--replace/.test(e.message),
      );
      assert.deepEqual((await db.sql<Row>('SELECT * FROM precious')).rows, [{ a: 42 }]);
      const r = await db.train({ from: 'offer', group: 'userid', features: ['asktimes'], label: 'bought_offer', into: 'precious', replace: true });
      assert.equal(r.groupsOk, 39);
    });
  });
}

// (a cluster pass of test/run.ts has one backend: the cluster; test/integration/citus.test.ts compares it with PGlite)
describe('PGlite and PostgreSQL give identical models', { skip: backends.length < 2 && 'one backend in this pass' }, () => {
  it('trains the same data on both backends into byte-identical model documents', async () => {
    const rows: Row[][] = [];
    for (const backend of backends) {
      const db = await backend.open();
      try {
        await db.exec(SETUP);
        await db.train({ ...LONG, into: 'models_long' });
        rows.push(await modelsOf(db, 'models_long'));
      } finally {
        await db.close();
      }
    }
    const [a, b] = rows;
    assert.equal(a.length, 40);
    assert.equal(a.length, b.length);
    for (let i = 0; i < a.length; i++) {
      assert.equal(a[i].userid, b[i].userid);
      assert.equal(a[i].status, b[i].status);
      assert.deepEqual(a[i].model, b[i].model);
      assert.equal(a[i].error, b[i].error);
    }
  });
});
