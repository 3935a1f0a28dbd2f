import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { choleskyInPlace, choleskySolveInPlace, solveSpdScaled } from '../../dist/linalg/cholesky.js';
import { lstsqMinNorm } from '../../dist/linalg/lstsq.js';
import { lbfgs } from '../../dist/optim/lbfgs.js';
import { newton } from '../../dist/optim/newton.js';
import { rng } from '../helpers/random.js';

/**
 * linalg and the optimisers against answers known in advance: systems built around an integer
 * solution, least-squares problems with an exact fit or a known minimum-norm answer, and
 * objectives whose minimiser is known (a quadratic around an integer point, Rosenbrock at (1, 1)).
 */
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

/** A = BᵀB + n·I with small integer B (exact in doubles), a random integer x, b = A·x (exact). */
function spdSystem(r: () => number, n: number) {
  const B = Array.from({ length: n * n }, () => Math.floor(r() * 9) - 4);
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = i === j ? n : 0;
    for (let k = 0; k < n; k++) s += B[k * n + i] * B[k * n + j];
    A[i * n + j] = s;
  }
  const x = Float64Array.from({ length: n }, () => Math.floor(r() * 21) - 10);
  const b = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) b[i] += A[i * n + j] * x[j];
  return { A, x, b };
}

describe('linalg', () => {
  it('Cholesky solves SPD systems to their integer solution (n = 1..10, 50 systems)', () => {
    const r = rng(7);
    for (let k = 0; k < 50; k++) {
      const n = 1 + (k % 10);
      const { A, x, b } = spdSystem(r, n);
      const L = A.slice();
      assert.equal(choleskyInPlace(L, n), true);
      // L·Lᵀ reproduces A
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let t = 0; t <= j; t++) s += L[i * n + t] * L[j * n + t];
        assert.ok(Math.abs(s - A[i * n + j]) <= 1e-12 * Math.abs(A[i * n + i]), `L·Lᵀ[${i}][${j}]`);
      }
      const sol = b.slice();
      choleskySolveInPlace(L, n, sol);
      close(sol, x, 1e-10, `n=${n}`);
      const y = new Float64Array(n);
      const work = new Float64Array(n * n + n);
      assert.equal(solveSpdScaled(A.slice(), n, b, y, work), 0, 'no damping for a positive definite matrix');
      close(y, x, 1e-10, `scaled n=${n}`);
    }
  });

  it('Cholesky refuses a matrix that is not positive definite', () => {
    assert.equal(choleskyInPlace(Float64Array.from([1, 2, 2, 1]), 2), false);
    assert.equal(choleskyInPlace(Float64Array.from([1, 1, 1, 1]), 2), false, 'singular: a zero pivot');
    assert.equal(choleskyInPlace(Float64Array.from([4, 2, 2, 2]), 2), true);
  });

  it('the scaled solve handles scales 1e-8 to 1e8, damps a singular matrix, and reports non-finite input', () => {
    // diag(1e8, 1, 1e-8) with couplings: x = (1, 2, 3)
    const s = [1e4, 1, 1e-4];
    const base = [[2, 1, 0], [1, 3, 1], [0, 1, 2]];
    const A = new Float64Array(9);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) A[i * 3 + j] = base[i][j] * s[i] * s[j];
    const x = [1, 2, 3];
    const b = Float64Array.from([0, 1, 2], (i) => [0, 1, 2].reduce((t, j) => t + A[i * 3 + j] * x[j], 0));
    const y = new Float64Array(3);
    assert.equal(solveSpdScaled(A, 3, b, y, new Float64Array(12)), 0);
    // backward-stable in the scaled variables z = √diag(A)·x (z spans 1.4e4 to 4e-4, so the small
    // components of x carry the rounding of the large ones: compare normwise there)
    const z = (v: ArrayLike<number>, i: number) => v[i] * Math.sqrt(A[i * 3 + i]);
    const zmax = Math.max(...[0, 1, 2].map((i) => Math.abs(z(x, i))));
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(z(y, i) - z(x, i)) <= 1e-14 * zmax, `badly scaled ${i}: ${y[i]} vs ${x[i]}`);
    const singular = Float64Array.from([1, 1, 1, 1]);
    const d = solveSpdScaled(singular, 2, Float64Array.from([2, 2]), y, new Float64Array(6));
    assert.ok(d > 0 && d <= 1, `damping ${d}`);
    // the damped answer is the minimum-norm one's direction: (1, 1) scaled
    assert.ok(Math.abs(y[0] - y[1]) <= 1e-12 && y[0] > 0.9 && y[0] <= 1, `${y[0]}, ${y[1]}`);
    assert.equal(solveSpdScaled(Float64Array.from([NaN, 0, 0, 1]), 2, Float64Array.from([1, 1]), y, new Float64Array(6)), -1);
  });

  it('least squares: an exact fit recovers its coefficients; a duplicated column gets the minimum-norm answer', () => {
    const r = rng(11);
    for (let k = 0; k < 30; k++) {
      const n = 3 + (k % 8);
      const d = 1 + (k % 3);
      const A = Float64Array.from({ length: n * d }, () => Math.floor(r() * 11) - 5);
      const x = Float64Array.from({ length: d }, () => Math.floor(r() * 7) - 3);
      const b = Float64Array.from({ length: n }, (_, i) => x.reduce((s, v, j) => s + A[i * d + j] * v, 0));
      const got = lstsqMinNorm(A, n, d, b);
      // a random integer design can be rank-deficient: then every answer fits; check the fit
      const fit = Float64Array.from({ length: n }, (_, i) => got.x.reduce((s, v, j) => s + A[i * d + j] * v, 0));
      close(fit, b, 1e-12, `fit ${k}`);
      if (got.rank === d) close(got.x, x, 1e-11, `coef ${k}`);
    }
    // columns [a, a, c]: y = 4a + c → minimum norm (2, 2, 1)
    const A = Float64Array.from([1, 1, 0, 2, 2, 1, 3, 3, 5, 4, 4, 2]);
    const b = Float64Array.from([4, 9, 17, 18]);
    const got = lstsqMinNorm(A, 4, 3, b);
    assert.equal(got.rank, 2);
    close(got.x, [2, 2, 1], 1e-13, 'minimum norm');
  });
});

/** ½ (x − x*)ᵀ Q (x − x*) with Q = BᵀB + I: minimiser x*, minimum 0. */
function quadratic(r: () => number, n: number) {
  const { A: Q, x: xs } = spdSystem(r, n);
  return {
    xs,
    obj: {
      dim: n,
      value(w: Float64Array) {
        return this.evaluate(w, new Float64Array(n), null);
      },
      evaluate(w: Float64Array, g: Float64Array, h: Float64Array | null) {
        let f = 0;
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let j = 0; j < n; j++) s += Q[i * n + j] * (w[j] - xs[j]);
          g[i] = s;
          f += 0.5 * (w[i] - xs[i]) * s;
        }
        if (h !== null) h.set(Q);
        return f;
      },
    },
  };
}

const rosenbrock = {
  dim: 2,
  value(w: Float64Array) {
    return 100 * (w[1] - w[0] ** 2) ** 2 + (1 - w[0]) ** 2;
  },
  evaluate(w: Float64Array, g: Float64Array, h: Float64Array | null) {
    const [x, y] = w;
    g[0] = -400 * x * (y - x * x) - 2 * (1 - x);
    g[1] = 200 * (y - x * x);
    if (h !== null) {
      h[0] = 1200 * x * x - 400 * y + 2;
      h[1] = h[2] = -400 * x;
      h[3] = 200;
    }
    return this.value(w);
  },
};

describe('optimisers', () => {
  it('Newton’s method: a quadratic in one step, to the minimiser', () => {
    const r = rng(3);
    for (let n = 1; n <= 8; n++) {
      const { xs, obj } = quadratic(r, n);
      const x = new Float64Array(n);
      const res = newton(obj, x, { maxIter: 50 });
      close(x, xs, 1e-12, `n=${n}`);
      assert.equal(res.stationary, true);
      assert.ok(res.nIter <= 2, `${res.nIter} iterations for a quadratic`);
      assert.ok(res.value <= 1e-18 * (1 + Math.abs(xs.reduce((s, v) => s + v * v, 0))) * 1e6);
    }
  });

  it('Newton’s method: Rosenbrock from (−1.2, 1) to (1, 1)', () => {
    const x = Float64Array.from([-1.2, 1]);
    const res = newton(rosenbrock, x, { maxIter: 100 });
    close(x, [1, 1], 1e-12, 'Rosenbrock');
    assert.equal(res.stationary, true);
    assert.ok(res.gradInf <= 1e-10);
  });

  it('L-BFGS: a quadratic and Rosenbrock to the gradient tolerance; maxIter is a hard stop', () => {
    const r = rng(5);
    for (let n = 1; n <= 8; n++) {
      const { xs, obj } = quadratic(r, n);
      const x = new Float64Array(n);
      const res = lbfgs(obj, x, { maxIter: 500, gtol: 1e-10 });
      assert.ok(res.gradInf <= 1e-10, `gradient ${res.gradInf}`);
      // Q ≥ I, so ‖x − x*‖∞ ≤ ‖Q⁻¹‖·‖g‖ ≤ √n·1e-10
      close(x, xs, 1e-9, `n=${n}`);
    }
    const x = Float64Array.from([-1.2, 1]);
    const res = lbfgs(rosenbrock, x, { maxIter: 1000, gtol: 1e-9 });
    close(x, [1, 1], 1e-7, 'Rosenbrock');
    assert.ok(res.gradInf <= 1e-9);
    const y = Float64Array.from([-1.2, 1]);
    const short = lbfgs(rosenbrock, y, { maxIter: 3, gtol: 1e-9 });
    assert.equal(short.reason, 'max-iter');
    assert.equal(short.stationary, false);
    assert.ok(short.nIter <= 3);
    assert.ok(short.value < rosenbrock.value(Float64Array.from([-1.2, 1])), 'it made progress');
  });
});
