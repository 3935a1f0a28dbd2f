import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ManyModels } from 'manymodels';
import { backends, cluster } from '../helpers/backends.js';

/**
 * On a real Citus cluster: the per-group work runs on the workers. Every statement a run sends
 * that reads or writes rows (INSERT, UPDATE, and the COPY reads) is EXPLAINed by Citus itself just
 * before it runs, and each plan must be a distributed plan over more than one shard task
 * ("Task Count" > 1), with no "pull to coordinator" or repartitioning; a statement that groups must
 * have its aggregate inside the task (on a worker), not above the Citus scan. The source is
 * distributed on the group key, as the README asks.
 */
const skip = cluster === 'citus' ? false : 'not a Citus pass: set MANYMODELS_TEST_CITUS_URL to a coordinator URL (npm test runs it then)';

interface Observed {
  sql: string;
  plan: string;
  /** A COPY read (streaming train, the ts engine): its rows go to the client, through the coordinator. */
  read: boolean;
}

/** Records each row-moving statement sent on the database's connections, with Citus's EXPLAIN of it taken just before it runs. */
function observe(db: ManyModels): Observed[] {
  const seen: Observed[] = [];
  const main = db.database.main;
  const explain = async (sql: string): Promise<string> => (await main.query<Record<string, string>>(`EXPLAIN ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
  // each operation runs on a connection of its own (db.session): its statements are explained there,
  // where its uncommitted work tables are visible
  const hook = (conn: typeof main): void => {
    const exec = conn.exec.bind(conn);
    conn.exec = async (sql: string) => {
      if (/^\s*(INSERT|UPDATE)\b/i.test(sql)) seen.push({ sql, plan: (await conn.query<Record<string, string>>(`EXPLAIN ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n'), read: false });
      return exec(sql);
    };
  };
  hook(main);
  const session = db.database.session.bind(db.database);
  (db.database as { session: typeof session }).session = (<T,>(fn: (d: typeof db.database) => Promise<T>) =>
    session((view) => {
      if (view.main !== main) hook(view.main);
      return fn(view);
    })) as typeof session;
  const openStream = db.database.openStream.bind(db.database);
  (db.database as { openStream: typeof openStream }).openStream = async () => {
    const c = await openStream();
    const copyOut = c.copyOut.bind(c);
    const wrapped = async function* (source: string, format: Parameters<typeof copyOut>[1]) {
      if (source.startsWith('(')) seen.push({ sql: source.slice(1, -1), plan: await explain(source.slice(1, -1)), read: true });
      yield* copyOut(source, format);
    };
    c.copyOut = wrapped;
    return c;
  };
  return seen;
}

function assertPushedDown(o: Observed): void {
  const what = `${o.sql.slice(0, 160)}…\n${o.plan}`;
  const top = o.plan.slice(0, o.plan.indexOf('Custom Scan (Citus '));
  // a read to the client may be sorted on the coordinator (the rows pass through it anyway); nothing else runs there
  if (o.read) assert.match(top, /^(Sort .*\n\s+Sort Key: .*\n\s+->  )?$/, `only a merge by the key on the coordinator: ${what}`);
  else assert.equal(top, '', `a distributed plan at the top: ${what}`);
  const tasks = Number(/Task Count: (\d+)/.exec(o.plan)?.[1] ?? 0);
  assert.ok(tasks > 1, `more than one shard task (${tasks}): ${what}`);
  assert.doesNotMatch(o.plan, /pull to coordinator|repartition/i, what);
  const task = o.plan.slice(o.plan.indexOf('->  Task'));
  assert.ok(o.plan.includes('->  Task'), what);
  if (/\bGROUP BY\b/.test(o.sql)) {
    assert.match(task, /Aggregate/, `the aggregate runs in the task: ${what}`);
    assert.doesNotMatch(top, /Aggregate/, `no aggregate on the coordinator: ${what}`);
  }
  if (/\bOVER\b/.test(o.sql)) assert.match(task, /WindowAgg/, `the window function runs in the task: ${what}`);
}

const ROWS = `INSERT INTO offer SELECT g, 1 + g / 10, 1 + g % 7, 1 + (g * 7) % 11, CASE WHEN g % 10 < 2 THEN g % 2 ELSE ((g * 7919) % 13) % 2 END FROM generate_series(1, 4000) AS g`;

describe('on a real Citus cluster, every statement runs on the workers', { skip }, () => {
  let db: ManyModels;
  const base = { from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer' };
  before(async () => {
    if (skip) return;
    db = await backends[0].open();
    await db.exec(`CREATE TABLE offer (offerid int, userid int, asktimes int, askbackoffdays int, bought_offer int); SELECT create_distributed_table('offer', 'userid'); ${ROWS}`);
  });
  after(async () => {
    await db?.close();
  });

  for (const [name, extra, expect] of [
    ['in-database LogisticRegression', { strategy: 'in-database' }, 6],
    ['in-database Ridge', { strategy: 'in-database', estimator: 'ridge' }, 5],
    ['streaming', { strategy: 'streaming' }, 1],
  ] as const) {
    it(`train, ${name}`, async () => {
      const seen = observe(db);
      const r = await db.train({ ...base, ...extra, into: `m_${name.replaceAll(/\W/g, '_')}` });
      assert.ok(r.groupsOk >= 390, `${r.groupsOk} groups`);
      assert.ok(seen.length >= expect, `${seen.length} statements seen`);
      for (const o of seen) assertPushedDown(o);
      if (name.startsWith('in-database')) assert.ok(seen.filter((o) => /\bGROUP BY\b/.test(o.sql)).length >= 2, 'the grouping statements were seen');
    });
  }

  for (const engine of ['sql', 'ts'] as const) {
    it(`predict, ${engine} engine`, async () => {
      await db.train({ ...base, into: 'm_predict', replace: true });
      const seen = observe(db);
      const p = await db.predict({ models: 'm_predict', from: 'offer', into: `p_${engine}`, engine });
      assert.equal(p.rows, 4000);
      assert.ok(seen.length >= 1);
      for (const o of seen) assertPushedDown(o);
    });
  }
});
