import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freshDatabaseUrl } from '../helpers/backends.js';

const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'manymodels-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[], cwd = work): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe('the manymodels command', () => {
  // the demo's database in ./.manymodels/db, made here so that every test below can run alone
  let demo: { code: number; out: string; err: string };
  before(() => {
    demo = run(['demo']);
  });

  it('runs the demo on the embedded database in ./.manymodels/db', () => {
    const r = demo;
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /embedded PGlite in .*\.manymodels\/db/);
    assert.match(r.out, /offer_predictions: .*18 rows/);
    assert.match(r.out, /the best offer per user[\s\S]*\{9,9\}/);
    assert.match(r.out, /0\.02212/); // user 1, offer {1,1}
  });

  it('sees the same embedded data from separate commands', () => {
    const r = run(['sql', 'SELECT count(*) AS n FROM manymodels_demo.offer_predictions', '--format', 'csv']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), 'n\n18');
    const runs = run(['runs', '--limit', '5']);
    assert.equal(runs.code, 0, runs.err);
    assert.match(runs.out, /predict +\| succeeded .*"offer_predictions"/);
    assert.match(runs.out, /train +\| succeeded .*"trained_model_by_user" +\| 2 ok, 0 failed/);
    const m = run(['models', 'manymodels_demo.trained_model_by_user']);
    assert.equal(m.code, 0, m.err);
    assert.match(m.out, /groups: +2 ok, 0 failed/);
    assert.match(m.out, /LogisticRegression per userid/);
  });

  it('imports a CSV, trains, predicts and summarises, against a PostgreSQL server', async () => {
    const url = await freshDatabaseUrl();
    const csv = join(work, 'offers.csv');
    const lines = ['offerid,userid,asktimes,askbackoffdays,bought_offer'];
    let id = 0;
    for (let u = 1; u <= 30; u++) for (let i = 0; i < 8; i++) lines.push(`${++id},${u},${1 + ((u * 7 + i * 3) % 10)},${1 + ((u + i * 5) % 14)},${u === 3 ? 1 : (u + i) % 3 === 0 ? 1 : 0}`);
    writeFileSync(csv, `${lines.join('\n')}\n`);
    let r = run(['--db', url, 'import', csv, '--into', 'offer']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /imported 240 rows into offer .*userid integer/);
    r = run(['--db', url, '--quiet', 'train', '--from', 'offer', '--group', 'userid', '--features', 'asktimes,askbackoffdays', '--label', 'bought_offer', '--into', 'public.models', '--param', 'C=0.5', '--param', 'max_iter=50']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /29 ok, 1 failed/);
    assert.match(r.out, /failed 1× SINGLE_CLASS/);
    r = run(['--db', url, 'sql', "SELECT model->'params'->>'C' AS c, model->'params'->>'maxIter' AS m FROM models WHERE status = 'ok' LIMIT 1", '--format', 'json']);
    assert.deepEqual(JSON.parse(r.out), [{ c: '0.5', m: '50' }]);
    r = run(['--db', url, 'predict', '--models', 'models', '--from', 'SELECT userid, asktimes, askbackoffdays FROM offer', '--into', 'scores']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /scored 240 rows into scores .*sql engine/);
    assert.match(r.out, /8 rows had no usable model/);
    // not a terminal: progress comes as one-line updates on stderr, the last one marked done
    assert.match(r.err, /^predict: .*rows.*\(done\)$/m);
    r = run(['--db', url, 'train', '--from', 'offer', '--group', 'userid', '--features', 'asktimes,askbackoffdays', '--label', 'bought_offer', '--into', 'models2']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /^train: 30 groups, 240 rows, .* \(done\)$/m);
    r = run(['--db', url, 'models', 'models']);
    assert.match(r.out, /failures:\n +1 × SINGLE_CLASS/);
    r = run(['--db', url, 'sql', 'SELECT count(*) AS n FROM scores WHERE probability IS NOT NULL']);
    assert.match(r.out, /232/);
    assert.ok(!r.out.includes('postgres:postgres@'), 'no password in output');
    // a repeated --group is a composite key, as `show` takes it: as many models as GROUP BY has groups
    r = run(['--db', url, '--quiet', 'train', '--from', 'SELECT *, offerid % 2 AS half FROM offer', '--group', 'userid', '--group', 'half', '--features', 'asktimes,askbackoffdays', '--label', 'bought_offer', '--into', 'models3', '--format', 'json']);
    assert.equal(r.code, 0, r.err);
    const groups = run(['--db', url, 'sql', 'SELECT count(*) AS n FROM (SELECT 1 FROM offer GROUP BY userid, offerid % 2) AS g', '--format', 'json']);
    const rows = run(['--db', url, 'sql', 'SELECT count(*) AS n FROM models3', '--format', 'json']);
    assert.equal(Number(JSON.parse(groups.out)[0].n), 60);
    assert.deepEqual(JSON.parse(rows.out), JSON.parse(groups.out));
  });

  it('an embedded database in use by another process gives DATABASE_BUSY', async () => {
    const { open } = await import('manymodels');
    const dir = join(work, 'busy-db');
    const holder = await open(dir);
    try {
      const r = run(['--db', dir, 'sql', 'SELECT 1']);
      assert.equal(r.code, 1);
      assert.match(r.err, /error \[DATABASE_BUSY\]: the embedded database in .*busy-db is in use by process \d+[\s\S]*one process at a time/);
    } finally {
      await holder.close();
    }
    const again = run(['--db', dir, 'sql', 'SELECT 1 AS one', '--format', 'csv']);
    assert.equal(again.code, 0, again.err);
    assert.equal(again.out.trim(), 'one\n1');
  });

  it('has --help on every command', () => {
    for (const cmd of ['demo', 'train', 'predict', 'import', 'sql', 'models', 'runs']) {
      const r = run([cmd, '--help']);
      assert.equal(r.code, 0);
      assert.match(r.out, new RegExp(`Usage: manymodels ${cmd}`));
    }
    const top = run(['--help']);
    assert.match(top.out, /train .*one model per group/);
  });

  it('exits non-zero with a clear message on bad input', () => {
    let r = run(['train', '--from', 'nosuch', '--group', 'g', '--features', 'x', '--label', 'y', '--into', 'm']);
    assert.equal(r.code, 1);
    assert.match(r.err, /error \[TABLE_NOT_FOUND\]: the training source nosuch does not exist/);
    r = run(['train', '--from', 'offer', '--group', 'userid', '--features', 'asktimes', '--label', 'bought_offer', '--into', 'm', '--estimator', 'svm']);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown estimator 'svm'[\s\S]*logistic/);
    r = run(['train', '--from', 'manymodels_demo.offer', '--group', 'userid', '--features', 'nope', '--label', 'bought_offer', '--into', 'm']);
    assert.equal(r.code, 1);
    assert.match(r.err, /COLUMN_NOT_FOUND.*feature column "nope" does not exist in manymodels_demo\.offer/);
    r = run(['train', '--from', 'offer']);
    assert.equal(r.code, 2);
    assert.match(r.err, /required option/);
    // with --format json a malformed command line, too, leaves one JSON object on stdout
    for (const args of [['train', '--from', 'offer', '--format', 'json'], ['predict', '--nosuch', '--format=json']]) {
      r = run(args);
      assert.equal(r.code, 2, args.join(' '));
      const out = JSON.parse(r.out);
      assert.equal(out.error.code, 'USAGE');
      assert.match(out.error.message, /required option|unknown option/);
    }
  });
});
