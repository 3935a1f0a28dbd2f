/**
 * Issue 9, item 13: every width that training accepts is scored. The TypeScript scorer returned
 * NULL for every row above 1,024 features (a fixed buffer) and the SQL scorer failed from ~832
 * (`number of columns exceeds limit (1664)`: one column per weight). The oracle is the closed form
 * z = b + Σ xⱼ·wⱼ from each stored model document, computed here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ManyModels } from 'manymodels';
import { backends } from '../helpers/backends.js';

type Row = Record<string, any>;

function zOf(b: number, w: number[], x: number[]): number {
  let s = b;
  for (let j = 0; j < w.length; j++) s += x[j] * w[j];
  return s;
}

function sigmoid(v: number): number {
  return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
}

/** Deterministic feature j of row i of group g, in [-1, 1]. */
const feat = (g: number, i: number, j: number): number => (((i * 131 + j * 37 + g * 17) % 97) - 48) / 48;

for (const backend of backends) {
  describe(`wide models on ${backend.name}`, () => {
    let db: ManyModels;
    before(async () => {
      db = await backend.open();
    });
    after(async () => {
      await db?.close();
    });

    for (const d of [1100, 150]) {
      it(`${d} features in one array: both engines score every row as the closed form does`, async () => {
        await db.exec(`
          CREATE TABLE wide${d} AS
            SELECT g, i, ARRAY(SELECT ((i * 131 + j * 37 + g * 17) % 97 - 48)::float8 / 48 FROM generate_series(1, ${d}) AS j ORDER BY j) AS x,
                   CASE WHEN (i * 7 + g) % 5 < 2 THEN 1 ELSE 0 END AS y, (i % 11)::float8 AS v
            FROM generate_series(1, 2) AS g, generate_series(1, 24) AS i;
          CREATE TABLE wide${d}_score AS SELECT 1000 + i AS id, g, x FROM wide${d} WHERE i <= 3
            UNION ALL SELECT 2000 + g, g, NULL::float8[] FROM generate_series(1, 2) AS g;`);
        await db.train({ from: `wide${d}`, group: 'g', features: 'x', label: 'y', into: `wide${d}_m` });
        // (least squares with far more features than rows is slow in the core's SVD: the regressor at 150 only)
        const regressor = d <= 150;
        if (regressor) await db.train({ from: `wide${d}`, group: 'g', features: 'x', label: 'v', into: `wide${d}_r`, estimator: 'linear' });
        const docs = new Map<string, any>();
        for (const t of regressor ? [`wide${d}_m`, `wide${d}_r`] : [`wide${d}_m`]) {
          for (const r of (await db.sql<Row>(`SELECT g, status, model FROM ${t} ORDER BY g`)).rows) {
            assert.equal(r.status, 'ok');
            assert.equal(r.model.state.nFeatures, d);
            docs.set(`${t}/${r.g}`, r.model.state);
          }
        }
        for (const engine of ['sql', 'ts'] as const) {
          const rc = await db.predict({ models: `wide${d}_m`, from: `wide${d}_score`, into: `wide${d}_pc_${engine}`, engine });
          assert.equal(rc.rowsUnscored, 2, 'the NULL-feature rows');
          const c = (await db.sql<Row>(`SELECT id, g, probability, prediction FROM wide${d}_pc_${engine} ORDER BY id`)).rows;
          let r: Row[] = [];
          if (regressor) {
            const rr = await db.predict({ models: `wide${d}_r`, from: `wide${d}_score`, into: `wide${d}_pr_${engine}`, engine });
            assert.equal(rr.rowsUnscored, 2);
            r = (await db.sql<Row>(`SELECT id, g, prediction FROM wide${d}_pr_${engine} ORDER BY id`)).rows;
          }
          assert.equal(c.length, 8);
          for (let k = 0; k < c.length; k++) {
            const row = c[k];
            if (row.id >= 2000) {
              assert.equal(row.probability, null);
              if (regressor) assert.equal(r[k].prediction, null);
              continue;
            }
            const i = row.id - 1000;
            const x = Array.from({ length: d }, (_, j) => feat(row.g, i, j + 1));
            const m = docs.get(`wide${d}_m/${row.g}`);
            const z = zOf(m.intercept[0], m.coef[0], x);
            assert.ok(row.probability !== null, `${engine}: row ${row.id} scored`);
            assert.ok(Math.abs(row.probability - sigmoid(z)) < 1e-12, `${engine}: row ${row.id} ${row.probability} vs ${sigmoid(z)}`);
            assert.equal(row.prediction, m.classes[z > 0 ? 1 : 0]);
            if (!regressor) continue;
            const lr = docs.get(`wide${d}_r/${row.g}`);
            const v = zOf(lr.intercept, lr.coef, x);
            assert.ok(Math.abs(r[k].prediction - v) < 1e-9 * Math.max(1, Math.abs(v)), `${engine}: regressor row ${row.id} ${r[k].prediction} vs ${v}`);
          }
        }
      });
    }

    it('the in-database strategy refuses a width beyond its limit up front, with TOO_MANY_FEATURES and the limit', async () => {
      for (const [estimator, label, limit] of [['logistic', 'y', 53], ['linear', 'v', 40], ['ridge', 'v', 40]] as const) {
        const d = limit + 1;
        await db.exec(`DROP TABLE IF EXISTS w; CREATE TABLE w AS SELECT g, ARRAY(SELECT ((i * 7 + j * 3 + g) % 13)::float8 / 5 FROM generate_series(1, ${d}) AS j) AS x,
                         i % 2 AS y, i * 0.5 AS v FROM generate_series(1, 2) AS g, generate_series(1, 10) AS i`);
        await assert.rejects(
          db.train({ from: 'w', group: 'g', features: 'x', label, estimator, into: `w_${estimator}`, strategy: 'in-database' }),
          (e: any) => e.code === 'TOO_MANY_FEATURES' && e.message.includes(`at most ${limit} features`) && e.message.includes(`got ${d}`),
        );
        assert.equal((await db.sql(`SELECT to_regclass('w_${estimator}') AS t`)).rows[0].t, null);
        // the streaming strategy trains the same width
        const r = await db.train({ from: 'w', group: 'g', features: 'x', label, estimator, into: `w_${estimator}` });
        assert.equal(r.groupsOk, 2);
      }
    });

    if (backend.name === 'postgres') {
      it('the in-database strategy trains at its width limit (linear: 40 features)', async () => {
        await db.exec(`DROP TABLE IF EXISTS w40; CREATE TABLE w40 AS SELECT g, ARRAY(SELECT sin(i * 7 + j * 3 + g) FROM generate_series(1, 40) AS j) AS x,
                         cos(i) AS v FROM generate_series(1, 2) AS g, generate_series(1, 60) AS i`);
        const r = await db.train({ from: 'w40', group: 'g', features: 'x', label: 'v', estimator: 'linear', into: 'w40_m', strategy: 'in-database' });
        assert.equal(r.groupsOk, 2);
      });
    }

    it('120 feature columns (weights as one array per model in SQL): both engines agree with the closed form', async () => {
      const d = 120;
      const cols = Array.from({ length: d }, (_, j) => `((i * 131 + ${(j + 1) * 37} + g * 17) % 97 - 48)::float8 / 48 AS f${j + 1}`);
      await db.exec(`
        CREATE TABLE cols120 AS SELECT g, i, ${cols.join(', ')}, CASE WHEN (i * 7 + g) % 5 < 2 THEN 1 ELSE 0 END AS y
          FROM generate_series(1, 2) AS g, generate_series(1, 30) AS i;`);
      const names = Array.from({ length: d }, (_, j) => `f${j + 1}`);
      await db.train({ from: 'cols120', group: 'g', features: names, label: 'y', into: 'cols120_m' });
      const docs = new Map((await db.sql<Row>(`SELECT g, model FROM cols120_m`)).rows.map((r) => [r.g, r.model.state]));
      for (const engine of ['sql', 'ts'] as const) {
        await db.predict({ models: 'cols120_m', from: { query: 'SELECT * FROM cols120 WHERE i <= 4' }, into: `cols120_p_${engine}`, engine });
        const rows = (await db.sql<Row>(`SELECT * FROM cols120_p_${engine} ORDER BY g, i`)).rows;
        assert.equal(rows.length, 8);
        for (const row of rows) {
          const m = docs.get(row.g);
          const z = zOf(m.intercept[0], m.coef[0], names.map((n) => row[n]));
          assert.ok(Math.abs(row.probability - sigmoid(z)) < 1e-12, `${engine}: ${row.probability} vs ${sigmoid(z)}`);
        }
      }
    });
  });
}
