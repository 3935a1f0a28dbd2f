/**
 * Held-out evaluation and per-group grid search through a real database (PGlite and PostgreSQL):
 * the fold column travels with the rows through the streaming read (batches, worker threads), and
 * every group's chosen parameters, candidate scores and held-out metrics equal scikit-learn 1.2.1's
 * GridSearchCV(cv=PredefinedSplit(fold)) and cross_validate on that group's rows (the oracle:
 * test/helpers/sklearn_search.py, skipped with the reason printed when scikit-learn is absent).
 * cv's folds do not depend on the order the database returns rows in; bad options are refused
 * before anything is written.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assignFolds, type ManyModels } from 'manymodels';
import { backends } from '../helpers/backends.js';
import { rng } from '../helpers/random.js';
import { runPython, sklearnMissing } from '../helpers/sklearn.js';

const ORACLE = `exec(open(${JSON.stringify(new URL('../helpers/sklearn_search.py', import.meta.url).pathname)}).read())`;
const TOL = 2e-7;

interface Row {
  key: string;
  x1: number;
  x2: number;
  y: number;
  fold: number | null;
}

/** Groups of 30–70 rows, binary labels; fold ids 0–3 with some −1 and NULL; group 'tiny' has no held-out row. */
function makeRows(seed: number): Row[] {
  const r = rng(seed);
  const out: Row[] = [];
  for (let g = 0; g < 6; g++) {
    const n = 30 + Math.floor(r() * 40);
    const w = [2 * r() - 1, 2 * r() - 1];
    for (let i = 0; i < n; i++) {
      const x1 = Math.round((4 * r() - 2) * 100) / 100;
      const x2 = Math.round((4 * r() - 2) * 100) / 100;
      const y = i < 8 ? i % 2 : r() < 1 / (1 + Math.exp(-(w[0] * x1 + w[1] * x2))) ? 1 : 0;
      const u = r();
      out.push({ key: `Store ${g}`, x1, x2, y, fold: i < 4 ? i : u < 0.05 ? null : u < 0.1 ? -1 : Math.floor(r() * 4) });
    }
  }
  for (let i = 0; i < 6; i++) out.push({ key: 'tiny', x1: i, x2: -i, y: i % 2, fold: -1 });
  return out;
}

const values = (rows: Row[]) => rows.map((x) => `('${x.key}', ${x.x1}, ${x.x2}, ${x.y}, ${x.fold ?? 'NULL'})`).join(', ');

interface Answer {
  best_params?: Record<string, unknown>;
  mean_test_score?: (number | null)[];
  rank_test_score?: number[];
  metrics: Record<string, number | null>;
}

const near = (got: unknown, want: number | null, what: string): void => {
  if (want === null) assert.equal(got, null, what);
  else assert.ok(typeof got === 'number' && Math.abs(got - want) <= TOL, `${what}: ${String(got)} vs ${want}`);
};

for (const backend of backends) {
  describe(`held-out evaluation and grid search on ${backend.name}`, () => {
    let db: ManyModels;
    const rows = makeRows(2026);
    before(async () => {
      db = await backend.open();
      await db.exec(`CREATE TABLE "Sales" ("Store ID" text, x1 float8, x2 float8, y int, fold int); INSERT INTO "Sales" VALUES ${values(rows)}`);
      // the same rows in another order: cv's folds must not see the difference
      const r = rng(1);
      const shuffled = [...rows].sort(() => r() - 0.5);
      await db.exec(`CREATE TABLE sales_shuffled ("Store ID" text, x1 float8, x2 float8, y int, fold int); INSERT INTO sales_shuffled VALUES ${values(shuffled)}`);
    });
    after(async () => {
      await db?.close();
    });

    it('folds + paramGrid: per group, the chosen C, every candidate score and the held-out metrics are GridSearchCV(PredefinedSplit)’s', { skip: sklearnMissing ?? undefined }, async () => {
      const r = await db.train({ from: 'Sales', group: 'Store ID', features: ['x1', 'x2'], label: 'y', into: 'by_store', folds: 'fold', paramGrid: { C: [0.01, 0.1, 1, 10] }, scoring: 'neg_log_loss', workers: 2, batchGroups: 2 });
      assert.equal(r.groupsOk, 7);
      assert.deepEqual(r.notes.map((n) => [n.code, n.count]), [['NOT_EVALUATED', 1]]);
      const got = (await db.sql<{ key: string; model: any; metrics: any; error: string | null }>(`SELECT "Store ID" AS key, model, metrics, error FROM by_store ORDER BY 1`)).rows;
      const tiny = got.find((g) => g.key === 'tiny')!;
      assert.match(tiny.error as string, /^NOT_EVALUATED: every row of the group has fold −1 or NULL/);
      assert.equal(tiny.model.search.best.C, 0.01, 'too small: the first candidate');
      const groups = got.filter((g) => g.key !== 'tiny');
      const cases = groups.map((g) => {
        const rs = rows.filter((x) => x.key === g.key);
        return { X: rs.map((x) => [x.x1, x.x2]), y: rs.map((x) => x.y), test_fold: rs.map((x) => x.fold ?? -1), estimator: 'LogisticRegression', grid: { C: [0.01, 0.1, 1, 10] }, scoring: 'neg_log_loss' };
      });
      const answers = runPython<Answer[]>(ORACLE, cases);
      groups.forEach((g, i) => {
        const want = answers[i];
        assert.deepEqual(g.model.search.best, want.best_params, `${g.key}: chosen parameters`);
        g.model.search.candidates.forEach((c: { score: number | null; rank: number }, k: number) => {
          near(c.score, want.mean_test_score![k], `${g.key}: candidate ${k}`);
          assert.equal(c.rank, want.rank_test_score![k]);
        });
        assert.deepEqual(g.metrics, g.model.evaluation, 'the metrics column is the document’s evaluation');
        near(g.metrics.log_loss, -(want.metrics.neg_log_loss as number), `${g.key}: log loss`);
        near(g.metrics.roc_auc, want.metrics.roc_auc, `${g.key}: roc auc`);
        near(g.metrics.accuracy, want.metrics.accuracy, `${g.key}: accuracy`);
        near(g.metrics.brier, -(want.metrics.neg_brier_score as number), `${g.key}: brier`);
        assert.equal(g.metrics.heldOut, cases[i].test_fold.filter((f) => f !== -1).length);
        assert.equal(g.model.params.C, g.model.search.best.C, 'the stored model has the chosen C');
      });
      // the models table summary: quantiles across groups, the chosen parameters counted
      const s = await db.describeModels('by_store');
      assert.equal(s.heldOut?.split, 'folds');
      assert.equal(s.heldOut?.groups, 6);
      assert.equal(s.heldOut?.notEvaluated, 1);
      const ll = groups.map((g) => g.metrics.log_loss as number).sort((a, b) => a - b);
      assert.ok(Math.abs((s.heldOut?.metrics.log_loss.min as number) - ll[0]) < 1e-12);
      assert.ok(Math.abs((s.heldOut?.metrics.log_loss.max as number) - ll[ll.length - 1]) < 1e-12);
      assert.equal(s.heldOut?.chosen.reduce((a, c) => a + c.groups, 0), 7);
    });

    it('cv: the folds do not depend on the order of the rows; the metrics are cross_validate’s on them', { skip: sklearnMissing ?? undefined }, async () => {
      const opts = { group: 'Store ID', features: ['x1', 'x2'], label: 'y', cv: 4, seed: 7, workers: 0 } as const;
      await db.train({ ...opts, from: 'Sales', into: 'cv_a' });
      await db.train({ ...opts, from: 'sales_shuffled', into: 'cv_b' });
      const a = (await db.sql<{ key: string; metrics: any; model: any }>(`SELECT "Store ID" AS key, metrics, model FROM cv_a WHERE "Store ID" <> 'tiny' ORDER BY 1`)).rows;
      const b = (await db.sql<{ key: string; metrics: any }>(`SELECT "Store ID" AS key, metrics FROM cv_b WHERE "Store ID" <> 'tiny' ORDER BY 1`)).rows;
      a.forEach((g, i) => {
        for (const m of ['log_loss', 'roc_auc', 'brier', 'accuracy']) assert.ok(Math.abs(g.metrics[m] - b[i].metrics[m]) <= 1e-12, `${g.key} ${m}: ${g.metrics[m]} vs ${b[i].metrics[m]}`);
        assert.equal(g.model.search, undefined, 'no grid: no search');
      });
      const cases = a.map((g) => {
        const rs = rows.filter((x) => x.key === g.key);
        const y = rs.map((x) => x.y);
        const f = assignFolds({ kind: 'cv', k: 4, seed: 7 }, Float64Array.from(rs.flatMap((x) => [x.x1, x.x2])), rs.length, 2, y, Int32Array.from(y), [0, 1], null);
        assert.ok('fold' in f);
        return { X: rs.map((x) => [x.x1, x.x2]), y, test_fold: Array.from(f.fold), estimator: 'LogisticRegression', grid: null, scoring: 'accuracy' };
      });
      const answers = runPython<Answer[]>(ORACLE, cases);
      a.forEach((g, i) => {
        near(g.metrics.log_loss, -(answers[i].metrics.neg_log_loss as number), `${g.key}: log loss`);
        near(g.metrics.roc_auc, answers[i].metrics.roc_auc, `${g.key}: roc auc`);
        near(g.metrics.accuracy, answers[i].metrics.accuracy, `${g.key}: accuracy`);
      });
    });

    it('ridge with a holdout and an alpha grid: regression metrics and the chosen alpha are stored', async () => {
      await db.exec(`CREATE TABLE reg AS SELECT "Store ID", x1, x2, (x1 * 2 - x2 + y)::float8 AS target FROM "Sales"`);
      const r = await db.train({ from: 'reg', group: 'Store ID', features: ['x1', 'x2'], label: 'target', into: 'reg_m', estimator: 'ridge', holdout: 0.25, paramGrid: { alpha: [0.1, 10] }, scoring: 'neg_mean_squared_error' });
      assert.equal(r.groupsOk, 7);
      const m = (await db.sql<{ metrics: any; model: any }>(`SELECT metrics, model FROM reg_m WHERE "Store ID" = 'Store 0'`)).rows[0];
      assert.equal(m.metrics.split, 'holdout');
      assert.ok(m.metrics.r2 > 0.5 && m.metrics.rmse > 0 && m.metrics.mae > 0 && m.metrics.mae <= m.metrics.rmse, JSON.stringify(m.metrics));
      assert.ok([0.1, 10].includes(m.model.params.alpha));
      assert.equal(m.model.params.alpha, m.model.search.best.alpha);
    });

    it('bad options are refused before anything is written (INVALID_OPTION), and the previous table stays', async () => {
      await db.train({ from: 'Sales', group: 'Store ID', features: ['x1', 'x2'], label: 'y', into: 'keep' });
      const before = (await db.sql<{ run_id: string }>('SELECT DISTINCT run_id::text FROM keep')).rows;
      const base = { from: 'Sales', group: 'Store ID', features: ['x1', 'x2'], label: 'y', into: 'keep' } as const;
      await assert.rejects(db.train({ ...base, cv: 3, strategy: 'in-database' }), { code: 'INVALID_OPTION', message: /in-database strategy does not evaluate/ });
      await assert.rejects(db.train({ ...base, cv: 3, holdout: 0.2 }), { code: 'INVALID_OPTION', message: /cv and holdout are given/ });
      await assert.rejects(db.train({ ...base, cv: 1 }), { code: 'INVALID_OPTION', message: /cv must be a whole number of folds ≥ 2, got 1/ });
      await assert.rejects(db.train({ ...base, cv: 3, paramGrid: { C: [1] }, scoring: 'r2' }), { code: 'INVALID_OPTION', message: /scoring "r2" does not apply to a classifier/ });
      await assert.rejects(db.train({ ...base, paramGrid: { C: [1] } }), { code: 'INVALID_OPTION', message: /paramGrid needs held-out rows/ });
      await assert.rejects(db.train({ ...base, folds: 'nope' }), { code: 'COLUMN_NOT_FOUND' });
      await assert.rejects(db.train({ ...base, cv: 3, paramGrid: { gamma: [1] } }), { code: 'INVALID_PARAMETER', message: /paramGrid names 'gamma'/ });
      await assert.rejects(db.train({ ...base, cv: 3, paramGrid: { C: [1, -1] } }), { code: 'INVALID_PARAMETER', message: /'C' must be a finite number > 0, got -1/ });
      await assert.rejects(db.train({ ...base, cv: 3, weight: 'fold' }), { code: 'INVALID_OPTION', message: /do not take sample weights or preprocessing yet/ });
      await assert.rejects(db.train({ ...base, cv: 3, standardize: true }), { code: 'INVALID_OPTION', message: /do not take sample weights or preprocessing yet/ });
      await db.exec(`CREATE TABLE sales_textfold AS SELECT "Store ID", x1, x2, y, fold::text AS fold FROM "Sales"`);
      await assert.rejects(db.train({ ...base, from: 'sales_textfold', folds: 'fold' }), { code: 'INVALID_OPTION', message: /fold column "fold" is not numeric/ });
      assert.deepEqual((await db.sql<{ run_id: string }>('SELECT DISTINCT run_id::text FROM keep')).rows, before);
    });
  });
}

describe('the command line: train --cv --param-grid --scoring, then models', () => {
  const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;
  const work = mkdtempSync(join(tmpdir(), 'manymodels-eval-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, '--db', join(work, 'db'), ...args], { encoding: 'utf8', timeout: 120_000 });
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
  };

  it('stores held-out metrics and chosen parameters, and models summarises them', () => {
    const rows = makeRows(7);
    const csv = join(work, 's.csv');
    writeFileSync(csv, `store,x1,x2,y,fold\n${rows.map((x) => `${x.key},${x.x1},${x.x2},${x.y},${x.fold ?? ''}`).join('\n')}\n`);
    let r = run(['import', csv, '--into', 's']);
    assert.equal(r.code, 0, r.err);
    r = run(['train', '--from', 's', '--group', 'store', '--features', 'x1,x2', '--label', 'y', '--into', 'm', '--cv', '4', '--param-grid', 'C=0.1,1,10', '--param-grid', 'class_weight=null,balanced', '--scoring', 'roc_auc', '--quiet']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /warning 1× NOT_EVALUATED: class 0 has 3 rows, fewer than the 4 folds/);
    r = run(['sql', `SELECT jsonb_array_length(model->'search'->'candidates') AS n, model->'search'->>'scoring' AS s FROM m WHERE store = 'Store 1'`, '--format', 'csv']);
    assert.equal(r.out.trim(), 'n,s\n6,roc_auc');
    r = run(['models', 'm']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /held out: +cv, 6 groups evaluated, 1 too small to split \(NOT_EVALUATED\)/);
    assert.match(r.out, /roc_auc +min 0\.\d+, 25% /);
    assert.match(r.out, /chosen: +\{"C":/);
    r = run(['train', '--from', 's', '--group', 'store', '--features', 'x1,x2', '--label', 'y', '--into', 'm', '--holdout', '1.5']);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /INVALID_OPTION.*--holdout must be a fraction between 0 and 1/);
  });
});
