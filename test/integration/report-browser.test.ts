import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { open, runDemo } from 'manymodels';
import { freshDatabaseUrl } from '../helpers/backends.js';
import { checkInBrowser, chromiumPath } from '../helpers/browser.js';

/**
 * The report in a real browser: headless Chromium (Debian's chromium package) opens the file with
 * the network cut off; any console error or blocked request fails the test; every chart must draw
 * the data marks its figure promises; a PNG screenshot is saved under test/output/. The large case
 * has 100,000 groups: the file and the page must stay small (bins and samples, never one element per group).
 */
const OUT = join(process.cwd(), 'test', 'output');
const chromium = chromiumPath();
const skip = chromium === null ? 'no Chromium installed: apt-get install chromium (or set MANYMODELS_CHROMIUM) to check the report in a browser' : false;
if (skip) process.stderr.write(`report-browser.test.ts: skipped: ${skip}\n`);

const USERS = 100_000;

/** Offers with a per-user response: each user's slope on asktimes and askbackoffdays differs; every 53rd user never buys, every 41st has 3 rows. */
function observations(table: string, perUser: string): string {
  return `
CREATE TABLE ${table} AS
SELECT userid, asktimes, askbackoffdays,
       CASE WHEN userid % 53 = 0 THEN 0 ELSE (random() < 1 / (1 + exp(-(a * asktimes + b * askbackoffdays + c))))::int END AS bought_offer
FROM (SELECT u AS userid, (1 + floor(random() * 10))::int AS asktimes, (1 + floor(random() * 14))::int AS askbackoffdays,
             ((u::bigint * 7919) % 11 - 5) * 0.08 AS a, -0.12 + ((u::bigint * 104729) % 7 - 3) * 0.03 AS b, ((u::bigint * 31) % 9 - 4) * 0.15 + 0.6 AS c
      FROM generate_series(1, ${USERS}) AS u, generate_series(1, 16) AS i WHERE i <= ${perUser}) AS q`;
}

function assertDrawn(check: Awaited<ReturnType<typeof checkInBrowser>>, ids: string[]): void {
  assert.deepEqual(check.problems, [], 'no console error, no failed or blocked request');
  assert.deepEqual(check.charts.map((c) => c.id), ids);
  for (const c of check.charts) {
    assert.ok(c.expected > 0, `${c.id} promises marks`);
    assert.equal(c.drawn, c.expected, `${c.id}: ${c.drawn} marks drawn, ${c.expected} expected`);
    assert.ok(c.svgs > 0 && c.labelled && c.described, `${c.id} has a labelled, described SVG`);
  }
}

describe('the report in headless Chromium', () => {
  it('100,000 groups: a small file, every chart drawn, no request, a screenshot', { skip }, async () => {
    mkdirSync(OUT, { recursive: true });
    const db = await open(await freshDatabaseUrl());
    try {
      await db.exec(`SELECT setseed(0.5); ${observations('obs', 'CASE WHEN u % 41 = 0 THEN 3 ELSE 8 + u % 8 END')}; ${observations('holdout', '3')};
        CREATE TABLE offers (offerid int, asktimes int, askbackoffdays int, price float8);
        INSERT INTO offers SELECT k, 1 + (k * 3) % 10, 1 + (k * 5) % 14, 2 + (k % 4) * 1.5 FROM generate_series(1, 8) AS k;`);
      const t0 = performance.now();
      const lap = (what: string) => process.stderr.write(`report-browser: ${what} at ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
      const t = await db.train({ from: 'obs', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'models', minRows: 5 });
      assert.equal(t.groupsOk + t.groupsFailed, USERS);
      lap('trained');
      await db.predict({ models: 'models', from: 'holdout', into: 'holdout_scored' });
      lap('predicted');
      await db.recommend({ models: 'models', candidates: 'offers', candidate: 'offerid', into: 'best', k: 2, value: 'price' });
      lap('recommended');
      const file = join(OUT, 'report-100k.html');
      const r = await db.report({ models: 'models', predictions: 'holdout_scored', recommendations: 'best', out: file, title: 'manymodels report: 100,000 per-user offer models' });
      lap('reported');
      // d3 and Plot are ~490 KB of the file; the data, whatever the number of groups, a few KB
      assert.ok(r.bytes < 650 * 1024, `${r.bytes} bytes`);
      assert.ok(JSON.stringify(r.data).length < 60 * 1024, `${JSON.stringify(r.data).length} bytes of data`);
      assert.equal(r.data.models.groupsOk + r.data.models.groupsFailed, USERS);
      assert.ok(r.data.roc !== null && r.data.roc.auc > 0.6 && r.data.roc.auc < 1);
      const shot = join(OUT, 'report-100k.png');
      const check = await checkInBrowser(file, shot);
      lap('checked in the browser');
      assertDrawn(check, ['runs-time', 'runs-groups', 'failures', 'dist-0', 'dist-1', 'dist-2', 'coefficients', 'calibration', 'roc', 'response', 'rec-top', 'rec-score']);
      assert.ok(check.domNodes < 3000, `${check.domNodes} elements in the page`);
      assert.ok(statSync(shot).size > 50_000);
      assert.deepEqual([...readFileSync(shot).subarray(1, 4)], [...Buffer.from('PNG')]);
    } finally {
      await db.close();
    }
  });

  it('the demo writes a report that draws in the browser', { skip }, async () => {
    mkdirSync(OUT, { recursive: true });
    const db = await open();
    try {
      const file = join(OUT, 'demo-report.html');
      const out = await runDemo(db, undefined, file);
      assert.equal(out.report?.file, file);
      const check = await checkInBrowser(file, join(OUT, 'demo-report.png'));
      // no labels in the demo's predictions: no calibration or ROC; no failed group: no failure chart
      assertDrawn(check, ['runs-time', 'runs-groups', 'dist-0', 'dist-1', 'dist-2', 'coefficients', 'response', 'rec-top', 'rec-score']);
    } finally {
      await db.close();
    }
  });
});
