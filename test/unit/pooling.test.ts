import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PooledLogisticRegression, SharedCSearch, decodeModel, encodeModel, fitPooled, foldAssignment, ModelJsonEncoder, type PoolPrior } from 'manymodels';
import { rng as seededRandom } from '../helpers/random.js';
import { referenceSolve } from '../helpers/pool-reference.js';

function logLoss(w: number[], X: number[][], y: number[]): number {
  let s = 0;
  X.forEach((x, i) => {
    const z = x.reduce((a, v, j) => a + v * w[j], w[x.length]);
    s += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - y[i] * z;
  });
  return s;
}

function randomGroup(rnd: () => number, n: number, d: number, onlyClass?: number): { X: number[][]; y: number[] } {
  const X = Array.from({ length: n }, () => Array.from({ length: d }, () => (rnd() - 0.5) * 4));
  const y = X.map((x) => (onlyClass !== undefined ? onlyClass : rnd() < 1 / (1 + Math.exp(-(x[0] - 0.5 * (x[1] ?? 0)))) ? 1 : 0));
  return { X, y };
}

describe('partial pooling: the exact optimum of the prior-centred objective', () => {
  const rnd = seededRandom(14);
  const cases: { name: string; n: number; d: number; C: number; Cb: number; only?: number }[] = [
    { name: '10 rows, 3 features, C = 1', n: 10, d: 3, C: 1, Cb: 1 },
    { name: '7 rows, 2 features, strong pooling C = 0.01, loose intercept C_b = 100', n: 7, d: 2, C: 0.01, Cb: 100 },
    { name: '20 rows, 5 features (the SIMD kernel path), C = 30, C_b = 0.5', n: 20, d: 5, C: 30, Cb: 0.5 },
    { name: 'one class only (cannot be fitted alone)', n: 6, d: 3, C: 2, Cb: 2, only: 1 },
    { name: 'one row', n: 1, d: 3, C: 5, Cb: 1, only: 0 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { X, y } = randomGroup(rnd, c.n, c.d, c.only);
      const cg = Array.from({ length: c.d }, () => rnd() * 2 - 1);
      const bg = rnd() - 0.5;
      const prior: PoolPrior = { classes: [0, 1], coef: cg, intercept: bg };
      const m = new PooledLogisticRegression(prior, { C: c.C, interceptC: c.Cb }).fit(X, y);
      const ref = referenceSolve(X, y, cg, bg, c.C, c.Cb);
      const got = [...m.coef_[0], m.intercept_[0]];
      for (let j = 0; j < ref.length; j++) assert.ok(Math.abs(got[j] - ref[j]) <= 1e-12 * (1 + Math.abs(ref[j])), `parameter ${j}: ${got[j]} vs reference ${ref[j]}`);
      assert.equal(m.converged_, true);
      assert.equal(m.pool_?.alone, c.only === undefined);
      for (const v of got) assert.ok(Number.isFinite(v));
    });
  }

  it('a group with no rows gets the global model itself', () => {
    const prior: PoolPrior = { classes: ['no', 'yes'], coef: [0.3, -1.2], intercept: 0.7 };
    const m = new PooledLogisticRegression(prior, { C: 1 }).fitEncoded(new Float64Array(0), 0, 2, new Float64Array(0));
    assert.deepEqual(m.coef_, [[0.3, -1.2]]);
    assert.deepEqual(m.intercept_, [0.7]);
    assert.deepEqual(m.classes_, ['no', 'yes']);
    assert.equal(m.pool_?.alone, false);
  });

  it('labels are encoded against the global classes; a label of neither is refused', () => {
    const prior: PoolPrior = { classes: ['no', 'yes'], coef: [0.5], intercept: 0 };
    const m = new PooledLogisticRegression(prior, { C: 1 }).fit([[1], [2]], ['yes', 'yes']);
    const ref = referenceSolve([[1], [2]], [1, 1], [0.5], 0, 1, 1);
    assert.ok(Math.abs(m.coef_[0][0] - ref[0]) < 1e-12);
    assert.throws(() => new PooledLogisticRegression(prior, { C: 1 }).fit([[1]], ['maybe']), { code: 'INVALID_LABEL' });
  });

  it('the document records the pool and round-trips; the fast encoder writes the same bytes', () => {
    const prior: PoolPrior = { classes: [0, 1], coef: [0.25, -0.5], intercept: 0.1 };
    const m = new PooledLogisticRegression(prior, { C: 0.3, interceptC: 2 }).fit([[1, 2], [0, 1], [3, -1]], [1, 0, 1]);
    const doc = encodeModel(m) as unknown as { pool: { C: number; interceptC: number; global: { coef: number[]; intercept: number }; alone: boolean } };
    assert.equal(doc.pool.C, 0.3);
    assert.equal(doc.pool.interceptC, 2);
    assert.deepEqual(doc.pool.global, { coef: [0.25, -0.5], intercept: 0.1 });
    assert.equal(new ModelJsonEncoder(m).json(m), JSON.stringify(encodeModel(m)));
    const back = decodeModel(JSON.stringify(doc)) as PooledLogisticRegression;
    assert.deepEqual(back.predictProba([[1, 1]]), m.predictProba([[1, 1]]));
  });
});

describe('the shared pooling strength, by K-fold CV summed over all groups', () => {
  it('each curve point is the held-out log loss of the independent solve on the same folds', () => {
    const rnd = seededRandom(3);
    const groups = Array.from({ length: 6 }, (_, g) => randomGroup(rnd, 5 + g * 2, 2));
    const prior: PoolPrior = { classes: [0, 1], coef: [0.8, -0.4], intercept: 0.1 };
    const grid = [0.1, 1, 10];
    const search = new SharedCSearch(prior, { grid, folds: 5 });
    for (const g of groups) search.add({ x: Float64Array.from(g.X.flat()), rows: g.X.length, cols: 2, y01: Float64Array.from(g.y) });
    const res = search.result();
    // the same folds (group k, 1-based, is seeded with k), each fold fitted by the reference solver
    const expected = grid.map((C) => {
      let sum = 0;
      let rows = 0;
      groups.forEach((g, gi) => {
        const fold = foldAssignment(g.X.length, Math.min(5, g.X.length), gi + 1);
        for (let f = 0; f < 5; f++) {
          const tr = g.X.map((_, i) => i).filter((i) => fold[i] !== f);
          const te = g.X.map((_, i) => i).filter((i) => fold[i] === f);
          const w = referenceSolve(tr.map((i) => g.X[i]), tr.map((i) => g.y[i]), [0.8, -0.4], 0.1, C, C);
          sum += logLoss(w, te.map((i) => g.X[i]), te.map((i) => g.y[i]));
        }
        rows += g.X.length;
      });
      return sum / rows;
    });
    assert.equal(res.chosenBy, 'cv');
    assert.equal(res.rows, groups.reduce((s, g) => s + g.X.length, 0));
    res.curve?.forEach((p, i) => assert.ok(Math.abs(p.logLoss - expected[i]) < 1e-10, `C = ${p.C}: ${p.logLoss} vs ${expected[i]}`));
    const best = expected.indexOf(Math.min(...expected));
    assert.equal(res.C, grid[best]);
  });

  it('folds: sizes differ by at most one, every row in exactly one', () => {
    for (const [n, k] of [[5, 5], [17, 5], [3, 3], [100, 7]]) {
      const f = foldAssignment(n, k, 9);
      const counts = new Array<number>(k).fill(0);
      for (const v of f) counts[v]++;
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `${n} rows, ${k} folds: ${counts}`);
    }
  });

  it('fitPooled on a simulated hierarchy: the pooled models beat the global model on held-out rows', () => {
    const rnd = seededRandom(7);
    const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
    const mean = [1, -1, 0.5];
    const train: { X: number[][]; y: number[] }[] = [];
    const test: { X: number[][]; y: number[] }[] = [];
    for (let g = 0; g < 300; g++) {
      const w = mean.map((m) => m + 0.7 * gauss());
      const b = -0.3 + 0.5 * gauss();
      const draw = (n: number) => {
        const X = Array.from({ length: n }, () => mean.map(() => gauss()));
        return { X, y: X.map((x) => (rnd() < 1 / (1 + Math.exp(-(b + x.reduce((s, v, j) => s + v * w[j], 0)))) ? 1 : 0)) };
      };
      train.push(draw(5 + Math.floor(rnd() * 16)));
      test.push(draw(50));
    }
    const res = fitPooled(train);
    const held = (model: { predictProba(X: number[][]): number[][] } | null, g: number): number => {
      const p = (model ?? res.global).predictProba(test[g].X);
      return test[g].y.reduce((s, y, i) => s - Math.log(Math.max(1e-15, p[i][y])), 0);
    };
    let pooled = 0;
    let global = 0;
    for (let g = 0; g < train.length; g++) {
      pooled += held(res.models[g], g);
      global += held(null, g);
    }
    assert.ok(res.choice.C > 0.001 && res.choice.C < 1000, `chosen C ${res.choice.C}`);
    assert.ok(pooled < global, `pooled ${pooled} vs global ${global}`);
  });
});
