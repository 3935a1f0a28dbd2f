import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ManyModels } from 'manymodels';
import { backends } from '../helpers/backends.js';

/**
 * On a real Greenplum cluster (the pass that MANYMODELS_TEST_GREENPLUM_URL turns on), every
 * statement of both strategies over a source distributed by the group key is checked against
 * Greenplum's own EXPLAIN: no row is redistributed or broadcast between segments, and every
 * grouping aggregate runs on the segments, below the Gather Motion (or in a plan with no Gather
 * Motion at all, where the result stays on the segments). The statements are the ones
 * `train --explain` prints, executed in order so that each is explained against the tables the
 * ones before it made.
 */
const gp = backends.find((b) => b.name === 'greenplum');

const SETUP = `
CREATE TABLE offer (userid int, offerid int, asktimes int, askbackoffdays int, bought_offer int) DISTRIBUTED BY (userid);
INSERT INTO offer
SELECT (g / 12) + 1, g, 1 + (g * 7) % 10, 1 + (g * 5) % 14, CASE WHEN ((g * 7) % 10 + (g * 3) % 4 + g / 12) % 3 = 0 THEN 1 ELSE 0 END
FROM generate_series(0, 12 * 400 - 1) AS g;
ANALYZE offer;
`;

interface Checked {
  sql: string;
  plan: string[];
}

function indent(line: string): number {
  return line.length - line.trimStart().length;
}

/** Greenplum's EXPLAIN of one statement, as lines. */
async function explain(db: ManyModels, sql: string): Promise<string[]> {
  return (await db.sql<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`)).rows.map((r) => r['QUERY PLAN']);
}

/** The grouping aggregates and window aggregates (the streaming read counts rows per group) of a plan, and whether each sits below a Gather Motion. */
function aggregates(plan: string[]): { line: string; belowGather: boolean }[] {
  const out: { line: string; belowGather: boolean }[] = [];
  for (let i = 0; i < plan.length; i++) {
    if (!/\b(HashAggregate|GroupAggregate|WindowAgg)\b/.test(plan[i])) continue;
    let belowGather = false;
    for (let k = i - 1; k >= 0; k--) {
      if (/Gather Motion/.test(plan[k]) && indent(plan[k]) < indent(plan[i])) belowGather = true;
    }
    out.push({ line: plan[i].trim(), belowGather });
  }
  return out;
}

/** Explains (then runs) every statement of `train --explain` but the final swap. */
async function explainRun(db: ManyModels, opts: Record<string, unknown>): Promise<Checked[]> {
  const statements = await db.explainTrain(opts as never);
  const checked: Checked[] = [];
  try {
    await explainEach(db, statements, checked);
  } finally {
    // the staging and work tables of the explained run (its statements stop before the swap)
    const left = await db.sql<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'mm\\_stage\\_%'`);
    for (const { t } of left.rows) await db.exec(`DROP TABLE "${t}"`);
  }
  return checked;
}

async function explainEach(db: ManyModels, all: string[], checked: Checked[]): Promise<void> {
  // up to the swap (its LOCK TABLE needs the transaction the run opens; its statements move no rows)
  const swapAt = all.findIndex((s) => s.startsWith('LOCK TABLE'));
  const statements = swapAt < 0 ? all : all.slice(0, swapAt);
  for (const s of statements) {
    if (s.startsWith('--') || s === 'BEGIN' || s.startsWith('DROP TABLE IF EXISTS')) continue;
    if (s === 'COMMIT' || s.startsWith('ALTER TABLE') || s.startsWith('COMMENT') || s.includes('manymodels.runs')) continue;
    if (s.startsWith('COPY (')) {
      // the streaming read: explain its query
      const inner = s.slice('COPY ('.length, s.lastIndexOf(') TO STDOUT'));
      checked.push({ sql: inner, plan: await explain(db, inner) });
      continue;
    }
    if (s.startsWith('COPY ')) continue; // the models written back from the client
    if (/^(CREATE TABLE|INSERT|UPDATE|SELECT)\b/.test(s)) checked.push({ sql: s, plan: await explain(db, s) });
    await db.exec(s);
  }
}

function assertPushedDown(checked: Checked[], minAggregates: number): void {
  let grouped = 0;
  for (const { sql, plan } of checked) {
    const text = plan.join('\n');
    assert.doesNotMatch(text, /Redistribute Motion|Broadcast Motion/, `rows move between segments for:\n${sql}\n${text}`);
    const hasGather = /Gather Motion/.test(text);
    for (const a of aggregates(plan)) {
      grouped++;
      assert.ok(a.belowGather || !hasGather, `the aggregate "${a.line}" runs above the Gather Motion (on the coordinator) for:\n${sql}\n${text}`);
    }
  }
  assert.ok(grouped >= minAggregates, `expected at least ${minAggregates} grouping aggregates in the plans, saw ${grouped}`);
}

describe('Greenplum: the per-group work runs on the segments (EXPLAIN on a real cluster)', { skip: gp === undefined ? 'runs in the Greenplum pass (set MANYMODELS_TEST_GREENPLUM_URL)' : false }, () => {
  let db: ManyModels;
  const base = { from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer' };
  before(async () => {
    db = await (gp as NonNullable<typeof gp>).open();
    await db.exec(SETUP);
    // a first run installs the catalog and its functions (the in-database solve calls manymodels.spd_solve)
    await db.train({ ...base, into: 'm_first' } as never);
  });
  after(async () => {
    await db?.close();
  });

  it('in-database LogisticRegression: the data and group tables, the Newton step, the score and the models table', async () => {
    const checked = await explainRun(db, { ...base, into: 'm_lr', strategy: 'in-database' });
    assert.ok(checked.some((c) => c.sql.startsWith('UPDATE') && c.sql.includes('SET w_0')), 'the Newton step was explained');
    // the group table, the Newton step's aggregate and the score's aggregate
    assertPushedDown(checked, 3);
  });

  it('in-database Ridge: the sufficient statistics, the solve and the score', async () => {
    const checked = await explainRun(db, { ...base, into: 'm_ridge', strategy: 'in-database', estimator: 'Ridge' });
    assertPushedDown(checked, 2);
  });

  it('streaming: the read is ordered on the segments and merged by the Gather Motion; nothing is redistributed', async () => {
    const checked = await explainRun(db, { ...base, into: 'm_stream' });
    const read = checked.find((c) => /ORDER BY/.test(c.sql));
    assert.ok(read, 'the streaming read was explained');
    assert.match(read.plan.join('\n'), /Gather Motion \d+:1[^\n]*\n(?:[^\n]*\n)*?\s*Merge Key/, read.plan.join('\n'));
    assertPushedDown(checked, 0);
  });

  it('a trained model table and a predictions table are distributed by the group key', async () => {
    await db.train({ ...base, into: 'm_real', strategy: 'in-database' } as never);
    await db.exec(`CREATE TABLE tests AS SELECT userid, ARRAY[k, 15 - k] AS features FROM generate_series(1, 40) AS userid, generate_series(1, 9) AS k DISTRIBUTED BY (userid)`);
    await db.predict({ models: 'm_real', from: 'tests', into: 'p_real', features: 'features' } as never);
    const r = await db.sql<{ rel: string; key: string }>(
      `SELECT c.relname AS rel, pg_get_table_distributedby(c.oid) AS key FROM pg_class c WHERE c.relname IN ('m_real', 'p_real') ORDER BY 1`,
    );
    assert.deepEqual(r.rows, [
      { rel: 'm_real', key: 'DISTRIBUTED BY (userid)' },
      { rel: 'p_real', key: 'DISTRIBUTED BY (userid)' },
    ]);
  });
});
