import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ManyModels } from 'manymodels';
import { backends } from '../helpers/backends.js';

/**
 * SQL gives a group's rows in no particular order (a parallel or distributed sort, or one that
 * spills, sends them differently from run to run), and a fit's sums depend on the order in their
 * last bits. The same rows stored in two different physical orders must give the same models, bit
 * for bit: the reader puts each group's rows in one order (pipeline/group-cutter.ts sortGroupRows).
 */
const ROWS = `SELECT g % 150 AS k, get_byte(h, 0) % 3 AS a, (get_byte(h, 1) % 4)::float8 / 2 AS b,
                     (ARRAY['red', 'green', 'blue'])[1 + get_byte(h, 2) % 3] AS c,
                     CASE WHEN get_byte(h, 3) % 2 = 0 THEN 'yes' ELSE 'no' END AS lab, 1 + get_byte(h, 4) % 3 AS w
              FROM (SELECT g, decode(md5(g::text), 'hex') AS h FROM generate_series(1, 3000) g) s`;

for (const backend of backends) {
  describe(`the same rows in any order give the same models on ${backend.name}`, () => {
    let db: ManyModels;
    before(async () => {
      db = await backend.open();
      // the same rows, written in two different orders
      await db.exec(`CREATE TABLE ro_a AS SELECT * FROM (${ROWS}) r ORDER BY md5(a::text || b::text || lab || w::text || k::text)`);
      await db.exec(`CREATE TABLE ro_b AS SELECT * FROM (${ROWS}) r ORDER BY md5(k::text || w::text || c || lab), a DESC`);
    });
    after(async () => {
      await db?.close();
    });

    const cases = [
      { name: 'number features, weights tied on features and label', opts: { features: ['a', 'b'], label: 'w', estimator: 'linear' as const } },
      { name: 'number features, a text label, sample weights', opts: { features: ['a', 'b'], label: 'lab', weight: 'w' } },
      { name: 'a one-hot text feature', opts: { features: ['c', 'b'], label: 'lab' } },
    ];
    cases.forEach((c, i) => {
      it(c.name, async () => {
        const differ = (await db.sql<{ n: number }>(`SELECT count(*)::int AS n FROM (SELECT k, a, b, c, lab, w, row_number() OVER () AS i FROM ro_a) x JOIN (SELECT k, a, b, c, lab, w, row_number() OVER () AS i FROM ro_b) y USING (i) WHERE (x.k, x.a, x.b, x.c, x.lab, x.w) IS DISTINCT FROM (y.k, y.a, y.b, y.c, y.lab, y.w)`)).rows[0].n;
        assert.ok(differ > 1000, 'the two tables hold their rows in different orders');
        for (const t of ['ro_a', 'ro_b']) await db.train({ from: t, group: 'k', label: c.opts.label, features: c.opts.features, into: `${t}_m${i}`, replace: true, ...('weight' in c.opts ? { weight: c.opts.weight } : {}), ...('estimator' in c.opts ? { estimator: c.opts.estimator } : {}) });
        const r = (await db.sql<{ n: number; ok: number }>(
          `SELECT count(*)::int AS n, count(*) FILTER (WHERE a.status = 'ok')::int AS ok FROM ro_a_m${i} a JOIN ro_b_m${i} b USING (k)
           WHERE a.model::text IS NOT DISTINCT FROM b.model::text AND a.train_score IS NOT DISTINCT FROM b.train_score AND a.n_iter IS NOT DISTINCT FROM b.n_iter`,
        )).rows[0];
        assert.equal(r.n, 150, 'every group: the same document, score and iterations, to the bit');
        assert.ok(r.ok >= 140, `${r.ok} groups fitted`);
      });
    });
  });
}
