import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ManyModels } from 'manymodels';
import { inlineScoringSql, scoringWorkMemKb } from '../../dist/sql/predict-sql.js';
import { backends } from '../helpers/backends.js';

/**
 * Issue 11: predict's scoring statement joins every source row to its group's unpacked model
 * through a hash of the models table. With the default work_mem (4 MB) a hash of 1M models spilled
 * in 16 batches, writing every source row to a temporary file and reading it back; predict now
 * raises work_mem for that statement to scoringWorkMemKb's estimate. The oracle is PostgreSQL's
 * own executor: EXPLAIN ANALYZE reports the batches the hash really took, under the estimate
 * (one) and under a small work_mem (several: the estimate is what keeps it in memory). The
 * margin of hash_mem_multiplier is switched off (1), so the estimate alone must hold the hash.
 * Not on a cluster: there the join runs on the workers or segments, under their own settings.
 */
type Row = Record<string, any>;

interface Case {
  name: string;
  keys: { name: string; type: string; expr: string }[];
  features: number;
}

const MODELS = 20000;
const CASES: Case[] = [
  { name: 'an integer key, 2 features', keys: [{ name: 'userid', type: 'int', expr: 'g' }], features: 2 },
  {
    name: 'a text and an integer key, 12 features',
    keys: [
      { name: 'region', type: 'text', expr: `'region-' || lpad((g % 97)::text, 8, '0')` },
      { name: 'user id', type: 'bigint', expr: 'g' },
    ],
    features: 12,
  },
];

/** The Hash nodes of a plan (EXPLAIN FORMAT JSON). */
function hashNodes(plan: Row): Row[] {
  const out: Row[] = [];
  const walk = (n: Row): void => {
    if (n['Node Type'] === 'Hash') out.push(n);
    for (const c of (n.Plans as Row[] | undefined) ?? []) walk(c);
  };
  walk(plan.Plan);
  return out;
}

for (const backend of backends) {
  if (backend.name === 'citus' || backend.name === 'greenplum') continue;
  describe(`predict's hash of the models in memory on ${backend.name}`, () => {
    let db: ManyModels;
    before(async () => {
      db = await backend.open();
    });
    after(async () => {
      await db?.close();
    });

    for (const c of CASES) {
      it(`${MODELS} models, ${c.name}: one batch under the estimate, several under 64 kB`, async () => {
        const t = `mem_${c.features}_${c.keys.length}`;
        const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
        const keyCols = c.keys.map((k) => `(${k.expr})::${k.type} AS ${q(k.name)}`).join(', ');
        const coef = `jsonb_build_array(jsonb_build_array(${Array.from({ length: c.features }, (_, j) => `((g * ${j + 7}) % 1000) / 1000.0`).join(', ')}))`;
        await db.exec(`CREATE TABLE ${t}_m AS SELECT ${keyCols}, jsonb_build_object('state', jsonb_build_object('intercept', jsonb_build_array((g % 13) / 10.0), 'coef', ${coef},
                         'classes', '[0, 1]'::jsonb, 'nFeatures', ${c.features})) AS model, 'ok'::text AS status FROM generate_series(1, ${MODELS}) AS g`);
        await db.exec(`CREATE TABLE ${t}_s AS SELECT ${keyCols}, ARRAY[${Array.from({ length: c.features }, (_, j) => `(g + ${j}) % 5`).join(', ')}]::float8[] AS x FROM generate_series(1, ${MODELS}) AS g`);
        await db.exec(`ANALYZE ${t}_m; ANALYZE ${t}_s`);
        const select = inlineScoringSql({
          fromSql: `${t}_s AS s`,
          models: [`${t}_m`],
          group: c.keys.map((k) => k.name),
          features: { kind: 'array', expr: 's.x' },
          nFeatures: c.features,
          kind: 'binary',
          labelKind: 'number',
        });
        const kb = scoringWorkMemKb(MODELS, c.features, c.keys.length, 0);
        assert.ok(kb !== null && kb > 64);
        assert.equal(scoringWorkMemKb(MODELS, c.features, c.keys.length, kb), null, 'a session with enough work_mem keeps it');
        const batches = async (workMem: string): Promise<number> => {
          // one connection for the transaction: SET LOCAL holds for the EXPLAIN only
          const plan = await db.database.session(async (d) => {
            await d.main.exec('BEGIN');
            try {
              await d.main.exec(`SET LOCAL hash_mem_multiplier = 1; SET LOCAL work_mem = '${workMem}'`);
              const r = await d.main.query<Row>(`EXPLAIN (ANALYZE, FORMAT JSON) ${select}`);
              const v = Object.values(r.rows[0])[0];
              return (typeof v === 'string' ? JSON.parse(v) : v)[0] as Row;
            } finally {
              await d.main.exec('ROLLBACK');
            }
          });
          const hashes = hashNodes(plan);
          assert.equal(hashes.length, 1, `one hash join in the plan: ${JSON.stringify(plan).slice(0, 400)}`);
          return hashes[0]['Hash Batches'] as number;
        };
        assert.equal(await batches(`${kb}kB`), 1, `the hash of ${MODELS} models in ${kb} kB`);
        assert.ok((await batches('64kB')) > 1, 'under 64 kB the hash spills to batches');
      });
    }

    it('predict under a small work_mem: the same scores as the TypeScript engine, the setting left as it was', async () => {
      // 1,000 models need ~117 kB: with the session's work_mem at 64 kB, predict raises it for its statement
      // (its own transaction). A feature of 1e300 overflows PostgreSQL's float8 arithmetic (22003), so the
      // statement is rolled back and run again in the guarded form: that path goes through the transaction too.
      // group k's six rows are g = k + 1000j, j = 0..5: features and label vary with j, both classes in every group
      await db.exec(`CREATE TABLE small_train AS SELECT g % 1000 AS k, ((g / 1000) * 3 + g % 7)::float8 AS a, (((g / 1000) * 5) % 7)::float8 AS b,
                     ((2 * (g / 1000) + g % 1000) % 3 = 0)::int AS y FROM generate_series(0, 5999) AS g`);
      await db.exec(`CREATE TABLE small_rows AS SELECT k, a, b FROM small_train UNION ALL SELECT 5, 1e300, 1 UNION ALL SELECT 6, -1e300, 2`);
      const database = (await db.sql<Row>('SELECT current_database() AS d')).rows[0].d as string;
      await db.exec(`ALTER DATABASE "${database.replace(/"/g, '""')}" SET work_mem = '64kB'; SET work_mem = '64kB'`);
      const tr = await db.train({ from: 'small_train', group: 'k', features: ['a', 'b'], label: 'y', into: 'small_m', workers: 0 });
      assert.equal(tr.groupsOk, 1000);
      const sql = await db.predict({ models: 'small_m', from: 'small_rows', into: 'small_sql', engine: 'sql' });
      await db.predict({ models: 'small_m', from: 'small_rows', into: 'small_ts', engine: 'ts' });
      assert.equal(sql.rows, 6002);
      const diff = (await db.sql<Row>(
        `SELECT count(*)::int AS n, max(abs(a.probability - b.probability)) AS d,
                count(*) FILTER (WHERE a.probability IS DISTINCT FROM b.probability AND (a.probability IS NULL OR b.probability IS NULL))::int AS nulls,
                count(*) FILTER (WHERE a.prediction IS DISTINCT FROM b.prediction)::int AS bad
         FROM (SELECT row_number() OVER (ORDER BY k, a, b) AS i, * FROM small_sql) AS a
         JOIN (SELECT row_number() OVER (ORDER BY k, a, b) AS i, * FROM small_ts) AS b USING (i)`,
      )).rows[0];
      assert.equal(diff.n, 6002);
      assert.equal(diff.nulls, 0);
      assert.equal(diff.bad, 0);
      assert.ok(diff.d <= 1e-12, `SQL and TS probabilities differ by ${diff.d}`);
      // the overflowing rows got their limits: the guarded form ran
      const extreme = (await db.sql<Row>(`SELECT probability FROM small_sql WHERE abs(a) > 1e299 ORDER BY a`)).rows.map((r) => r.probability);
      assert.equal(extreme.length, 2);
      assert.ok(extreme.every((p) => p === 0 || p === 1), `limits 0 / 1, got ${extreme}`);
      // SET LOCAL: the session's own setting is back (PGlite runs predict on this session)
      assert.equal((await db.sql<Row>('SHOW work_mem')).rows[0].work_mem, '64kB');
      const runs = (await db.sql<Row>(`SELECT status, count(*)::int AS n FROM manymodels.runs GROUP BY status ORDER BY status`)).rows;
      assert.deepEqual(runs.map((r) => r.status), ['succeeded']);
    });
  });
}
