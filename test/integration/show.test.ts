import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { type ManyModels, ManyModelsError, open } from 'manymodels';
import { backends, freshDatabaseUrl } from '../helpers/backends.js';
import { PATIENTS } from '../helpers/madlib.js';
import { OFFER_SQL } from '../helpers/offers.js';
import { snapshot } from '../helpers/snapshot.js';

/**
 * `show` (one group's model, any key type, keys compared as SQL compares them), and the
 * pipeline-friendly CLI: --format json of train, predict, models, runs and show (one JSON object on
 * stdout, numbers with every digit, progress on stderr only), --max-failed-fraction (exit 1,
 * TOO_MANY_FAILED, nothing replaced), and the exit codes of the README.
 */
type Row = Record<string, any>;
const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;

function cli(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ManyModelsError, String(e));
    return e.code;
  }
  assert.fail('expected an error');
}

// a composite key of awkward types: numeric (1.0 = 1.00 in SQL), date, and text with quotes and spaces
const KEYS_SQL = `
CREATE TABLE obs AS
SELECT (1 + g % 2)::numeric(6, 2) AS "Amount", DATE '2024-01-05' + (g % 3) AS day, CASE WHEN g % 5 = 0 THEN 'it''s "x"' ELSE 'b' END AS tag,
       (g * 7) % 10 AS x1, (g * 5) % 14 AS x2, ((g * 7) % 10 + g / 4) % 2 AS y
FROM generate_series(0, 299) AS g;`;

for (const backend of backends) {
  describe(`show on ${backend.name}`, () => {
    let db: ManyModels;
    before(async () => {
      db = await backend.open();
      await db.exec(KEYS_SQL);
      await db.train({ from: 'obs', group: ['Amount', 'day', 'tag'], features: ['x1', 'x2'], label: 'y', into: 'm3' });
    });
    after(async () => db.close());

    it('finds a group by a key given as SQL would write it, compared with the key column’s own equality', async () => {
      // numeric 2.00 given as '2', a date, text with quotes: the same row as SQL's = finds
      const v = await db.show({ models: 'm3', key: ['2', '2024-01-06', `it's "x"`] });
      const sql = (await db.sql<Row>(`SELECT model, n_rows, status FROM m3 WHERE "Amount" = 2 AND day = '2024-01-06' AND tag = $1`, [`it's "x"`])).rows[0];
      assert.deepEqual(v.key, { Amount: '2.00', day: '2024-01-06', tag: `it's "x"` });
      assert.deepEqual(v.model, sql.model);
      assert.equal(v.nRows, sql.n_rows);
      assert.equal(v.status, sql.status);
      assert.deepEqual(v.group, ['Amount', 'day', 'tag']);
      assert.deepEqual(v.features, ['x1', 'x2']);
      assert.deepEqual(v.coefficients.map((c) => c.name), ['intercept', 'x1', 'x2']);
      assert.deepEqual(v.coefficients.map((c) => c.value), [sql.model.state.intercept[0], ...sql.model.state.coef[0]]);
      assert.equal(v.inference, null);
      // JavaScript values work too: a number and a Date
      const w = await db.show({ models: 'm3', key: [2, new Date('2024-01-06T00:00:00Z'), `it's "x"`] });
      assert.deepEqual(w.model, v.model);
    });

    it('GROUP_NOT_FOUND, a wrong number of key values (USAGE), a value the type cannot read (INVALID_OPTION)', async () => {
      assert.equal(await code(db.show({ models: 'm3', key: ['3', '2024-01-06', 'b'] })), 'GROUP_NOT_FOUND');
      assert.equal(await code(db.show({ models: 'm3', key: ['2', '2024-01-06'] })), 'USAGE');
      assert.equal(await code(db.show({ models: 'm3', key: ['two', '2024-01-06', 'b'] })), 'INVALID_OPTION');
      assert.equal(await code(db.show({ models: 'm3', key: ['2', 'not a day', 'b'] })), 'INVALID_OPTION');
      assert.equal(await code(db.show({ models: 'nope', key: 1 })), 'TABLE_NOT_FOUND');
      assert.equal(await code(db.show({ models: 'obs', key: 1 })), 'NOT_A_MODELS_TABLE');
    });

    it('a failed group, a NULL key part, multiclass rows and the other columns of the row', async () => {
      // the composite key (1, NULL) is a group of its own, as in GROUP BY
      await db.exec(`CREATE TABLE mc AS SELECT 1 AS k, CASE WHEN g < 30 THEN 'z' END AS k2, g % 3 AS x, (g * 7) % 3 AS y FROM generate_series(0, 59) AS g
                     UNION ALL SELECT 2, 'z', 1, 0 UNION ALL SELECT 2, 'z', 2, 0`);
      await db.train({ from: 'mc', group: ['k', 'k2'], features: 'x', label: 'y', into: 'mcm' });
      const failed = await db.show({ models: 'mcm', key: [2, 'z'] });
      assert.equal(failed.status, 'failed');
      assert.match(failed.error ?? '', /^SINGLE_CLASS: /);
      assert.deepEqual(failed.coefficients, []);
      const nullKey = await db.show({ models: 'mcm', key: [1, null] });
      assert.deepEqual(nullKey.key, { k: '1', k2: null });
      assert.equal(nullKey.nRows, 30);
      assert.deepEqual(nullKey.classes, [0, 1, 2]);
      assert.deepEqual(nullKey.coefficients.map((c) => [c.class, c.name]), [[0, 'intercept'], [0, 'x'], [1, 'intercept'], [1, 'x'], [2, 'intercept'], [2, 'x']]);
      // a column someone added to the models table comes back as it is
      await db.exec(`ALTER TABLE mcm ADD COLUMN note text DEFAULT 'checked'`);
      assert.deepEqual((await db.show({ models: 'mcm', key: ['1', 'z'] })).columns, { note: 'checked' });
      // bytea as PostgreSQL's text output writes it, a timestamp in ISO 8601: what encode() and to_char say in SQL
      await db.exec(`ALTER TABLE mcm ADD COLUMN blob bytea DEFAULT '\\x00ff10'::bytea, ADD COLUMN at timestamptz DEFAULT '2024-01-01 07:00:00+00'`);
      const cols = (await db.show({ models: 'mcm', key: ['1', 'z'] })).columns;
      const sqlSays = (await db.sql<Row>(`SELECT '\\x' || encode('\\x00ff10'::bytea, 'hex') AS b, to_char('2024-01-01 07:00:00+00'::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS t`)).rows[0];
      assert.deepEqual(cols, { note: 'checked', blob: sqlSays.b, at: sqlSays.t });
    });
  });
}

describe('the pipeline-friendly command line', () => {
  let url: string;
  let offers = 0;
  before(async () => {
    url = await freshDatabaseUrl();
    const db = await open(url);
    await db.exec(`${OFFER_SQL(20, { singleClass: [4] })}
      CREATE TABLE patients (site text, id int, second_attack int, treatment int, trait_anxiety int);
      INSERT INTO patients VALUES ${PATIENTS.map((r) => `('s 1', ${r.join(', ')})`).join(', ')};`);
    offers = (await db.sql<Row>('SELECT count(*)::int AS n FROM offer')).rows[0].n;
    await db.close();
  });
  const train = ['train', '--from', 'offer', '--group', 'userid', '--features', 'asktimes,askbackoffdays', '--label', 'bought_offer'];

  it('train --format json: one JSON object on stdout, the progress on stderr', () => {
    const r = cli(['--db', url, ...train, '--into', 'models', '--format', 'json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.groupsOk, 19);
    assert.equal(j.groupsFailed, 1);
    assert.equal(j.failures[0].code, 'SINGLE_CLASS');
    assert.match(j.runId, /^[0-9a-f-]{36}$/);
    assert.match(r.err, /^train: .*\(done\)$/m, 'progress goes to stderr');
    assert.doesNotMatch(r.out, /train:/);
  });

  it('show --format json: the stored numbers bit for bit; text for people; exit 1 and 2 as the README says', async () => {
    let r = cli(['--db', url, '--quiet', 'train', '--from', 'patients', '--group', 'site', '--features', 'treatment,trait_anxiety', '--label', 'second_attack', '--into', 'pm', '--param', 'penalty=null', '--inference']);
    assert.equal(r.code, 0, r.err);
    r = cli(['--db', url, 'show', '--models', 'pm', '--group', 's 1', '--format', 'json']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '');
    const j = JSON.parse(r.out);
    const db = await open(url);
    try {
      const stored = (await db.sql<Row>(`SELECT model FROM pm WHERE site = 's 1'`)).rows[0].model;
      assert.deepEqual(j.model, stored);
      assert.deepEqual(j.inference, stored.inference);
      assert.deepEqual(j.coefficients.map((c: Row) => c.stdErr), stored.inference.stdErr);
      assert.deepEqual(j.key, { site: 's 1' });
      assert.equal(j.nRows, 20);
    } finally {
      await db.close();
    }
    r = cli(['--db', url, 'show', '--models', 'pm', '--group', 's 1']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /trait_anxiety \| 0\.119045 \| 0\.0549792 \|\s+2\.16527 \| 0\.0303668 \|\s+1\.12642/);
    assert.match(r.out, /log-likelihood -9\.41018, condition number 326\.082/);
    r = cli(['--db', url, 'show', '--models', 'pm', '--group', 'nowhere']);
    assert.equal(r.code, 1);
    assert.match(r.err, /error \[GROUP_NOT_FOUND\]: the models table pm has no group "site" = nowhere/);
    assert.equal(cli(['--db', url, 'show', '--models', 'pm']).code, 2, 'no --group');
    assert.equal(cli(['--db', url, 'show', '--models', 'pm', '--group', 'a', '--group', 'b']).code, 2, 'two values for a one-column key');
    assert.equal(cli(['--db', url, 'show', '--models', 'pm', '--group', 's 1', '--format', 'yaml']).code, 2);
  });

  it('show of a composite key (repeated --group, in key order) in a table with quotes, dots and spaces in its names', async () => {
    const db = await open(url);
    try {
      await db.exec(`CREATE SCHEMA "My ""Schema"""; CREATE TABLE "My ""Schema""".src AS
        SELECT 7 + g % 2 AS "Store Id", DATE '2024-01-05' AS "the.day", (g * 7) % 10 AS x, ((g * 7) % 10 + g / 4) % 2 AS y FROM generate_series(0, 59) AS g`);
      await db.train({ from: ['My "Schema"', 'src'], group: ['Store Id', 'the.day'], features: 'x', label: 'y', into: ['My "Schema"', 'Models "X"'] });
      const r = cli(['--db', url, 'show', '--models', '"My ""Schema"""."Models ""X"""', '--group', '8', '--group', '2024-01-05', '--format', 'json']);
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out);
      assert.deepEqual(j.key, { 'Store Id': '8', 'the.day': '2024-01-05' });
      const stored = (await db.sql<Row>(`SELECT model FROM "My ""Schema"""."Models ""X""" WHERE "Store Id" = 8`)).rows[0].model;
      assert.deepEqual(j.model, stored);
      assert.deepEqual(j.coefficients.map((c: Row) => c.name), ['intercept', 'x']);
    } finally {
      await db.close();
    }
  });

  it('predict, models and runs --format json', () => {
    let r = cli(['--db', url, 'predict', '--models', 'models', '--from', 'offer', '--into', 'scores', '--format', 'json']);
    assert.equal(r.code, 0, r.err);
    const p = JSON.parse(r.out);
    assert.equal(p.rows, offers);
    assert.equal(p.engine, 'sql');
    r = cli(['--db', url, 'models', 'models', '--format', 'json']);
    assert.equal(r.code, 0, r.err);
    const m = JSON.parse(r.out);
    assert.deepEqual(m.groups, { ok: 19, failed: 1 });
    assert.equal(m.meta.estimator, 'LogisticRegression');
    r = cli(['--db', url, 'runs', '--format', 'json', '--limit', '3']);
    assert.equal(r.code, 0, r.err);
    const runs = JSON.parse(r.out).runs;
    assert.equal(runs.length, 3);
    assert.equal(runs[0].kind, 'predict');
    assert.ok(!Number.isNaN(Date.parse(runs[0].startedAt)));
  });

  it('TOO_MANY_FAILED: --max-failed-fraction exceeded, exit 1, the previous table exactly as it was', async () => {
    const db = await open(url);
    try {
      const before = await snapshot(db);
      // 1 of 20 groups fails: over 0.04, so the run fails and models stays the previous run's
      let r = cli(['--db', url, '--quiet', ...train, '--into', 'models', '--max-failed-fraction', '0.04', '--param', 'C=0.5']);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /error \[TOO_MANY_FAILED\]: 1 of 20 groups failed \(SINGLE_CLASS 1×\), more than the allowed fraction 0\.04: nothing was replaced/);
      assert.deepEqual(await snapshot(db), before);
      assert.equal((await db.runs(1))[0].status, 'failed');
      // with --format json, stdout holds one object for a pipeline to read: the error's code, words and hint
      r = cli(['--db', url, '--quiet', ...train, '--into', 'models', '--max-failed-fraction', '0.04', '--format', 'json']);
      assert.equal(r.code, 1, r.err);
      const out = JSON.parse(r.out);
      assert.equal(out.error.code, 'TOO_MANY_FAILED');
      assert.match(out.error.message, /^1 of 20 groups failed/);
      assert.equal(typeof out.error.hint, 'string');
      assert.deepEqual(await snapshot(db), before);
      // within the threshold: written
      r = cli(['--db', url, '--quiet', ...train, '--into', 'models', '--max-failed-fraction', '0.05', '--param', 'C=0.5']);
      assert.equal(r.code, 0, r.err);
      assert.equal((await db.sql<Row>(`SELECT DISTINCT model->'params'->>'C' AS c FROM models WHERE status = 'ok'`)).rows[0].c, '0.5');
      for (const bad of ['1.5', '-0.1', 'x', '']) assert.equal(cli(['--db', url, ...train, '--into', 'models', '--max-failed-fraction', bad]).code, 2, bad);
    } finally {
      await db.close();
    }
  });
});
