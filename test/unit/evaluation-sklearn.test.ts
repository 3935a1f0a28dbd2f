/**
 * Per-group held-out evaluation and grid search (src/evaluation/) against scikit-learn 1.2.1, run
 * in a subprocess on data generated here: GridSearchCV(estimator, grid, cv=PredefinedSplit(fold),
 * scoring, refit=True) for the chosen parameters, every candidate's mean and standard deviation and
 * rank, and the refitted model; cross_validate for the held-out metrics. scikit-learn fits with
 * newton-cg at tol 1e-12, close to the exact optimum where manymodels stops, so scores agree to
 * ~1e-7; the refitted model is compared with a cold fit of the same parameters (the exact optimum,
 * as the fixtures' tests do) to 1e-10, showing the warm start changes nothing but the iterations.
 * Skipped, with the reason printed, when /usr/bin/python3 has no scikit-learn.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assignFolds, createEstimator, type EvaluationSpec, expandGrid, GroupSearch, LogisticRegression, type Scoring } from 'manymodels';
import { rng } from '../helpers/random.js';
import { runPython, sklearnMissing } from '../helpers/sklearn.js';

const SCRIPT = new URL('../helpers/sklearn_search.py', import.meta.url).pathname;
const ORACLE = `exec(open(${JSON.stringify(SCRIPT)}).read())`;
const SCORE_TOL = 2e-7;
const COEF_TOL = 2e-5;

interface Case {
  name: string;
  estimator: 'LogisticRegression' | 'Ridge' | 'LinearRegression';
  X: number[][];
  y: number[];
  testFold: number[];
  grid: Record<string, unknown[]> | null;
  scoring: Scoring;
  params?: Record<string, unknown>;
  stratifiedK?: number;
}

interface Answer {
  best_params?: Record<string, unknown>;
  mean_test_score?: (number | null)[];
  std_test_score?: (number | null)[];
  rank_test_score?: number[];
  coef?: number[][];
  intercept?: number[];
  metrics: Record<string, number | null>;
  fold_class_counts?: number[][];
}

/** A group: n rows, d features, K classes (0 for a regression target). */
function groupData(seed: number, n: number, d: number, K: number): { X: number[][]; y: number[] } {
  const r = rng(seed);
  const w = Array.from({ length: Math.max(K, 1) * d }, () => 2 * r() - 1);
  const X: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = Array.from({ length: d }, () => Math.round((4 * r() - 2) * 1000) / 1000);
    X.push(x);
    if (K === 0) y.push(x.reduce((s, v, j) => s + v * w[j], 0.5) + (r() - 0.5));
    else {
      // classes in turn for the first K rows (every class present), then drawn from a softmax
      const z = Array.from({ length: K }, (_, k) => x.reduce((s, v, j) => s + v * w[k * d + j], 0) + r());
      y.push(i < 2 * K ? i % K : z.indexOf(Math.max(...z)));
    }
  }
  return { X, y };
}

const toSnake = (p: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(p).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => (k === 'C' ? c : `_${c.toLowerCase()}`)), v]));

function runOurs(c: Case) {
  const n = c.X.length;
  const d = c.X[0].length;
  const m = { data: Float64Array.from(c.X.flat()), rows: n, cols: d };
  const y = Float64Array.from(c.y);
  const spec: EvaluationSpec = { split: { kind: 'folds', column: 'fold' }, grid: c.grid === null ? null : expandGrid(c.grid), scoring: c.scoring };
  const s = new GroupSearch(c.estimator, c.params ?? {}, spec);
  const r = s.run(m, y, Float64Array.from(c.testFold));
  return { r, m, y, doc: JSON.parse(s.json(r)) };
}

function cases(): Case[] {
  const out: Case[] = [];
  const foldsOf = (seed: number, n: number, k: number) => {
    const r = rng(seed);
    return Array.from({ length: n }, (_, i) => (i < k ? i : r() < 0.1 ? -1 : Math.floor(r() * k)));
  };
  for (const [i, scoring] of (['neg_log_loss', 'roc_auc', 'accuracy'] as const).entries()) {
    for (const n of [40, 90]) {
      const { X, y } = groupData(100 + i * 7 + n, n, 3, 2);
      out.push({ name: `binary, ${n} rows, user folds, C grid, ${scoring}`, estimator: 'LogisticRegression', X, y, testFold: foldsOf(i + n, n, 4), grid: { C: [0.01, 0.1, 1, 10] }, scoring });
    }
  }
  for (const scoring of ['neg_log_loss', 'roc_auc', 'accuracy'] as const) {
    const { X, y } = groupData(300 + scoring.length, 120, 2, 3);
    out.push({ name: `3 classes, C × class_weight grid, ${scoring}`, estimator: 'LogisticRegression', X, y, testFold: foldsOf(7, 120, 3), grid: { classWeight: [null, 'balanced'], C: [0.1, 1, 100] }, scoring });
  }
  // ties: accuracy on a tiny group often ties between candidates; the first in grid order wins
  {
    const { X, y } = groupData(55, 16, 1, 2);
    out.push({ name: 'binary, 16 rows, ties in accuracy', estimator: 'LogisticRegression', X, y, testFold: foldsOf(3, 16, 4), grid: { C: [1, 2, 4, 1000] }, scoring: 'accuracy' });
  }
  for (const scoring of ['r2', 'neg_mean_squared_error'] as const) {
    const { X, y } = groupData(500 + scoring.length, 60, 4, 0);
    out.push({ name: `ridge, alpha grid, ${scoring}`, estimator: 'Ridge', X, y, testFold: foldsOf(9, 60, 5), grid: { alpha: [0.001, 0.1, 10, 1000] }, scoring });
  }
  {
    const { X, y } = groupData(77, 50, 2, 0);
    out.push({ name: 'linear regression, evaluation only', estimator: 'LinearRegression', X, y, testFold: foldsOf(11, 50, 5), grid: null, scoring: 'r2' });
  }
  // cv: manymodels' own stratified folds, handed to scikit-learn as a PredefinedSplit
  for (const [K, n, classes] of [[5, 53, 2], [3, 41, 3], [4, 30, 2]] as const) {
    const { X, y } = groupData(900 + n, n, 2, classes);
    const m = Float64Array.from(X.flat());
    const enc = LogisticRegression; // classes are 0..K-1 here
    void enc;
    const a = assignFolds({ kind: 'cv', k: K, seed: 3 }, m, n, 2, y, Int32Array.from(y), Array.from({ length: classes }, (_, k) => k), null);
    assert.ok('fold' in a);
    out.push({ name: `cv ${K} folds, ${classes} classes, ${n} rows: stratified as StratifiedKFold`, estimator: 'LogisticRegression', X, y, testFold: Array.from(a.fold), grid: { C: [0.1, 1] }, scoring: 'neg_log_loss', stratifiedK: K });
  }
  return out;
}

describe('held-out evaluation and grid search against scikit-learn 1.2.1 (GridSearchCV, PredefinedSplit, cross_validate)', { skip: sklearnMissing ?? undefined }, () => {
  if (sklearnMissing !== null) console.log(`skipped: ${sklearnMissing}`);
  const all = sklearnMissing === null ? cases() : [];
  const answers = sklearnMissing === null
    ? runPython<Answer[]>(ORACLE, all.map((c) => ({ X: c.X, y: c.y, test_fold: c.testFold, estimator: c.estimator, params: toSnake(c.params ?? {}), grid: c.grid === null ? null : toSnake(c.grid), scoring: c.scoring, stratified_k: c.stratifiedK ?? null })))
    : [];
  all.forEach((c, ci) => {
    it(c.name, () => {
      const want = answers[ci];
      const { r, m, y, doc } = runOurs(c);
      if (c.grid !== null) {
        assert.ok(r.search !== null);
        assert.deepEqual(toSnake(r.search.best), want.best_params, 'the chosen parameters');
        r.search.candidates.forEach((cand, k) => {
          const s = want.mean_test_score![k];
          if (s === null) assert.equal(cand.score, null);
          else assert.ok(Math.abs((cand.score as number) - s) <= SCORE_TOL, `candidate ${k} ${JSON.stringify(cand.params)}: ${cand.score} vs ${s}`);
          assert.ok(Math.abs((cand.std as number) - (want.std_test_score![k] as number)) <= 1e-6, `candidate ${k} std`);
          assert.equal(cand.rank, want.rank_test_score![k], `candidate ${k} rank`);
        });
        assert.deepEqual(doc.search, JSON.parse(JSON.stringify(r.search)), 'the document records the search');
        // the refitted model: scikit-learn's best_estimator_ (to its tolerance), and exactly a cold fit of the best parameters
        const cold = createEstimator(c.estimator, { ...(c.params ?? {}), ...r.search.best }).fit(m, y);
        const coefOf = (e: { coef_: number[] | number[][] }) => (Array.isArray(e.coef_[0]) ? (e.coef_ as number[][]) : [e.coef_ as number[]]);
        const ours = coefOf(r.est as { coef_: number[] | number[][] });
        coefOf(cold as { coef_: number[] | number[][] }).forEach((row, i) => row.forEach((w, j) => assert.ok(Math.abs(ours[i][j] - w) <= 1e-10 * (1 + Math.abs(w)), `refit coef [${i}][${j}] ${ours[i][j]} vs cold ${w}`)));
        want.coef!.forEach((row, i) => row.forEach((w, j) => assert.ok(Math.abs(ours[i][j] - w) <= COEF_TOL * (1 + Math.abs(w)), `coef [${i}][${j}] ${ours[i][j]} vs scikit-learn ${w}`)));
      }
      // held-out metrics of the chosen parameters
      const e = r.evaluation;
      const pairs: [number | null | undefined, number | null][] = c.estimator === 'LogisticRegression'
        ? [[e.log_loss, neg(want.metrics.neg_log_loss)], [e.roc_auc, want.metrics.roc_auc], [e.accuracy, want.metrics.accuracy], [e.brier, neg(want.metrics.neg_brier_score)]]
        : [[e.r2, want.metrics.r2], [e.rmse, neg(want.metrics.neg_root_mean_squared_error)], [e.mae, neg(want.metrics.neg_mean_absolute_error)]];
      for (const [k, [got, exp]] of pairs.entries()) {
        if (exp === null) assert.equal(got, null, `metric ${k}`);
        else assert.ok(typeof got === 'number' && Math.abs(got - exp) <= SCORE_TOL, `metric ${k}: ${got} vs ${exp}`);
      }
      assert.equal(e.heldOut, c.testFold.filter((f) => f !== -1).length);
      assert.deepEqual(doc.evaluation, JSON.parse(JSON.stringify(e)));
      if (want.fold_class_counts !== undefined) {
        const K = c.stratifiedK as number;
        const classes = [...new Set(c.y)].sort((a, b) => a - b);
        const ours = Array.from({ length: K }, (_, f) => classes.map((k) => c.y.filter((v, i) => v === k && c.testFold[i] === f).length));
        assert.deepEqual(ours, want.fold_class_counts, 'per fold, per class counts as StratifiedKFold');
      }
    });
  });
});

const neg = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : -v);

describe('folds', () => {
  it('do not depend on the order of the rows, and change with the seed', () => {
    const { X, y } = groupData(4242, 60, 2, 2);
    const n = 60;
    const foldsFor = (perm: number[], seed: number) => {
      const Xp = Float64Array.from(perm.flatMap((i) => X[i]));
      const yp = perm.map((i) => y[i]);
      const a = assignFolds({ kind: 'cv', k: 5, seed }, Xp, n, 2, yp, Int32Array.from(yp), [0, 1], null);
      assert.ok('fold' in a);
      // fold of each original row
      const out = new Array<number>(n);
      perm.forEach((orig, pos) => (out[orig] = a.fold[pos]));
      return out;
    };
    const id = Array.from({ length: n }, (_, i) => i);
    const r = rng(5);
    const shuffled = [...id].sort(() => r() - 0.5);
    const reversed = [...id].reverse();
    assert.deepEqual(foldsFor(shuffled, 0), foldsFor(id, 0));
    assert.deepEqual(foldsFor(reversed, 0), foldsFor(id, 0));
    assert.notDeepEqual(foldsFor(id, 1), foldsFor(id, 0));
  });

  it('repeated rows are spread over the folds, not kept together', () => {
    const X = new Float64Array(50).fill(1);
    const y = Array.from({ length: 50 }, (_, i) => i % 2);
    const a = assignFolds({ kind: 'cv', k: 5, seed: 0 }, X, 50, 1, y, Int32Array.from(y), [0, 1], null);
    assert.ok('fold' in a);
    for (let f = 0; f < 5; f++) assert.equal(a.fold.filter((v) => v === f).length, 10);
  });

  it('holdout holds out ⌈F·n⌉ rows (train_test_split), in proportion to the classes', () => {
    const y = [...new Array(30).fill(0), ...new Array(13).fill(1)];
    const X = Float64Array.from(y.map((_, i) => i));
    const a = assignFolds({ kind: 'holdout', fraction: 0.25, seed: 0 }, X, 43, 1, y, Int32Array.from(y), [0, 1], null);
    assert.ok('fold' in a);
    assert.equal(a.fold.filter((f) => f === 0).length, Math.ceil(0.25 * 43));
    assert.equal(y.filter((v, i) => v === 1 && a.fold[i] === 0).length, 3); // 11 × 13/43 = 3.33
  });

  it('a group too small to split gets a reason, and its model is still fitted', () => {
    const spec: EvaluationSpec = { split: { kind: 'cv', k: 5, seed: 0 }, grid: expandGrid({ C: [0.1, 1] }), scoring: 'neg_log_loss' };
    const s = new GroupSearch('LogisticRegression', {}, spec);
    const r = s.run({ data: Float64Array.from([1, 2, 3, 4, 5, 6]), rows: 6, cols: 1 }, Float64Array.from([0, 0, 0, 1, 1, 1]), null);
    assert.match(r.evaluation.reason ?? '', /class 0 has 3 rows, fewer than the 5 folds/);
    assert.deepEqual(r.search?.best, { C: 0.1 });
    assert.equal(r.search?.reason, r.evaluation.reason);
    assert.ok((r.est as LogisticRegression).coef_.length === 1);
  });
});
