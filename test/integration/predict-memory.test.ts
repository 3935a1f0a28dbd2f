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
  });
}
