import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ManyModels, ManyModelsError } from 'manymodels';
import { backends } from '../helpers/backends.js';
import { HOUSES, MADLIB_LINREGR, MADLIB_LOGREGR, PATIENTS } from '../helpers/madlib.js';

type Row = Record<string, any>;

/**
 * train({ inference: true }) stores MADlib's per-group statistics in each model document, read
 * back here in SQL, and compared with MADlib's published examples (test/unit/inference.test.ts
 * holds the numbers and explains the tolerances). The houses example is MADlib's own grouped run
 * (grouping_cols 'bedroom'): one model per group, as manymodels fits them.
 */
function close(actual: unknown, expected: number, tol: number, what: string): void {
  assert.ok(typeof actual === 'number', `${what}: got ${JSON.stringify(actual)}`);
  const err = Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(err <= tol, `${what}: ${actual} vs ${expected} (relative ${err.toExponential(2)})`);
}

for (const backend of backends) {
  describe(`inference statistics stored by train on ${backend.name}`, () => {
    let db: ManyModels;
    before(async () => {
      db = await backend.open();
      await db.exec(`CREATE TABLE patients (id int, second_attack int, treatment int, trait_anxiety int);
        INSERT INTO patients VALUES ${PATIENTS.map((r) => `(${r.join(', ')})`).join(', ')};
        CREATE TABLE houses (id int, tax int, bedroom int, bath float8, price int, size int, lot int);
        INSERT INTO houses VALUES ${HOUSES.map((r) => `(${r.join(', ')})`).join(', ')};
        CREATE VIEW patients_by_site AS SELECT 'site "A"'::text AS site, * FROM patients;`);
    });
    after(async () => db.close());

    it("logistic, unpenalised: MADlib's patients example, read in SQL", async () => {
      const r = await db.train({ from: 'patients_by_site', group: 'site', features: ['treatment', 'trait_anxiety'], label: 'second_attack', into: 'patients_models', params: { penalty: null }, inference: true });
      assert.equal(r.groupsOk, 1);
      const row = (await db.sql<Row>(`SELECT model->'inference' AS i, n_rows FROM patients_models WHERE site = $1`, ['site "A"'])).rows[0];
      const i = row.i;
      assert.equal(i.method, 'mle');
      assert.deepEqual(i.names, ['intercept', 'treatment', 'trait_anxiety']);
      assert.equal(i.nRows, 20);
      // at the optimum; MADlib's statistics are one IRLS step before it (see the unit test)
      for (const k of ['coef', 'stdErr', 'zStats', 'pValues', 'oddsRatios'] as const) MADLIB_LOGREGR[k].forEach((e, j) => close(i[k][j], e, 3e-5, `${k}[${j}]`));
      close(i.logLikelihood, MADLIB_LOGREGR.logLikelihood, 1e-10, 'logLikelihood');
      close(i.conditionNo, MADLIB_LOGREGR.conditionNo, 1e-5, 'conditionNo');
      MADLIB_LOGREGR.vcovRow0.forEach((e, j) => close(i.varianceCovariance[0][j], e, 3e-5, `vcov[0][${j}]`));
      // the way a SQL user reads them: one row per parameter
      const table = (await db.sql<Row>(`SELECT n.name, s.se::float8 AS se FROM patients_models m,
          jsonb_array_elements_text(m.model->'inference'->'names') WITH ORDINALITY n(name, k)
          JOIN jsonb_array_elements_text(m.model->'inference'->'stdErr') WITH ORDINALITY s(se, k) USING (k) ORDER BY k`)).rows;
      assert.deepEqual(table.map((t) => t.name), ['intercept', 'treatment', 'trait_anxiety']);
      close(table[2].se, MADLIB_LOGREGR.stdErr[2], 1e-5, 'stdErr via SQL');
    });

    it("linear, one model per bedroom: MADlib's grouped houses example", async () => {
      const r = await db.train({ from: 'houses', group: 'bedroom', features: ['tax', 'bath', 'size'], label: 'price', into: 'houses_models', estimator: 'linear', inference: true });
      assert.equal(r.groupsOk, 3);
      const rows = (await db.sql<Row>(`SELECT bedroom, model->'inference' AS i FROM houses_models ORDER BY bedroom`)).rows;
      for (const row of rows) {
        const i = row.i;
        if (row.bedroom === 4) {
          // one row, four parameters: nothing to infer (MADlib prints zeros and Infinity); n − p < 0 is no df
          assert.equal(i.dfResidual, null);
          assert.equal(i.conditionNo, null);
          assert.deepEqual(i.pValues, [null, null, null, null]);
          continue;
        }
        const e = MADLIB_LINREGR[String(row.bedroom)];
        assert.equal(i.method, 'ols');
        assert.deepEqual(i.names, ['intercept', 'tax', 'bath', 'size']);
        for (const k of ['coef', 'stdErr', 'tStats', 'pValues'] as const) e[k].forEach((v, j) => close(i[k][j], v, 1e-11, `bedroom ${row.bedroom} ${k}[${j}]`));
        close(i.r2, e.r2, 3e-13, 'r2');
        close(i.conditionNo, e.conditionNo, 1e-9, 'conditionNo');
        e.vcovRow0.forEach((v, j) => close(i.varianceCovariance[0][j], v, 1e-11, `vcov[0][${j}]`));
      }
    });

    it('the same statistics from worker threads (one group per batch)', async () => {
      await db.train({ from: 'houses', group: 'bedroom', features: ['tax', 'bath', 'size'], label: 'price', into: 'houses_workers', estimator: 'linear', inference: true, workers: 2, batchGroups: 1 });
      const q = (t: string) => db.sql<Row>(`SELECT bedroom, model->'inference' AS i FROM ${t} ORDER BY bedroom`);
      const workers = (await q('houses_workers')).rows;
      const inProcess = (await q('houses_models')).rows;
      if (backend.name !== 'greenplum' && backend.name !== 'citus') {
        assert.deepEqual(workers, inProcess);
      } else {
        // a cluster hands a group's rows over in an order of its own on each read (segments, shards),
        // and a sum in another order differs in the last bits: the same to 1e-12, relative
        const same = (a: unknown, b: unknown, at: string): void => {
          if (typeof a === 'number' && typeof b === 'number') {
            assert.ok(a === b || Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b)), `${at}: ${a} vs ${b}`);
          } else if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
            assert.deepEqual(Object.keys(a as object).sort(), Object.keys(b as object).sort(), at);
            for (const k of Object.keys(a as object)) same((a as Row)[k], (b as Row)[k], `${at}.${k}`);
          } else {
            assert.equal(a, b, at);
          }
        };
        same(workers, inProcess, 'rows');
      }
    });

    it('without inference: no inference field; the in-database strategy refuses it', async () => {
      await db.train({ from: 'houses', group: 'bedroom', features: ['tax', 'bath', 'size'], label: 'price', into: 'houses_plain', estimator: 'linear' });
      assert.equal((await db.sql<Row>(`SELECT count(*)::int AS n FROM houses_plain WHERE model ? 'inference'`)).rows[0].n, 0);
      await assert.rejects(
        db.train({ from: 'houses', group: 'bedroom', features: ['tax', 'bath', 'size'], label: 'price', into: 'houses_indb', estimator: 'linear', strategy: 'in-database', inference: true }),
        (e: ManyModelsError) => e.code === 'INVALID_OPTION' && /in-database strategy does not compute inference/.test(e.message),
      );
      assert.equal((await db.sql<Row>(`SELECT to_regclass('houses_indb') IS NULL AS gone`)).rows[0].gone, true);
    });
  });
}
