import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeModel, LogisticRegression, type ManyModels, open } from 'manymodels';
import { backends, cluster } from '../helpers/backends.js';

/**
 * On a real Citus cluster (the cluster pass of test/run.ts, MANYMODELS_TEST_CITUS_URL): every kind of
 * source (a table distributed on the group key, one distributed on another column, a reference
 * table, a plain local table, a view, a query, a table distributed on the key in another
 * co-location group), both strategies, both scoring engines. The oracle is the same data trained
 * and scored on PGlite by the streaming strategy. Where the tables land is read from Citus's own
 * catalog (citus_tables), and that the per-group work runs on the workers from Citus's own EXPLAIN.
 */
const skip = cluster === 'citus' ? false : 'not a Citus pass: set MANYMODELS_TEST_CITUS_URL to a coordinator URL (npm test runs it then)';

/** Deterministic offers: 120 users with 6–12 rows each; user 5 has one class only. */
function offerRows(users: number): string {
  const rows: string[] = [];
  let s = 424242;
  const r = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  let id = 0;
  for (let u = 1; u <= users; u++) {
    const n = 6 + (u % 7);
    for (let i = 0; i < n; i++) {
      const a = 1 + Math.floor(r() * 10);
      const b = 1 + Math.floor(r() * 14);
      const p = 1 / (1 + Math.exp(-(0.4 * a - 0.2 * b + (u % 3) - 1)));
      let y = r() < p ? 1 : 0;
      if (i === 0) y = 0;
      if (i === 1) y = 1;
      if (u === 5) y = 0;
      rows.push(`(${++id}, ${u}, ${a}, ${b}, ${y})`);
    }
  }
  return rows.join(',\n');
}

const OFFER = `CREATE TABLE offer (offerid int, userid int, asktimes int, askbackoffdays int, bought_offer int);
INSERT INTO offer VALUES ${offerRows(120)};`;

/** The sources, made from offer on the cluster; `key`: distributed on userid (new tables co-locate with it). */
const SOURCES: { name: string; from: string | { query: string }; setup: string; key: boolean }[] = [
  { name: 'distributed', from: 'o_dist', setup: `CREATE TABLE o_dist AS SELECT * FROM offer; SELECT create_distributed_table('o_dist', 'userid');`, key: true },
  { name: 'distributed on another column', from: 'o_other', setup: `CREATE TABLE o_other AS SELECT * FROM offer; SELECT create_distributed_table('o_other', 'offerid');`, key: false },
  { name: 'distributed in another co-location group', from: 'o_shards3', setup: `CREATE TABLE o_shards3 AS SELECT * FROM offer; SELECT create_distributed_table('o_shards3', 'userid', shard_count => 3, colocate_with => 'none');`, key: true },
  { name: 'reference table', from: 'o_ref', setup: `CREATE TABLE o_ref AS SELECT * FROM offer; SELECT create_reference_table('o_ref');`, key: false },
  { name: 'local table', from: 'offer', setup: '', key: false },
  { name: 'view', from: 'o_view', setup: `CREATE VIEW o_view AS SELECT * FROM o_dist WHERE asktimes IS NOT NULL;`, key: false },
  { name: 'query', from: { query: 'SELECT offerid, userid, asktimes, askbackoffdays, bought_offer FROM o_dist' }, setup: '', key: false },
];

type Row = Record<string, any>;
const FEATURES = ['asktimes', 'askbackoffdays'];
const base = { group: 'userid', features: FEATURES, label: 'bought_offer' };

interface Placement {
  column: string | null;
  colocation: number | null;
}

describe('on a real Citus cluster', { skip }, () => {
  let db: ManyModels;
  let ref: ManyModels;
  /** PGlite's models and probabilities, the oracle. */
  const refModels = new Map<number, LogisticRegression>();
  const refProb = new Map<number, number | null>();
  let refFailed = 0;

  async function placement(table: string): Promise<Placement> {
    const r = await db.sql<{ col: string; co: number }>(
      `SELECT distribution_column::text AS col, colocation_id::int AS co FROM citus_tables WHERE table_name = to_regclass($1) AND citus_table_type = 'distributed'`,
      [table],
    );
    return r.rows.length === 0 ? { column: null, colocation: null } : { column: r.rows[0].col, colocation: r.rows[0].co };
  }

  before(async () => {
    if (skip) return;
    db = await backends[0].open();
    ref = await open();
    await db.exec(OFFER);
    for (const s of SOURCES) if (s.setup) await db.exec(s.setup);
    await ref.exec(OFFER);
    const r = await ref.train({ ...base, from: 'offer', into: 'm' });
    refFailed = r.groupsFailed;
    for (const m of (await ref.sql<Row>(`SELECT userid, model FROM m WHERE status = 'ok'`)).rows) refModels.set(m.userid, decodeModel(m.model) as LogisticRegression);
    await ref.predict({ models: 'm', from: 'offer', into: 'p' });
    for (const p of (await ref.sql<Row>('SELECT offerid, probability FROM p')).rows) refProb.set(p.offerid, p.probability);
    assert.equal(refModels.size, 119);
  });
  after(async () => {
    await db?.close();
    await ref?.close();
  });

  for (const [k, source] of SOURCES.entries()) {
    for (const strategy of ['streaming', 'in-database'] as const) {
      it(`${source.name}: train (${strategy}), then predict with both engines`, async () => {
        const into = `m_${k}_${strategy.replace('-', '_')}`;
        const r = await db.train({ ...base, from: source.from, into, strategy });
        assert.equal(r.groupsOk, refModels.size);
        assert.equal(r.groupsFailed, refFailed);
        // the models: the same as PGlite's (streaming: the same solver, rows summed in another order; in-database: to 1e-6)
        const tol = strategy === 'streaming' ? 1e-9 : 1e-6;
        const rows = (await db.sql<Row>(`SELECT userid, model, status FROM ${into} ORDER BY userid`)).rows;
        assert.equal(rows.length, 120);
        for (const row of rows) {
          if (row.status !== 'ok') continue;
          const a = (decodeModel(row.model) as LogisticRegression).predictProba([[1, 1], [5, 3], [10, 14]]);
          const b = (refModels.get(row.userid) as LogisticRegression).predictProba([[1, 1], [5, 3], [10, 14]]);
          for (let i = 0; i < 3; i++) assert.ok(Math.abs(a[i][1] - b[i][1]) <= tol, `user ${row.userid}: ${a[i][1]} vs ${b[i][1]}`);
        }
        // the models table is distributed on the group key, co-located with a source distributed on it
        const src = typeof source.from === 'string' ? await placement(source.from) : null;
        const m = await placement(into);
        assert.equal(m.column, 'userid');
        if (source.key) assert.equal(m.colocation, src?.colocation, 'co-located with the source');
        for (const engine of ['sql', 'ts'] as const) {
          const pInto = `p_${k}_${strategy.replace('-', '_')}_${engine}`;
          const p = await db.predict({ models: into, from: source.from, into: pInto, engine });
          assert.equal(p.rows, refProb.size);
          assert.equal(p.rowsWithoutModel, 11, `${engine}: user 5's 11 rows: a failed group`);
          const got = (await db.sql<Row>(`SELECT offerid, probability FROM ${pInto}`)).rows;
          assert.equal(got.length, refProb.size);
          for (const g of got) {
            const want = refProb.get(g.offerid);
            if (want === null || want === undefined) assert.equal(g.probability, null);
            else assert.ok(Math.abs(g.probability - want) <= tol, `offer ${g.offerid} (${engine}): ${g.probability} vs ${want}`);
          }
          // predictions are spread by the group key, co-located with a source distributed on it
          const pp = await placement(pInto);
          assert.equal(pp.column, 'userid');
          if (source.key) assert.equal(pp.colocation, src?.colocation, 'co-located with the source');
        }
      });
    }
  }

  it('predict: a source with NULL group keys keeps its rows, in a table on the coordinator (a distribution column cannot be NULL)', async () => {
    await db.exec(`CREATE TABLE with_nulls AS SELECT * FROM offer; INSERT INTO with_nulls VALUES (100000, NULL, 3, 4, 1), (100001, NULL, 5, 5, 0);`);
    const t = await db.train({ ...base, from: 'with_nulls', into: 'm_nulls' });
    assert.equal(t.nullKeyRows, 2);
    for (const engine of ['sql', 'ts'] as const) {
      const p = await db.predict({ models: 'm_nulls', from: 'with_nulls', into: `p_nulls_${engine}`, engine });
      assert.equal(p.rows, refProb.size + 2);
      assert.equal(p.rowsWithoutModel, 13);
      const n = (await db.sql<Row>(`SELECT count(*)::int AS n FROM p_nulls_${engine} WHERE userid IS NULL AND probability IS NULL`)).rows[0].n;
      assert.equal(n, 2);
      assert.deepEqual(await placement(`p_nulls_${engine}`), { column: null, colocation: null });
    }
    // the same source without NULL keys: distributed
    const p = await db.predict({ models: 'm_nulls', from: { query: 'SELECT * FROM with_nulls WHERE userid IS NOT NULL' }, into: 'p_no_nulls' });
    assert.equal(p.rows, refProb.size);
    assert.equal((await placement('p_no_nulls')).column, 'userid');
  });

  it('the installed SQL scoring functions run on the workers over a distributed models table', async () => {
    await db.train({ ...base, from: 'o_dist', into: 'm_fn' });
    const q = `SELECT userid, manymodels.predict_proba(model, ARRAY[3, 4]::float8[]) AS p, manymodels.predict_value(model, ARRAY[3, 4]::float8[]) AS v,
                      manymodels.predict_label(model, ARRAY[3, 4]::float8[]) AS l, manymodels.decision_function(model, ARRAY[3, 4]::float8[]) AS d,
                      manymodels.predict_proba_all(model, ARRAY[3, 4]::float8[]) AS a
               FROM m_fn WHERE status = 'ok'`;
    const rows = (await db.sql<Row>(q)).rows;
    assert.equal(rows.length, refModels.size);
    for (const r of rows) {
      const m = refModels.get(r.userid) as LogisticRegression;
      const p = m.predictProba([[3, 4]])[0][1];
      assert.ok(Math.abs(r.p - p) <= 1e-9, `${r.p} vs ${p}`);
      assert.equal(r.v, p > 0.5 ? 1 : 0);
      assert.equal(r.l, p > 0.5 ? '1' : '0');
      assert.equal(r.d.length, 1);
      assert.ok(Math.abs(r.a[1] - p) <= 1e-9);
    }
    const plan = (await db.sql<Row>(`EXPLAIN ${q}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
    assert.match(plan, /Task Count: ([2-9]|\d\d+)/);
  });

  it("a retrain replaces a table with nothing attached by a rename: Citus's own TRUNCATE trigger is not a user's", async () => {
    await db.train({ ...base, from: 'o_dist', into: 'm_again' });
    const oid = async (): Promise<number> => (await db.sql<Row>(`SELECT 'm_again'::regclass::oid AS o`)).rows[0].o;
    const trigger = (await db.sql<Row>(`SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = 'm_again'::regclass AND tgfoid = 'pg_catalog.citus_truncate_trigger'::regproc`)).rows[0].n;
    assert.equal(trigger, 1, 'Citus put its TRUNCATE trigger on the distributed models table');
    const before = await oid();
    await db.train({ ...base, from: 'o_dist', into: 'm_again' });
    assert.notEqual(await oid(), before, 'a new table (DROP + RENAME), not the rows copied into the old one');
    // under another group key too (the rows of the old table, distributed on userid, could not take the new ones)
    await db.train({ ...base, group: 'asktimes', features: ['askbackoffdays'], from: 'o_dist', into: 'm_again' });
    const n = (await db.sql<Row>(`SELECT (SELECT count(*)::int FROM m_again) AS m, (SELECT count(DISTINCT asktimes)::int FROM offer) AS g`)).rows[0];
    assert.equal(n.m, n.g);
  });
});
