import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'manymodels-recommend-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, '--db', join(work, 'db'), ...args], { cwd: work, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe('manymodels recommend and report on the command line', () => {
  it('the demo ends with recommend and writes demo-report.html', () => {
    const r = run(['demo']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /the best offer per user \(manymodels recommend, into best_offer\)[\s\S]*\{9,9\}/);
    assert.match(r.out, /the report: demo-report\.html \(\d+ charts/);
    const html = readFileSync(join(work, 'demo-report.html'), 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /manymodels_demo\.trained_model_by_user|trained_model_by_user/);
  });

  it('recommend ranks as the predictions do; expected value with a value column and a cost', () => {
    const r = run(['recommend', '--models', 'manymodels_demo.trained_model_by_user', '--candidates', 'manymodels_demo.offers_raw', '--into', 'picks', '--k', '3', '--engine', 'ts']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /recommended 6 rows to 2 groups into picks by probability .*ts engine/);
    const got = run(['sql', 'SELECT userid, features[1] AS f, rank FROM picks ORDER BY 1, 3', '--format', 'csv']);
    const want = run(['sql', 'SELECT userid, features[1] AS f, rank FROM (SELECT userid, features, row_number() OVER (PARTITION BY userid ORDER BY probability DESC, features) AS rank FROM manymodels_demo.offer_predictions) q WHERE rank <= 3 ORDER BY 1, 3', '--format', 'csv']);
    assert.equal(got.out, want.out);
    assert.equal(got.out.trim().split('\n').length, 7);
    const ev = run(['recommend', '--models', 'manymodels_demo.trained_model_by_user', '--candidates', 'SELECT features, 10 - features[1] AS price FROM manymodels_demo.offers_raw', '--candidate', 'features', '--value', 'price', '--cost', '0.5', '--into', 'ev']);
    assert.equal(ev.code, 0, ev.err);
    assert.match(ev.out, /by expected-value/);
    const evGot = run(['sql', 'SELECT userid, features[1] AS f FROM ev ORDER BY 1', '--format', 'csv']);
    const evWant = run(['sql', `SELECT DISTINCT ON (userid) userid, features[1] AS f FROM manymodels_demo.offer_predictions ORDER BY userid, probability * (10 - features[1]) - 0.5 DESC, features`, '--format', 'csv']);
    assert.equal(evGot.out, evWant.out);
  });

  it('report writes one file; bad options exit non-zero with a code', () => {
    const r = run(['report', '--models', 'manymodels_demo.trained_model_by_user', '--predictions', 'manymodels_demo.offer_predictions', '--recommendations', 'picks', '--out', 'r.html']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /wrote r\.html \(\d+ KiB, \d+ charts\)/);
    assert.ok(existsSync(join(work, 'r.html')));
    const k = run(['recommend', '--models', 'manymodels_demo.trained_model_by_user', '--candidates', 'manymodels_demo.offers_raw', '--into', 'x', '--k', '0']);
    assert.equal(k.code, 2);
    assert.match(k.err, /error \[INVALID_OPTION\]: --k must be an integer ≥ 1/);
    const v = run(['recommend', '--models', 'manymodels_demo.trained_model_by_user', '--candidates', 'manymodels_demo.offers_raw', '--into', 'x', '--value', 'nope']);
    assert.equal(v.code, 1);
    assert.match(v.err, /error \[COLUMN_NOT_FOUND\]/);
    const t = run(['report', '--models', 'manymodels_demo.offer', '--out', 'y.html']);
    assert.equal(t.code, 1);
    assert.match(t.err, /error \[NOT_A_MODELS_TABLE\]/);
    assert.ok(!existsSync(join(work, 'y.html')));
  });
});
