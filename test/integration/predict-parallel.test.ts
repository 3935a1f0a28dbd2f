/**
 * Issue 11: on one PostgreSQL node, predict's inline scoring statement is written as fenced derived
 * tables (predict-sql.ts, derivedScoringSql) so that PostgreSQL can run the join to the models, their
 * unpacking and the scores in parallel workers. Here the planner is made to choose the parallel plan
 * for small tables (no setup or transfer cost, no minimum table size, the leader only gathering), for
 * every connection of this file (PGOPTIONS), and:
 *
 * - the plan is checked from outside, by PostgreSQL's EXPLAIN: a Gather at the root with the hash
 *   join to the models below it, in the workers (the LATERAL form kept the join in one process);
 * - the rows are checked against the TypeScript engine (an independent scorer, itself checked against
 *   the closed form by scoring-rules.test.ts): every row's probability and prediction, NULLs in the
 *   same places, and the same counts, with NULL / NaN / ±Infinity features, vectors of other shapes
 *   and lower bounds, groups without a model, a composite key, and huge features whose float8
 *   overflow (raised in a worker) makes predict score again with the guarded arithmetic.
 *
 * PostgreSQL only: PGlite has no parallel workers, and Citus and Greenplum keep the LATERAL form.
 */
process.env.PGOPTIONS = '-c min_parallel_table_scan_size=0 -c parallel_setup_cost=0 -c parallel_tuple_cost=0 -c parallel_leader_participation=off';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ManyModels } from 'manymodels';
import { inlineScoringSql } from '../../dist/sql/predict-sql.js';
import { backends } from '../helpers/backends.js';
import { rng } from '../helpers/random.js';

type Row = Record<string, any>;

/** Five groups of 30 rows: a binary label, a continuous target; features of scale 0.1..1. */
function trainingRows(): string {
  const r = rng(11);
  const rows: string[] = [];
  for (let g = 1; g <= 5; g++) {
    for (let i = 0; i < 30; i++) {
      const x1 = Math.round((r() * 10 - 5) * 100) / 1000;
      const x2 = Math.round((r() * 6 - 3) * 100) / 1000;
      const y = r() < 1 / (1 + Math.exp(-(6 * x1 - 4 * x2 + g / 10))) ? 1 : 0;
      const v = Math.round((3 + 20 * x1 - 10 * x2 + (r() - 0.5)) * 1000) / 1000;
      rows.push(`(${g}, 'r${g % 2}', ${x1}, ${x2}, ${i % 6 === 0 ? 1 - y : y}, ${v})`);
    }
  }
  return rows.join(', ');
}

/** Feature vectors (x1, x2) as float8 literals: mild, non-finite, and huge ones that overflow. */
const VECTORS: [string, string][] = [
  ['1', '2'], ['-2.5', '0.75'], ['0', '0'], ['NULL', '1'], ["'NaN'", '1'], ["'Infinity'", '1'], ["'-Infinity'", "'Infinity'"],
  ['1e-200', '1'], ['0.3', '-0.2'], ['1e308', '1'], ['-1e308', '1e308'], ['5e-324', '5e-324'],
];
/** Array shapes the column form cannot express. */
const SHAPES = ["'{{1,2}}'", "'[0:1]={1.5,2}'", "'[5:6]={-1,3}'", "'{1,2,3}'", "'{1}'", "'{1,NULL}'", "'{}'", 'NULL'];

function close(a: number | null, b: number | null, what: string): void {
  if (b === null || a === null) return assert.equal(a, b, what);
  if (!Number.isFinite(b)) return assert.equal(a, b, what);
  assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
}

/** Every node of an EXPLAIN (FORMAT JSON) plan, root first. */
function nodes(plan: Row): Row[] {
  const out: Row[] = [];
  const walk = (n: Row): void => {
    out.push(n);
    for (const c of (n.Plans as Row[] | undefined) ?? []) walk(c);
  };
  walk(plan.Plan);
  return out;
}

for (const backend of backends) {
  if (backend.name !== 'postgres') continue;
  describe(`predict's scoring statement in parallel workers on ${backend.name}`, () => {
    let db: ManyModels;
    before(async () => {
      db = await backend.open();
      // groups 1-5 have models; rows of groups 6 and 7 have none
      await db.exec(`CREATE TABLE obs (g int, r text, x1 float8, x2 float8, y int, v float8); INSERT INTO obs VALUES ${trainingRows()};`);
      await db.train({ from: 'obs', group: 'g', features: ['x1', 'x2'], label: 'y', into: 'm_bin', params: { C: 1000 } });
      await db.train({ from: 'obs', group: 'g', features: ['x1', 'x2'], label: 'v', into: 'm_lin', estimator: 'linear' });
      await db.train({ from: 'obs', group: ['r', 'g'], features: ['x1', 'x2'], label: 'y', into: 'm_key2' });
      const rows: string[] = [];
      let id = 0;
      for (let g = 1; g <= 7; g++) {
        for (const [a, b] of VECTORS) rows.push(`(${++id}, ${g}, 'r${g % 2}', ${a}::float8, ${b}::float8, ARRAY[${a}::float8, ${b}::float8])`);
        for (const s of SHAPES) rows.push(`(${++id}, ${g}, 'r${g % 2}', 1, 1, ${s}::float8[])`);
      }
      // rows_mild: without the huge and subnormal finite features, so the fast form runs to the end in the workers
      await db.exec(`CREATE TABLE rows_all (id int, g int, r text, x1 float8, x2 float8, xa float8[]); INSERT INTO rows_all VALUES ${rows.join(', ')};
        CREATE TABLE rows_mild AS SELECT * FROM rows_all
          WHERE coalesce(NOT (abs(x1) > 1e300 AND abs(x1) <= '1.7976931348623157e308') AND NOT (abs(x1) > 0 AND abs(x1) < 1e-300), true)
            AND coalesce(NOT (abs(x2) > 1e300 AND abs(x2) <= '1.7976931348623157e308') AND NOT (abs(x2) > 0 AND abs(x2) < 1e-300), true);`);
    });
    after(async () => {
      await db?.close();
    });

    it('the whole statement runs below a Gather: the join to the models and the scores are in the workers', async () => {
      for (const features of [{ kind: 'array' as const, expr: 's."xa"' }, { kind: 'columns' as const, exprs: ['s."x1"', 's."x2"'] }]) {
        for (const guarded of [false, true]) {
          const select = inlineScoringSql({
            fromSql: '"rows_all" AS s', models: ['m_bin'], group: ['g'], features, nFeatures: 2, kind: 'binary', labelKind: 'number', guarded,
            derived: { columns: ['id', 'g', 'r', 'x1', 'x2', 'xa'] },
          });
          const what = `${features.kind} features, ${guarded ? 'guarded' : 'fast'} form`;
          const plan = (await db.sql<Row>(`EXPLAIN (FORMAT JSON) CREATE TABLE never_made AS ${select}`)).rows[0]['QUERY PLAN'][0];
          const all = nodes(plan);
          assert.equal(all[0]['Node Type'], 'Gather', `${what}: a Gather at the root`);
          assert.ok(all[0]['Workers Planned'] >= 1, `${what}: workers planned`);
          const join = all.find((n) => n['Node Type'] === 'Hash Join');
          assert.ok(join !== undefined && join['Parallel Aware'] === true, `${what}: a Parallel Hash Join below the Gather`);
          // the same SELECT in the LATERAL form (Citus, Greenplum, views) cannot go below a Gather
          const lateral = inlineScoringSql({ fromSql: '"rows_all" AS s', models: ['m_bin'], group: ['g'], features, nFeatures: 2, kind: 'binary', labelKind: 'number', guarded });
          const lp = nodes((await db.sql<Row>(`EXPLAIN (FORMAT JSON) ${lateral}`)).rows[0]['QUERY PLAN'][0]);
          assert.notEqual(lp[0]['Node Type'], 'Gather', `${what}: the LATERAL form is not parallel at its root`);
        }
      }
    });

    for (const source of ['rows_mild', 'rows_all']) {
      for (const models of ['m_bin', 'm_lin', 'm_key2']) {
        for (const features of [['x1', 'x2'], 'xa']) {
          it(`${models}, ${source}, features ${JSON.stringify(features)}: the rows and counts of the TypeScript engine`, async () => {
            const tag = `${source}_${models}_${Array.isArray(features) ? 'cols' : 'arr'}`;
            const from = Array.isArray(features) ? `(SELECT id, g, r, x1, x2 FROM ${source})` : source;
            const src = { query: from === source ? `SELECT * FROM ${source}` : from.slice(1, -1) };
            const a = await db.predict({ models, from: src, into: `sql_${tag}`, engine: 'sql', features });
            const b = await db.predict({ models, from: src, into: `ts_${tag}`, engine: 'ts', features });
            assert.deepEqual([a.rows, a.rowsWithoutModel, a.rowsUnscored], [b.rows, b.rowsWithoutModel, b.rowsUnscored], 'rows, rows without a model, rows unscored');
            assert.ok(a.rowsWithoutModel > 0 && a.rowsUnscored > 0, 'the source has rows of both kinds');
            const x = (await db.sql<Row>(`SELECT * FROM sql_${tag} ORDER BY id`)).rows;
            const y = (await db.sql<Row>(`SELECT * FROM ts_${tag} ORDER BY id`)).rows;
            assert.equal(x.length, y.length);
            assert.deepEqual(Object.keys(x[0]), Object.keys(y[0]), 'the same columns in the same order');
            for (let i = 0; i < x.length; i++) {
              assert.equal(x[i].id, y[i].id);
              close(x[i].probability, y[i].probability, `row ${x[i].id} probability`);
              close(x[i].prediction, y[i].prediction, `row ${x[i].id} prediction`);
            }
          });
        }
      }
    }
  });
}
