import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ManyModels } from 'manymodels';
import { backends } from '../helpers/backends.js';

/**
 * The report's numbers against outside oracles: a brute-force AUC over every (positive, negative)
 * pair, calibration bins by a plain GROUP BY, failure counts by GROUP BY, histogram counts against
 * count(*). And the file is self-contained: no script, style or font from elsewhere.
 */
const SETUP = `
SELECT setseed(0.25);
CREATE TABLE obs AS
SELECT u AS "User Id", i, (1 + floor(random() * 10))::int AS asktimes, (1 + floor(random() * 14))::int AS askbackoffdays, random() AS r
FROM generate_series(1, 60) u, generate_series(1, 12) i WHERE i <= 5 + (u % 8);
ALTER TABLE obs ADD COLUMN bought int;
UPDATE obs SET bought = CASE WHEN "User Id" % 17 = 0 THEN 0 ELSE (r < 1 / (1 + exp(-((("User Id" % 5) - 2) * 0.4 * asktimes - 0.2 * askbackoffdays + 1))))::int END;
CREATE TABLE offers (offerid int, asktimes int, askbackoffdays int, price float8);
INSERT INTO offers SELECT k, 1 + (k * 3) % 10, 1 + (k * 5) % 14, 2 + (k % 4) FROM generate_series(1, 8) k;
`;

type Row = Record<string, any>;

for (const backend of backends) {
  describe(`report on ${backend.name}`, () => {
    let db: ManyModels;
    let dir: string;
    before(async () => {
      db = await backend.open();
      dir = mkdtempSync(join(tmpdir(), 'mm-report-'));
      await db.exec(SETUP);
      await db.train({ from: 'obs', group: 'User Id', features: ['asktimes', 'askbackoffdays'], label: 'bought', into: 'models', minRows: 6 });
      await db.predict({ models: 'models', from: 'obs', into: 'scored' });
      await db.recommend({ models: 'models', candidates: 'offers', candidate: 'offerid', into: 'recs', k: 2, value: 'price' });
    });
    after(async () => {
      await db?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('summarises the models, runs and failures as SQL counts them', async () => {
      const r = await db.report({ models: 'models', predictions: 'scored', recommendations: 'recs', out: join(dir, 'r.html') });
      const d = r.data;
      const counts = (await db.sql<Row>(`SELECT status, count(*)::int AS n FROM models GROUP BY status`)).rows;
      assert.equal(d.models.groupsOk, counts.find((c) => c.status === 'ok')?.n);
      assert.equal(d.models.groupsFailed, counts.find((c) => c.status === 'failed')?.n);
      assert.ok(d.models.groupsFailed > 0);
      const reasons = (await db.sql<Row>(`SELECT split_part(error, ':', 1) AS code, count(*)::int AS n FROM models WHERE status = 'failed' GROUP BY 1 ORDER BY 2 DESC, 1`)).rows;
      assert.deepEqual(d.failures.map((f) => [f.code, f.count]), reasons.map((x) => [x.code, x.n]));
      assert.deepEqual(d.runs.map((x) => x.kind), ['train', 'predict', 'recommend']);
      assert.ok(d.runs.every((x) => x.status === 'succeeded' && x.seconds !== null && x.seconds >= 0));
      // every histogram counts every group (or every ok model) exactly once
      const rows = d.distributions[0];
      assert.equal(rows.bins.reduce((n, b) => n + b.count, 0), d.models.groupsOk + d.models.groupsFailed);
      const nRows = (await db.sql<Row>(`SELECT min(n_rows)::int AS lo, max(n_rows)::int AS hi FROM models`)).rows[0];
      assert.equal(rows.min, nRows.lo);
      assert.equal(rows.max, nRows.hi);
      for (const c of d.coefficients) assert.equal(c.bins.reduce((n, b) => n + b.count, 0), d.models.groupsOk, c.name);
      assert.deepEqual(d.coefficients.map((c) => c.name), ['asktimes', 'askbackoffdays', 'intercept']);
      const med = (await db.sql<Row>(`SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY (model->'state'->'coef'->0->>1)::float8) AS m FROM models WHERE status = 'ok'`)).rows[0];
      assert.ok(Math.abs(d.coefficients[1].median! - med.m) < 1e-12);
    });

    it('pooled calibration and ROC agree with a GROUP BY and a brute-force pairwise AUC', async () => {
      const d = (await db.report({ models: 'models', predictions: 'scored', out: join(dir, 'r2.html') })).data;
      const labelled = (await db.sql<Row>(`SELECT probability AS p, bought AS y FROM scored WHERE probability IS NOT NULL`)).rows;
      const pos = labelled.filter((x) => x.y === 1);
      const neg = labelled.filter((x) => x.y === 0);
      let wins = 0;
      for (const a of pos) for (const b of neg) wins += a.p > b.p ? 1 : a.p === b.p ? 0.5 : 0;
      assert.ok(d.roc !== null);
      assert.equal(d.roc.positives, pos.length);
      assert.equal(d.roc.negatives, neg.length);
      assert.ok(Math.abs(d.roc.auc - wins / (pos.length * neg.length)) < 1e-12, `${d.roc.auc} vs ${wins / (pos.length * neg.length)}`);
      const last = d.roc.points[d.roc.points.length - 1];
      assert.deepEqual([last.fpr, last.tpr], [1, 1]);
      const cal = (await db.sql<Row>(`SELECT least(floor(probability * 10), 9)::int AS b, count(*)::int AS n, avg(bought)::float8 AS obs FROM scored WHERE probability IS NOT NULL GROUP BY 1 ORDER BY 1`)).rows;
      assert.ok(d.calibration !== null);
      assert.deepEqual(d.calibration.bins.map((b) => [b.bin, b.count]), cal.map((c) => [c.b, c.n]));
      for (let i = 0; i < cal.length; i++) assert.ok(Math.abs(d.calibration.bins[i].observed - cal[i].obs) < 1e-12);
      const brier = labelled.reduce((s, x) => s + (x.p - x.y) ** 2, 0) / labelled.length;
      assert.ok(Math.abs(d.calibration.brier - brier) < 1e-12);
      // response curves: sampled groups, probabilities over the feature's observed range
      assert.ok(d.response !== null);
      assert.equal(d.response.curves.length, 12);
      const range = (await db.sql<Row>(`SELECT min(asktimes)::float8 AS lo, max(asktimes)::float8 AS hi FROM scored`)).rows[0];
      for (const c of d.response.curves) {
        assert.equal(c.points[0].x, range.lo);
        assert.equal(c.points[c.points.length - 1].x, range.hi);
        assert.ok(c.points.every((p) => p.y > 0 && p.y < 1));
      }
    });

    it('the recommendation summary counts what recommend wrote', async () => {
      const d = (await db.report({ models: 'models', recommendations: 'recs', out: join(dir, 'r3.html') })).data;
      assert.ok(d.recommendations !== null);
      const top = (await db.sql<Row>(`SELECT offerid::text AS c, count(*)::int AS n FROM recs WHERE rank = 1 GROUP BY 1 ORDER BY 2 DESC, 1`)).rows;
      assert.deepEqual(d.recommendations.topPicks.map((t) => [t.candidate, t.count]), top.map((t) => [t.c, t.n]));
      assert.deepEqual(d.recommendations.byRank.map((b) => b.rank), [1, 2]);
      assert.equal(d.recommendations.groups, d.models.groupsOk);
      // without predictions there is nothing to calibrate against: said in the report, not drawn
      assert.equal(d.calibration, null);
      assert.match(d.notes.calibration, /predictions/);
    });

    it('is one self-contained file: inline scripts and styles only, the data embedded', async () => {
      const r = await db.report({ models: 'models', predictions: 'scored', recommendations: 'recs', out: join(dir, 'r4.html') });
      const html = readFileSync(join(dir, 'r4.html'), 'utf8');
      assert.equal(r.bytes, Buffer.byteLength(html));
      assert.doesNotMatch(html, /<script[^>]*\bsrc=/i);
      assert.doesNotMatch(html, /<link\b/i);
      assert.doesNotMatch(html, /@import|@font-face/i);
      assert.doesNotMatch(html, /<(img|iframe)\b/i);
      assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
      assert.match(html, /@observablehq\/plot v0\.6/);
      assert.match(html, /d3js\.org v7/);
      // every chart has a title and a caption with numbers in it
      const figs = [...html.matchAll(/<figure data-chart="([^"]+)"[^>]*><h3 id="[^"]+">([^<]+)<\/h3><div class="chart"><\/div><figcaption id="[^"]+">([^<]+)<\/figcaption>/g)];
      assert.equal(figs.length, r.charts);
      assert.ok(r.charts >= 11, `${r.charts} charts`);
      for (const f of figs) assert.match(f[3], /\d/, `caption of ${f[1]}`);
    });

    it('bad tables: clear codes', async () => {
      await assert.rejects(db.report({ models: 'nosuch', out: join(dir, 'x.html') }), { code: 'TABLE_NOT_FOUND' });
      await assert.rejects(db.report({ models: 'obs', out: join(dir, 'x.html') }), { code: 'NOT_A_MODELS_TABLE' });
      await assert.rejects(db.report({ models: 'models', recommendations: 'scored', out: join(dir, 'x.html') }), { code: 'NOT_A_RECOMMENDATIONS_TABLE' });
    });
  });
}
