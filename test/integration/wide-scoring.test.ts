import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ManyModels } from 'manymodels';
import { backends } from '../helpers/backends.js';

/**
 * Issue 9, item 12: scoring in SQL with ~300 features wrote z = b + x₁w₁ + … + x_dw_d as one
 * chain of d nested additions. PGlite's WebAssembly stack overflowed on it without an error: the
 * statement returned nothing, the next failed ("Cannot destructure property 'n' of
 * 'counts.rows[0]'"), every later one with ERRORDATA_STACK_SIZE exceeded, and the run stayed
 * 'running'. Each width is scored in SQL and checked against the TypeScript engine (the other
 * implementation), twice in the same process, and every run must end 'succeeded'.
 */
type Row = Record<string, any>;

for (const backend of backends) {
  describe(`wide models scored in SQL on ${backend.name}`, () => {
    let db: ManyModels;
    before(async () => {
      db = await backend.open();
    });
    after(async () => {
      await db?.close();
    });

    for (const [width, form] of [[300, 'array'], [450, 'array'], [300, 'columns']] as const) {
      it(`${width} features (${form}): SQL and TypeScript engines agree, and the next statements work`, async () => {
        const t = `wide_${form}_${width}`;
        // deterministic pseudo-random features; the label depends on the first three
        const feat = (j: number) => `((((g * 7919 + ${j} * 104729) % 1000) / 1000.0) - 0.5)::float8`;
        if (form === 'array') {
          await db.exec(`CREATE TABLE ${t} AS SELECT g % 6 AS k, ARRAY[${Array.from({ length: width }, (_, j) => feat(j)).join(', ')}] AS x,
                         (((g * 7919) % 1000) + ((g * 31) % 7) * 100 > 700)::int AS y FROM generate_series(1, 240) AS g`);
        } else {
          await db.exec(`CREATE TABLE ${t} AS SELECT g % 6 AS k, ${Array.from({ length: width }, (_, j) => `${feat(j)} AS f${j}`).join(', ')},
                         (((g * 7919) % 1000) + ((g * 31) % 7) * 100 > 700)::int AS y FROM generate_series(1, 240) AS g`);
        }
        const features = form === 'array' ? 'x' : Array.from({ length: width }, (_, j) => `f${j}`);
        const tr = await db.train({ from: t, group: 'k', features, label: 'y', into: `${t}_m`, workers: 0 });
        assert.equal(tr.groupsOk, 6);
        for (let round = 0; round < 2; round++) {
          const sql = await db.predict({ models: `${t}_m`, from: t, into: `${t}_sql`, engine: 'sql' });
          await db.predict({ models: `${t}_m`, from: t, into: `${t}_ts`, engine: 'ts' });
          assert.equal(sql.rows, 240);
          assert.equal(sql.rowsWithoutModel, 0);
          const diff = (await db.sql<Row>(
            `SELECT count(*)::int AS n, max(abs(a.probability - b.probability)) AS d, count(*) FILTER (WHERE a.probability IS NULL OR a.prediction IS DISTINCT FROM b.prediction)::int AS bad
             FROM (SELECT row_number() OVER (ORDER BY k, y, ${form === 'array' ? 'x' : 'f0, f1, f2'}) AS i, * FROM ${t}_sql) AS a
             JOIN (SELECT row_number() OVER (ORDER BY k, y, ${form === 'array' ? 'x' : 'f0, f1, f2'}) AS i, * FROM ${t}_ts) AS b USING (i)`,
          )).rows[0];
          assert.equal(diff.n, 240);
          assert.equal(diff.bad, 0);
          assert.ok(diff.d <= 1e-12, `SQL and TS probabilities differ by ${diff.d}`);
        }
        const runs = (await db.sql<Row>(`SELECT status, count(*)::int AS n FROM manymodels.runs GROUP BY status ORDER BY status`)).rows;
        assert.deepEqual(runs.map((r) => r.status), ['succeeded']);
        assert.equal((await db.sql<Row>('SELECT 1 AS one')).rows[0].one, 1);
      });
    }
  });
}
