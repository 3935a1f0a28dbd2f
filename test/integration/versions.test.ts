import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ManyModels, ManyModelsError, open } from 'manymodels';
import { backends, cluster, freshDatabaseUrl } from '../helpers/backends.js';
import { clearFaults, doAt } from '../helpers/faults.js';
import { killCliAt } from '../helpers/kill-at.js';
import { snapshot } from '../helpers/snapshot.js';

/**
 * Issue 13, item 2: every run that writes a models table keeps the state it replaces; retention
 * drops the oldest; rollback restores a state byte for byte in one transaction, keeping what is
 * attached to the table; diff lists what changed between two states; a failed or killed run
 * leaves the table and its versions as they were. States are compared by an md5 of their rows
 * taken while they were the table itself.
 */
type Row = Record<string, any>;
const SETUP = `CREATE TABLE offer AS SELECT 1 + g % 30 AS userid, 1 + g % 10 AS asktimes, 1 + (g * 3) % 14 AS askbackoffdays, (g * 7 + g / 30) % 2 AS bought_offer FROM generate_series(0, 299) AS g`;
const TRAIN = { from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'models' } as const;

const rowsOf = async (db: ManyModels, table: string): Promise<string> =>
  (await db.sql<Row>(`SELECT md5(string_agg(m::text, '|' ORDER BY m.userid)) AS h FROM ${table} AS m`)).rows[0].h as string;

/** The table, its kept versions and their archives' rows. */
async function lifecycleState(db: ManyModels): Promise<string> {
  const v = (await db.sql<Row>(`SELECT run_id::text AS id, kind, archive FROM manymodels.versions WHERE models_table = '"models"' ORDER BY archived_at`)).rows;
  const parts = [await rowsOf(db, 'models')];
  for (const x of v) parts.push(`${x.id} ${x.kind} ${(await db.sql<Row>(`SELECT md5(string_agg(a::text, '|' ORDER BY a.userid)) AS h FROM ${x.archive.map((p: string) => `"${p}"`).join('.')} AS a`)).rows[0].h}`);
  return parts.join('\n');
}

for (const backend of backends) {
  describe(`versions of a models table on ${backend.name}`, () => {
    let db: ManyModels;
    /** run id → md5 of the table's rows while that run's state was the table. */
    const states = new Map<string, string>();
    const trainAndNote = async (extra: Record<string, unknown> = {}) => {
      const r = await db.train({ ...TRAIN, ...extra });
      states.set(r.runId, await rowsOf(db, 'models'));
      return r;
    };
    before(async () => {
      db = await backend.open();
      await db.exec(SETUP);
    });
    after(async () => {
      clearFaults();
      await db?.close();
    });

    it('keeps the state each run replaces, and retention drops the oldest', async () => {
      const runs = [];
      for (const C of [1, 0.5, 0.25, 2]) runs.push(await trainAndNote({ params: { C }, keep: 2 }));
      const v = (await db.sql<Row>(`SELECT run_id::text AS id, kind, replaced_by::text AS by FROM manymodels.versions ORDER BY archived_at DESC`)).rows;
      assert.deepEqual(v, [
        { id: runs[2].runId, kind: 'full', by: runs[3].runId },
        { id: runs[1].runId, kind: 'full', by: runs[2].runId },
      ]);
      const archives = (await db.sql<Row>(`SELECT relname FROM pg_class WHERE relname LIKE 'mm_v_%' AND relkind = 'r' ORDER BY 1`)).rows.map((r) => r.relname);
      assert.equal(archives.length, 2, 'the oldest archive is dropped');
      for (const x of v) {
        const [archive] = (await db.sql<Row>(`SELECT archive FROM manymodels.versions WHERE run_id = $1`, [x.id])).rows[0].archive;
        assert.equal(await rowsOf(db, `"${archive}"`), states.get(x.id), 'an archive holds the replaced table byte for byte');
      }
      const h = await db.history('models');
      assert.deepEqual(h.map((e) => [e.runId, e.kind, e.state]), [
        [runs[3].runId, 'train', 'current'], [runs[2].runId, 'train', 'kept'], [runs[1].runId, 'train', 'kept'], [runs[0].runId, 'train', 'gone'],
      ]);
      // an archive is a models table of its own: predict reads it
      const [archive] = (await db.sql<Row>(`SELECT archive FROM manymodels.versions WHERE run_id = $1`, [runs[2].runId])).rows[0].archive;
      await db.exec(`CREATE TABLE probe AS SELECT 1 AS userid, 3 AS asktimes, 4 AS askbackoffdays`);
      const p = await db.predict({ models: archive, from: 'probe', into: 'probe_scored' });
      assert.equal(p.rows, 1);
    });

    it('rollback restores a state byte for byte, keeps what is attached, and can itself be rolled back', async () => {
      // one statement a call: Citus propagates CREATE INDEX on a distributed table with the whole
      // text it was given, which its workers refuse as several commands in one prepared statement
      await db.exec(`CREATE INDEX models_score ON models (train_score)`);
      await db.exec(`CREATE VIEW good AS SELECT userid FROM models WHERE status = 'ok'`);
      await db.exec(`COMMENT ON TABLE models IS 'our churn models'`);
      const current = (await db.history('models'))[0].runId;
      const kept = (await db.history('models')).filter((e) => e.state === 'kept').map((e) => e.runId);
      const r = await db.rollback({ models: 'models', to: kept[1].slice(0, 8) });
      assert.equal(r.restored, kept[1]);
      assert.equal(r.replaced, current);
      assert.equal(await rowsOf(db, 'models'), states.get(kept[1]), 'the restored rows are the state as it was');
      states.set(r.runId, states.get(kept[1]) as string);
      assert.deepEqual((await db.sql<Row>(`SELECT indexname FROM pg_indexes WHERE tablename = 'models' ORDER BY 1`)).rows.map((x) => x.indexname), ['models_pkey', 'models_score']);
      assert.equal((await db.sql<Row>(`SELECT count(*)::int AS n FROM good`)).rows[0].n, (await db.sql<Row>(`SELECT count(*)::int AS n FROM models WHERE status = 'ok'`)).rows[0].n);
      assert.equal((await db.sql<Row>(`SELECT obj_description('models'::regclass, 'pg_class') AS c`)).rows[0].c, 'our churn models', "the user's comment stays");
      // with a user's comment on it the table is still a models table (the marker is in manymodels.tables)
      assert.equal((await db.predict({ models: 'models', from: 'probe', into: 'probe_scored' })).rows, 1);
      const back = await db.rollback({ models: 'models', to: current });
      assert.equal(back.restored, current);
      assert.equal(await rowsOf(db, 'models'), states.get(current));
      states.set(back.runId, states.get(current) as string);
    });

    it('incremental runs keep deltas, and rollback and diff go through them', async () => {
      await db.exec(`DROP VIEW good`);
      await db.exec(`DROP INDEX models_score`);
      const base = await trainAndNote({ incremental: true, keep: 10 });
      const docs = async () => new Map((await db.sql<Row>(`SELECT userid, model FROM models WHERE status = 'ok'`)).rows.map((x) => [String(x.userid), [...[x.model.state.coef].flat(2), ...[x.model.state.intercept].flat()] as number[]]));
      const docsBase = await docs();
      await db.exec(`UPDATE offer SET asktimes = asktimes + 1 WHERE userid IN (2, 5); DELETE FROM offer WHERE userid = 7; INSERT INTO offer SELECT 40, asktimes, askbackoffdays, bought_offer FROM offer WHERE userid = 9`);
      const inc1 = await trainAndNote({ incremental: true, keep: 10 });
      await db.exec(`DELETE FROM offer WHERE userid = 40; UPDATE offer SET askbackoffdays = 1 WHERE userid = 11`);
      const inc2 = await trainAndNote({ incremental: true, keep: 10 });
      const docsInc2 = await docs();
      const kinds = (await db.sql<Row>(`SELECT run_id::text AS id, kind FROM manymodels.versions WHERE run_id IN ($1, $2)`, [base.runId, inc1.runId])).rows;
      assert.deepEqual(Object.fromEntries(kinds.map((k) => [k.id, k.kind])), { [base.runId]: 'delta', [inc1.runId]: 'delta' });
      // diff against an oracle: the two states' rows, read from the tables they were
      const d = await db.diff({ runA: base.runId, runB: inc2.runId });
      assert.deepEqual([d.added, d.removed, d.refitted], [0, 1, 3]);
      assert.deepEqual(d.removedGroups, [{ userid: '7' }]);
      assert.deepEqual(d.refittedGroups, [{ userid: '2' }, { userid: '5' }, { userid: '11' }]);
      const d1 = await db.diff({ runA: base.runId, runB: inc1.runId, models: 'models' });
      assert.deepEqual([d1.added, d1.removed, d1.refitted, d1.addedGroups], [1, 1, 2, [{ userid: '40' }]]);
      // the coefficient changes, computed here from the documents of both states
      const expected = ['2', '5', '11']
        .filter((k) => docsBase.has(k) && docsInc2.has(k))
        .map((k) => ({ k, c: Math.max(...(docsBase.get(k) as number[]).map((v, i) => Math.abs(v - (docsInc2.get(k) as number[])[i]))) }))
        .sort((a, b) => b.c - a.c);
      assert.deepEqual(d.coefficientChanges.map((c) => c.key.userid), expected.map((e) => e.k));
      d.coefficientChanges.forEach((c, i) => assert.ok(Math.abs(c.maxAbsChange - expected[i].c) <= 1e-12, `${c.maxAbsChange} vs ${expected[i].c}`));
      await db.rollback({ models: 'models', to: base.runId, keep: 10 });
      assert.equal(await rowsOf(db, 'models'), states.get(base.runId), 'two deltas back: the state as it was');
      await db.rollback({ models: 'models', to: inc1.runId, keep: 10 });
      assert.equal(await rowsOf(db, 'models'), states.get(inc1.runId));
    });

    it('diff reports the largest metric changes when both states have a metrics column', async () => {
      const a = await db.train({ ...TRAIN, into: 'mt' });
      await db.exec(`ALTER TABLE mt ADD COLUMN IF NOT EXISTS metrics jsonb; UPDATE mt SET metrics = ('{"auc": ' || (0.5 + userid / 100.0)::text || ', "note": "x"}')::jsonb`); // no STABLE function of a column (jsonb_build_object): Citus refuses those in an UPDATE
      const b = await db.train({ ...TRAIN, into: 'mt', params: { C: 0.3 } });
      const [archive] = (await db.sql<Row>(`SELECT archive FROM manymodels.versions WHERE run_id = $1`, [a.runId])).rows[0].archive;
      await db.exec(`ALTER TABLE mt ADD COLUMN IF NOT EXISTS metrics jsonb; UPDATE mt AS m SET metrics = CASE WHEN m.userid = 3 THEN '{"auc": 0.9}' WHEN m.userid = 4 THEN '{"auc": 0.50}' ELSE v.metrics END FROM "${archive}" AS v WHERE v.userid = m.userid`);
      const d = await db.diff({ runA: a.runId, runB: b.runId });
      assert.deepEqual(d.metricChanges.map((c) => [c.key.userid, c.metric, c.before, c.after]), [['3', 'auc', 0.53, 0.9], ['4', 'auc', 0.54, 0.5]]);
      const none = await db.diff({ runA: a.runId, runB: b.runId, models: 'mt', limit: 0 });
      const groups = (await db.sql<Row>(`SELECT count(*)::int AS n FROM mt`)).rows[0].n;
      assert.deepEqual([none.metricChanges, none.refitted, none.unchanged], [[], groups, 0]);
    });

    it('VERSION_NOT_FOUND: a run with no kept state, and nothing changes', async () => {
      const before = await snapshot(db);
      for (const run of [() => db.rollback({ models: 'models', to: '00000000-0000-4000-8000-00000000dead' }), () => db.diff({ runA: 'ffffffff', runB: 'eeeeeeee', models: 'models' })]) {
        await assert.rejects(run(), (e: unknown) => {
          assert.ok(e instanceof ManyModelsError);
          assert.equal(e.code, 'VERSION_NOT_FOUND');
          assert.match(e.message, /kept/);
          return true;
        });
      }
      assert.deepEqual(await snapshot(db), before);
      await db.train({ ...TRAIN, into: 'lonely', keep: 0 });
      await assert.rejects(db.rollback({ models: 'lonely' }), (e: ManyModelsError) => e.code === 'VERSION_NOT_FOUND' && /nothing to roll back to/.test(e.message));
    });

    it('a run that fails inside its swap leaves the table and its versions as they were', async () => {
      const before = await lifecycleState(db);
      for (const [point, run] of [
        ['swap:catalogued', () => db.train({ ...TRAIN, params: { C: 3 } })],
        ['swap:catalogued', () => db.train({ ...TRAIN, incremental: true })],
        ['swap:renamed', () => db.rollback({ models: 'models' })],
      ] as const) {
        if (point === 'swap:catalogued' && run.toString().includes('incremental')) await db.exec(`UPDATE offer SET asktimes = asktimes + 1 WHERE userid = 3`);
        doAt(point, () => {
          throw new Error(`injected at ${point}`);
        });
        await assert.rejects(run(), /injected/);
        clearFaults();
        assert.equal(await lifecycleState(db), before, point);
      }
    });
  });
}

describe('SIGKILL during incremental runs and rollbacks loses nothing', { skip: cluster !== null ? 'the kill tests run in the default pass' : false }, () => {
  let url: string;
  let db: ManyModels;
  const INC = ['train', '--from', 'offer', '--group', 'userid', '--features', 'asktimes,askbackoffdays', '--label', 'bought_offer', '--into', 'models', '--incremental'];
  before(async () => {
    url = await freshDatabaseUrl();
    db = await open(url);
    await db.exec(SETUP);
    await db.train({ ...TRAIN, incremental: true });
    await db.train({ ...TRAIN, params: { C: 0.5 } });
    await db.train({ ...TRAIN, incremental: true });
  });
  after(async () => {
    await db?.close();
  });

  it('kills at every point of the incremental swap and of a rollback', async () => {
    const points: [string, string[]][] = [
      ...['fingerprints', 'changes-found', 'fingerprints-written', 'swap:begin', 'swap:dropped', 'swap:renamed', 'swap:catalogued'].map((p): [string, string[]] => [p, INC]),
      ...['run-recorded', 'swap:begin', 'swap:dropped', 'swap:renamed', 'swap:catalogued'].map((p): [string, string[]] => [p, ['rollback', '--models', 'models']]),
    ];
    let k = 0;
    for (const [point, args] of points) {
      await db.exec(`UPDATE offer SET asktimes = asktimes + 1 WHERE userid = ${1 + (k++ % 30)}`);
      const before = await lifecycleState(db);
      const { reached, stderr } = await killCliAt(url, point, args, 60_000);
      assert.ok(reached, `${args[0]} reached ${point}: ${stderr}`);
      assert.equal(await lifecycleState(db), before, `${args[0]} killed at ${point}: the table and its versions are as they were`);
      // the next run cleans up and succeeds
      const next = await db.train({ ...TRAIN, incremental: true });
      assert.equal(next.incremental?.mode, 'incremental');
      assert.equal((await db.sql<Row>(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'mm_stage_%'`)).rows[0].n, 0, point);
    }
  });
});

describe('the lifecycle on the command line', () => {
  const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), 'manymodels-life-'));
  const mm = (...args: string[]) => spawnSync(process.execPath, [CLI, '--db', join(dir, 'db'), '--quiet', ...args], { encoding: 'utf8', timeout: 120_000 });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('train --incremental, runs --models, diff and rollback with --format json, and their exit codes', () => {
    writeFileSync(join(dir, 'o.csv'), `userid,x,y\n${Array.from({ length: 60 }, (_, i) => `${1 + (i % 6)},${i % 7},${i % 4 < 2 ? 1 : 0}`).join('\n')}\n`);
    assert.equal(mm('import', join(dir, 'o.csv'), '--into', 'o').status, 0);
    const train = ['train', '--from', 'o', '--group', 'userid', '--features', 'x', '--label', 'y', '--into', 'models', '--incremental'];
    const first = mm(...train);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /incremental: every group fitted \(the models table does not exist yet\)/);
    assert.equal(mm('sql', 'UPDATE o SET x = x + 1 WHERE userid = 2').status, 0);
    const second = mm(...train);
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /refitted 1 model .*\n[\s\S]*incremental \(fingerprint\): 1 refitted \(0 new\), 5 unchanged, 0 vanished and dropped/);
    const runs = mm('runs', '--models', 'models');
    assert.match(runs.stdout, /current/);
    assert.match(runs.stdout, /kept \(delta\)/);
    const ids = JSON.parse(mm('sql', `SELECT run_id::text AS id FROM manymodels.runs ORDER BY started_at`, '--format', 'json').stdout).map((r: Row) => r.id);
    const d = mm('diff', ids[0], ids[1].slice(0, 8), '--format', 'json');
    assert.equal(d.status, 0, d.stderr);
    assert.deepEqual((({ added, removed, refitted, unchanged, refittedGroups }) => ({ added, removed, refitted, unchanged, refittedGroups }))(JSON.parse(d.stdout)), { added: 0, removed: 0, refitted: 1, unchanged: 5, refittedGroups: [{ userid: '2' }] });
    const rb = mm('rollback', '--models', 'models', '--format', 'json');
    assert.equal(rb.status, 0, rb.stderr);
    assert.deepEqual([JSON.parse(rb.stdout).restored, JSON.parse(rb.stdout).replaced], [ids[0], ids[1]]);
    const missing = mm('rollback', '--models', 'models', '--to', 'abcdef12');
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /error \[VERSION_NOT_FOUND\]/);
    assert.equal(mm('diff', ids[0], ids[1], '--format', 'yaml').status, 2);
    assert.equal(mm('train', '--from', 'o', '--group', 'userid', '--features', 'x', '--label', 'y', '--into', 'models', '--vanished', 'keep').status, 2);
  });
});
