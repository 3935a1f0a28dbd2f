import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BinaryLogisticLoss, MultinomialLogisticLoss, type Objective } from 'manymodels';

/** A small deterministic pseudo-random generator, so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function checkDerivatives(obj: Objective, seed: number): void {
  const r = rng(seed);
  const dim = obj.dim;
  const w = new Float64Array(dim).map(() => 2 * r());
  const g = new Float64Array(dim);
  const h = new Float64Array(dim * dim);
  const f = obj.evaluate(w, g, h);
  assert.ok(Math.abs(f - obj.value(w)) <= 1e-12 * Math.max(1, Math.abs(f)), 'evaluate and value agree');
  const eps = 1e-6;
  const gp = new Float64Array(dim);
  const gm = new Float64Array(dim);
  for (let j = 0; j < dim; j++) {
    const wp = w.slice();
    const wm = w.slice();
    wp[j] += eps;
    wm[j] -= eps;
    const fd = (obj.value(wp) - obj.value(wm)) / (2 * eps);
    assert.ok(Math.abs(fd - g[j]) <= 1e-6 * Math.max(1, Math.abs(g[j])), `gradient[${j}]: analytic ${g[j]} vs finite difference ${fd}`);
    obj.evaluate(wp, gp, null);
    obj.evaluate(wm, gm, null);
    for (let k = 0; k < dim; k++) {
      const fdh = (gp[k] - gm[k]) / (2 * eps);
      const an = h[k * dim + j];
      assert.ok(Math.abs(fdh - an) <= 1e-5 * Math.max(1, Math.abs(an)), `Hessian[${k},${j}]: analytic ${an} vs finite difference ${fdh}`);
      assert.equal(h[k * dim + j], h[j * dim + k], 'Hessian is symmetric');
    }
  }
}

function data(n: number, d: number, seed: number): Float64Array {
  const r = rng(seed);
  return new Float64Array(n * d).map(() => 3 * r());
}

describe('loss derivatives against finite differences', () => {
  for (const fitIntercept of [true, false]) {
    for (const penalty of ['l2', null] as const) {
      it(`binary logistic with 7 features (the WebAssembly SIMD path), intercept=${fitIntercept}, penalty=${penalty}`, () => {
        const n = 21; // odd: the kernels' scalar tail is used too
        const d = 7;
        const y = new Float64Array(n).map((_, i) => (i % 3 === 0 ? 1 : 0));
        const s = new Float64Array(n).map((_, i) => 0.5 + (i % 4));
        checkDerivatives(new BinaryLogisticLoss(data(n, d, 5), n, d, y, s, 1.5, penalty, fitIntercept), 13);
        checkDerivatives(new BinaryLogisticLoss(data(n, d, 6), n, d, y, null, 0.7, penalty, fitIntercept), 14);
      });
      it(`binary logistic, intercept=${fitIntercept}, penalty=${penalty}`, () => {
        const n = 17;
        const d = 3;
        const y = new Float64Array(n).map((_, i) => (i % 3 === 0 ? 1 : 0));
        const s = new Float64Array(n).map((_, i) => 0.5 + (i % 4));
        checkDerivatives(new BinaryLogisticLoss(data(n, d, 1), n, d, y, s, 2.5, penalty, fitIntercept), 7);
        checkDerivatives(new BinaryLogisticLoss(data(n, d, 2), n, d, y, null, 0.3, penalty, fitIntercept), 8);
      });
      it(`binary logistic with 2 features (the row-by-row path), intercept=${fitIntercept}, penalty=${penalty}`, () => {
        const n = 13;
        const d = 2;
        const y = new Float64Array(n).map((_, i) => (i % 3 === 0 ? 1 : 0));
        const s = new Float64Array(n).map((_, i) => 0.5 + (i % 4));
        checkDerivatives(new BinaryLogisticLoss(data(n, d, 21), n, d, y, s, 1.9, penalty, fitIntercept), 23);
        checkDerivatives(new BinaryLogisticLoss(data(n, d, 22), n, d, y, null, 0.4, penalty, fitIntercept), 24);
        // the same numbers as the general path, which a third, all-zero column sends them through
        for (const sw of [s, null]) {
          const x2 = data(n, d, 25);
          const x3 = new Float64Array(n * 3);
          for (let i = 0; i < n; i++) [x3[3 * i], x3[3 * i + 1]] = [x2[2 * i], x2[2 * i + 1]];
          const two = new BinaryLogisticLoss(x2, n, 2, y, sw, 1.3, penalty, fitIntercept);
          const three = new BinaryLogisticLoss(x3, n, 3, y, sw, 1.3, penalty, fitIntercept);
          const r = rng(26);
          const w2 = new Float64Array(two.dim).map(() => 2 * r());
          const w3 = new Float64Array(three.dim);
          [w3[0], w3[1]] = [w2[0], w2[1]];
          if (fitIntercept) w3[3] = w2[2];
          const [g2, g3] = [new Float64Array(two.dim), new Float64Array(three.dim)];
          const [h2, h3] = [new Float64Array(two.dim ** 2), new Float64Array(three.dim ** 2)];
          const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-15 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
          close(two.evaluate(w2, g2, h2), three.evaluate(w3, g3, h3), 'value');
          const at = fitIntercept ? [0, 1, 3] : [0, 1]; // where each parameter of the 2-feature loss sits in the 3-feature one
          at.forEach((j3, j2) => {
            close(g2[j2], g3[j3], `gradient[${j2}]`);
            at.forEach((k3, k2) => close(h2[j2 * two.dim + k2], h3[j3 * three.dim + k3], `Hessian[${j2},${k2}]`));
          });
        }
      });
      it(`multinomial logistic, intercept=${fitIntercept}, penalty=${penalty}`, () => {
        const n = 23;
        const d = 2;
        const K = 4;
        const y = new Int32Array(n).map((_, i) => i % K);
        const s = new Float64Array(n).map((_, i) => 1 + (i % 3));
        checkDerivatives(new MultinomialLogisticLoss(data(n, d, 3), n, d, y, K, s, 1.7, penalty, fitIntercept), 9);
        checkDerivatives(new MultinomialLogisticLoss(data(n, d, 4), n, d, y, K, null, 1, penalty, fitIntercept), 10);
      });
    }
  }

  it('the SIMD kernels give the JavaScript loops’ numbers (to rounding)', async () => {
    const { gramKernel } = await import('../../dist/linalg/gram.js');
    assert.ok(gramKernel() !== null, 'WebAssembly SIMD is available on Node 20');
    // a 7-feature loss (kernel path) against the sums written out plainly here
    const n = 33;
    const d = 7;
    const x = data(n, d, 21);
    const y = new Float64Array(n).map((_, i) => (i % 2));
    const loss = new BinaryLogisticLoss(x, n, d, y, null, 1, 'l2', true);
    const w = new Float64Array(d + 1).map((_, j) => 0.1 * (j - 3));
    const g = new Float64Array(d + 1);
    const h = new Float64Array((d + 1) * (d + 1));
    const f = loss.evaluate(w, g, h);
    let fr = 0;
    const gr = new Float64Array(d + 1);
    const hr = new Float64Array((d + 1) * (d + 1));
    for (let i = 0; i < n; i++) {
      let z = w[d];
      for (let j = 0; j < d; j++) z += x[i * d + j] * w[j];
      const p = 1 / (1 + Math.exp(-z));
      fr += Math.log1p(Math.exp(z)) - y[i] * z;
      const xi = [...Array.from(x.subarray(i * d, i * d + d)), 1];
      for (let j = 0; j <= d; j++) {
        gr[j] += (p - y[i]) * xi[j];
        for (let k = 0; k <= d; k++) hr[j * (d + 1) + k] += p * (1 - p) * xi[j] * xi[k];
      }
    }
    for (let j = 0; j < d; j++) {
      fr += 0.5 * w[j] * w[j];
      gr[j] += w[j];
      hr[j * (d + 1) + j] += 1;
    }
    assert.ok(Math.abs(f - fr) <= 1e-12 * Math.abs(fr));
    for (let j = 0; j <= d; j++) assert.ok(Math.abs(g[j] - gr[j]) <= 1e-12 * (1 + Math.abs(gr[j])), `gradient ${j}`);
    for (let j = 0; j < h.length; j++) assert.ok(Math.abs(h[j] - hr[j]) <= 1e-12 * (1 + Math.abs(hr[j])), `Hessian ${j}`);
  });

  it('the kernel’s per-row exp, σ, residual and curvature are Math.exp’s and JavaScript’s, bit for bit', async () => {
    const { gramKernel, kernelArray } = await import('../../dist/linalg/gram.js');
    const k = gramKernel();
    assert.ok(k !== null, 'WebAssembly SIMD is available on Node 20');
    const r = rng(31);
    const bits = new Float64Array(1);
    const words = new Uint32Array(bits.buffer);
    // the edges of fdlibm's branches (½ln2, 1.5·ln2, 2⁻²⁸, the 2ᵏ scaling below 2⁻¹⁰²¹, underflow), specials, any bits
    const edges = [0.5 * Math.LN2, 1.5 * Math.LN2, 2 ** -28, 1021 * Math.LN2, 1022 * Math.LN2, 708.39, 709.78, 745.1332191019411, 746];
    const kinds: (() => number)[] = [
      () => 40 * r(),
      () => 1600 * r(),
      () => r() * 2 ** (-60 * (r() + 0.5)),
      () => (r() < 0 ? -1 : 1) * edges[Math.floor((r() + 0.5) * edges.length)] * (1 + 1e-12 * r()),
      () => [0, -0, Infinity, -Infinity, NaN, 5e-324, -1e-310][Math.floor((r() + 0.5) * 7)],
      () => {
        words[0] = Math.floor((r() + 0.5) * 2 ** 32);
        words[1] = Math.floor((r() + 0.5) * 2 ** 32);
        return bits[0];
      },
    ];
    for (const n of [4001, 4000]) {
      const mem = kernelArray(k, 6 * n + 12);
      const [Z, Y, S, R, H, E] = [0, n, 2 * n, 3 * n, 4 * n, 5 * n];
      for (let i = 0; i < n; i++) {
        mem[Z + i] = kinds[i % kinds.length]();
        mem[Y + i] = i % 3 === 0 ? 1 : 0;
        mem[S + i] = i % 2 === 0 ? 1 : 0.5 + (r() + 0.5) * 3;
      }
      k.logistic(Z, Y, S, n, R, H, E);
      for (let i = 0; i < n; i++) {
        const z = mem[Z + i];
        const si = mem[S + i];
        const e = Math.exp(-Math.abs(z));
        const inv = 1 / (1 + e);
        const p = z >= 0 ? inv : e * inv;
        assert.ok(Object.is(mem[E + i], e), `exp(−|${z}|): kernel ${mem[E + i]}, Math.exp ${e}`);
        assert.ok(Object.is(mem[R + i], si * (p - mem[Y + i])), `residual at z = ${z}`);
        assert.ok(Object.is(mem[H + i], si * p * (1 - p)), `curvature at z = ${z}`);
      }
    }
  });

  it('two binary losses used in turn each see their own data', () => {
    const y = new Float64Array([0, 1, 1, 0]);
    const a = new BinaryLogisticLoss(data(4, 2, 11), 4, 2, y, null, 1, 'l2', true);
    const b = new BinaryLogisticLoss(data(9, 3, 12), 9, 3, new Float64Array(9).map((_, i) => i % 2), null, 1, 'l2', true);
    const w = new Float64Array([0.3, -0.2, 0.1]);
    const g1 = new Float64Array(3);
    const g2 = new Float64Array(3);
    const fa = a.evaluate(w, g1, null);
    b.evaluate(new Float64Array(4), new Float64Array(4), null);
    assert.equal(a.evaluate(w, g2, null), fa);
    assert.deepEqual(g2, g1);
    assert.equal(a.value(w), fa);
  });

  it('binary loss is finite in both tails (no overflow at |z| = 800)', () => {
    const x = new Float64Array([800, -800]);
    const loss = new BinaryLogisticLoss(x, 2, 1, new Float64Array([0, 1]), null, 1, 'l2', false);
    const w = new Float64Array([1]);
    const g = new Float64Array(1);
    const f = loss.evaluate(w, g, null);
    assert.ok(Number.isFinite(f) && Math.abs(f - (1600 + 0.5)) < 1e-9, `f = ${f}`);
    assert.ok(Number.isFinite(g[0]));
  });
});
