import { type GramKernel, gramKernel, kernelArray } from '../linalg/gram.js';
import type { Objective } from './objective.js';

/**
 * The binary logistic loss of scikit-learn's LogisticRegression, written as the issue states it:
 *
 *   f(w) = C · Σᵢ sᵢ · ℓ(yᵢ, zᵢ) + ½ · ‖coef‖²       penalty 'l2'
 *   f(w) =     Σᵢ sᵢ · ℓ(yᵢ, zᵢ)                      penalty null
 *
 *   zᵢ = xᵢ · coef + intercept,   ℓ(y, z) = log(1 + eᶻ) − y·z,   y ∈ {0, 1} (1 is classes_[1])
 *
 * Parameters w = [coef₀ … coef_{d−1}, intercept]; the intercept slot exists only when
 * fitIntercept is true and is never penalised. scikit-learn 1.2 minimises Σ sᵢℓᵢ + ‖coef‖²/(2C),
 * which is f / C: the same minimiser, so the same model.
 *
 *   ∇f  = C · Σᵢ sᵢ (pᵢ − yᵢ) x̃ᵢ + [coef, 0]
 *   ∇²f = C · Σᵢ sᵢ pᵢ (1 − pᵢ) x̃ᵢ x̃ᵢᵀ + diag(1, …, 1, 0)
 *
 * with x̃ᵢ = [xᵢ, 1] and pᵢ = σ(zᵢ). X is n×d row-major; s defaults to all ones.
 *
 * How the value is summed: ℓ(y, z) = max(z, 0) − y·z + log(1 + e), e = exp(−|z|) (the exponential
 * that pᵢ needs anyway). Unweighted, Σᵢ log(1 + eᵢ) is taken as log1p(q) with q = Πᵢ(1 + eᵢ) − 1,
 * kept as q ← q + e + q·e (every term positive, so q keeps its relative precision in both tails),
 * instead of one log1p per row; the logarithm is flushed into the sum before q could overflow. With
 * sample weights each row's sᵢ·log1p(eᵢ) is added on its own. value, the two-feature path and the
 * JavaScript path sum this way in row order, so they agree to the last bit; the kernel path (from
 * KERNEL_MIN_D features) keeps four such sums and products, row i in the (i mod 4)-th, joined at the
 * end, so it agrees with them to rounding. When every coefficient is zero (the solvers' starting
 * point) every zᵢ is the intercept, and its exponential is taken once.
 */
/**
 * Scratch memory shared by the losses of one thread, so that a worker fitting millions of small
 * groups allocates it once. The loss that last filled it owns it; a loss that finds another owner
 * fills it again before use, so losses used in turn stay correct.
 */
let SCRATCH: Float64Array<ArrayBufferLike> = new Float64Array(1 << 12);
let OWNER: object | null = null;
/** The SIMD kernel (X·w, the per-row exp and σ, Xᵀ·r, the Hessian) pays off from this many coefficients on. */
const KERNEL_MIN_D = 4;
/** Up to this many numbers, X is copied as it is into the kernel's memory and transposed there (32 MiB). */
const STAGE_MAX = 1 << 22;
const KERNEL = gramKernel();

export class BinaryLogisticLoss implements Objective {
  readonly dim: number;
  private readonly scale: number;
  private readonly l2: number;
  /**
   * One allocation: X column by column (d×n, at 0), so the gradient and Hessian sums run over
   * contiguous memory; then per-row scratch: residual sᵢ(pᵢ − yᵢ) (at R), curvature sᵢpᵢ(1 − pᵢ)
   * (at H) and curvature times one column (at HX). With the kernel, after the Gram output (OUT) and
   * w and the gradient sums (W): zᵢ (at Z), yᵢ and sᵢ (at Y and S, copied in by `own`, sᵢ = 1 when
   * unweighted) and eᵢ = exp(−|zᵢ|) (at E), each slot starting at an even index for the SIMD loads.
   */
  private xt: Float64Array<ArrayBufferLike>;
  private readonly R: number;
  private readonly H: number;
  private readonly HX: number;
  /** Where the kernel writes the Hessian's Gram entries (when the kernel is used). */
  private readonly OUT: number;
  private readonly W: number;
  private readonly Z: number;
  private readonly Y: number;
  private readonly S: number;
  private readonly E: number;
  private readonly useKernel: boolean;

  constructor(
    private readonly x: Float64Array,
    private readonly n: number,
    private readonly d: number,
    private readonly y: Float64Array,
    private readonly s: Float64Array | null,
    C: number,
    penalty: 'l2' | null,
    private readonly fitIntercept: boolean,
  ) {
    this.dim = d + (fitIntercept ? 1 : 0);
    this.scale = penalty === 'l2' ? C : 1;
    this.l2 = penalty === 'l2' ? 1 : 0;
    this.R = n * d;
    this.H = n * d + n;
    this.HX = n * d + 2 * n;
    this.OUT = n * d + 3 * n;
    this.W = this.OUT + (d + 1) * (d + 1);
    const n2 = n + (n & 1);
    this.Z = (this.W + 2 * d + 1) & ~1;
    this.Y = this.Z + n2;
    this.S = this.Y + n2;
    this.E = this.S + n2;
    this.useKernel = KERNEL !== null && d >= KERNEL_MIN_D;
    // two features (the demo's shape) are read row by row from X itself: no transposed copy
    this.xt = d === 2 ? x : this.own();
  }

  /**
   * evaluate for two features, in one pass over the rows, with every sum in registers. Each sum
   * runs over the rows in the same order, and each product is formed as in the general path
   * (z = (b + x₀w₀) + x₁w₁, curvature times a column, then times the other), so the results are
   * the same to the last bit: only the loop structure differs.
   */
  private evaluate2(w: Float64Array, grad: Float64Array, hess: Float64Array | null): number {
    const { x, n, y, s, dim, scale } = this;
    const fi = this.fitIntercept;
    const w0 = w[0];
    const w1 = w[1];
    const b = fi ? w[2] : 0;
    let sum = 0;
    let q = 0;
    let logs = 0;
    const zConst = w0 === 0 && w1 === 0;
    const eConst = Math.exp(-Math.abs(b));
    const lConst = Math.log1p(eConst);
    let g0 = 0;
    let g1 = 0;
    let gb = 0;
    let h00 = 0;
    let h01 = 0;
    let h11 = 0;
    let h0b = 0;
    let h1b = 0;
    let hbb = 0;
    for (let i = 0; i < n; i++) {
      const x0 = x[2 * i];
      const x1 = x[2 * i + 1];
      let z = b;
      z += x0 * w0;
      z += x1 * w1;
      const e = zConst ? eConst : Math.exp(-Math.abs(z));
      const inv = 1 / (1 + e);
      const p = z >= 0 ? inv : e * inv;
      const si = s === null ? 1 : s[i];
      const yi = y[i];
      if (s === null) {
        sum += (z > 0 ? z : 0) - yi * z;
        q += e + q * e;
        if (q > 1e300) {
          logs += Math.log1p(q);
          q = 0;
        }
      } else sum += si * ((z > 0 ? z : 0) + (zConst ? lConst : Math.log1p(e)) - yi * z);
      const r = si * (p - yi);
      g0 += r * x0;
      g1 += r * x1;
      gb += r;
      if (hess !== null) {
        const hi = si * p * (1 - p);
        const v0 = hi * x0;
        const v1 = hi * x1;
        h00 += v0 * x0;
        h01 += v0 * x1;
        h11 += v1 * x1;
        h0b += v0;
        h1b += v1;
        hbb += hi;
      }
    }
    const l2 = this.l2;
    grad[0] = scale * g0 + l2 * w0;
    grad[1] = scale * g1 + l2 * w1;
    if (fi) grad[2] = scale * gb;
    if (hess !== null) {
      hess[0] = scale * h00 + l2;
      hess[1] = hess[dim] = scale * h01;
      hess[dim + 1] = scale * h11 + l2;
      if (fi) {
        hess[2] = hess[6] = scale * h0b;
        hess[5] = hess[7] = scale * h1b;
        hess[8] = scale * hbb;
      }
    }
    let pen = 0;
    pen += w0 * w0;
    pen += w1 * w1;
    return scale * (sum + logs + Math.log1p(q)) + 0.5 * l2 * pen;
  }

  /** Makes the shared scratch this loss's: X transposed into it. */
  private own(): Float64Array {
    const { n, d, x } = this;
    // 12: the kernel's scratch for an odd last row; then, with the kernel, X as given (row-major)
    const stage = this.E + n + 12;
    // staging X doubles its footprint in the kernel's memory: only for the small groups it speeds up
    const staged = this.useKernel && n * d <= STAGE_MAX;
    const len = stage + (staged ? n * d : 0);
    if (this.useKernel) {
      // the kernel reads X and writes its sums in its own memory
      SCRATCH = kernelArray(KERNEL as GramKernel, len);
    } else if (SCRATCH.length < len || (KERNEL !== null && SCRATCH.buffer === KERNEL.memory.buffer)) {
      SCRATCH = new Float64Array(Math.max(len, SCRATCH.length * 2));
    }
    const xt = SCRATCH;
    if (staged) {
      // one copy of X into the kernel's memory, transposed there
      xt.set(x.length === n * d ? x : x.subarray(0, n * d), stage);
      (KERNEL as GramKernel).transpose(stage, n, d, 0);
    } else for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) xt[j * n + i] = x[i * d + j];
    if (this.useKernel) {
      const { y, s, Y, S } = this;
      for (let i = 0; i < n; i++) xt[Y + i] = y[i];
      for (let i = 0; i < n; i++) xt[S + i] = s === null ? 1 : s[i];
    }
    OWNER = this;
    return xt;
  }

  value(w: Float64Array): number {
    const { x, n, d, y, s } = this;
    const b = this.fitIntercept ? w[d] : 0;
    let sum = 0;
    let q = 0;
    let logs = 0;
    for (let i = 0; i < n; i++) {
      let z = b;
      const o = i * d;
      for (let j = 0; j < d; j++) z += x[o + j] * w[j];
      const e = Math.exp(-Math.abs(z));
      if (s === null) {
        sum += (z > 0 ? z : 0) - y[i] * z;
        q += e + q * e;
        if (q > 1e300) {
          logs += Math.log1p(q);
          q = 0;
        }
      } else sum += s[i] * ((z > 0 ? z : 0) + Math.log1p(e) - y[i] * z);
    }
    let pen = 0;
    for (let j = 0; j < d; j++) pen += w[j] * w[j];
    return this.scale * (sum + logs + Math.log1p(q)) + 0.5 * this.l2 * pen;
  }

  evaluate(w: Float64Array, grad: Float64Array, hess: Float64Array | null): number {
    if (this.d === 2) return this.evaluate2(w, grad, hess);
    if (OWNER !== this) this.xt = this.own();
    const { x, xt, n, d, y, s, dim, scale, R, H, HX } = this;
    const fi = this.fitIntercept;
    const b = fi ? w[d] : 0;
    let sum = 0;
    let q = 0;
    let logs = 0;
    let gb = 0; // Σ rᵢ, the intercept's gradient / scale
    let zConst = true;
    for (let j = 0; j < d; j++) if (w[j] !== 0) zConst = false;
    const eConst = Math.exp(-Math.abs(b));
    const lConst = Math.log1p(eConst);
    const k = this.useKernel ? (KERNEL as GramKernel) : null;
    const { OUT, W } = this;
    if (k !== null) {
      // z, then e, p, the residual and the curvature, by the SIMD kernel; the value's sums here,
      // and the intercept's gradient Σ rᵢ (in row order, as the JavaScript path adds it)
      const { Z, E } = this;
      for (let j = 0; j < d; j++) xt[W + j] = w[j];
      k.xw(0, n, d, W, b, Z);
      k.logistic(Z, this.Y, this.S, n, R, H, E);
      if (s === null) {
        // four interleaved chains (row i in chain i mod 4), so the product's chain of dependent
        // operations does not set the pace; joined as ((0 ⊕ 1) ⊕ (2 ⊕ 3)) at the end
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        let q0 = 0;
        let q1 = 0;
        let q2 = 0;
        let q3 = 0;
        let i = 0;
        for (; i + 3 < n; i += 4) {
          const z0 = xt[Z + i];
          const z1 = xt[Z + i + 1];
          const z2 = xt[Z + i + 2];
          const z3 = xt[Z + i + 3];
          const e0 = xt[E + i];
          const e1 = xt[E + i + 1];
          const e2 = xt[E + i + 2];
          const e3 = xt[E + i + 3];
          s0 += (z0 > 0 ? z0 : 0) - y[i] * z0;
          s1 += (z1 > 0 ? z1 : 0) - y[i + 1] * z1;
          s2 += (z2 > 0 ? z2 : 0) - y[i + 2] * z2;
          s3 += (z3 > 0 ? z3 : 0) - y[i + 3] * z3;
          gb += xt[R + i];
          gb += xt[R + i + 1];
          gb += xt[R + i + 2];
          gb += xt[R + i + 3];
          q0 += e0 + q0 * e0;
          q1 += e1 + q1 * e1;
          q2 += e2 + q2 * e2;
          q3 += e3 + q3 * e3;
          if (q0 > 1e300 || q1 > 1e300 || q2 > 1e300 || q3 > 1e300) {
            logs += Math.log1p(q0) + Math.log1p(q1) + Math.log1p(q2) + Math.log1p(q3);
            q0 = q1 = q2 = q3 = 0;
          }
        }
        if (i < n) {
          const z = xt[Z + i];
          const e = xt[E + i];
          s0 += (z > 0 ? z : 0) - y[i] * z;
          gb += xt[R + i];
          q0 += e + q0 * e;
        }
        if (i + 1 < n) {
          const z = xt[Z + i + 1];
          const e = xt[E + i + 1];
          s1 += (z > 0 ? z : 0) - y[i + 1] * z;
          gb += xt[R + i + 1];
          q1 += e + q1 * e;
        }
        if (i + 2 < n) {
          const z = xt[Z + i + 2];
          const e = xt[E + i + 2];
          s2 += (z > 0 ? z : 0) - y[i + 2] * z;
          gb += xt[R + i + 2];
          q2 += e + q2 * e;
        }
        sum = s0 + s1 + (s2 + s3);
        if (q0 < 1e75 && q1 < 1e75 && q2 < 1e75 && q3 < 1e75) {
          const a = q0 + q1 + q0 * q1;
          const c = q2 + q3 + q2 * q3;
          q = a + c + a * c;
        } else logs += Math.log1p(q0) + Math.log1p(q1) + Math.log1p(q2) + Math.log1p(q3);
      } else {
        for (let i = 0; i < n; i++) {
          const z = xt[Z + i];
          sum += s[i] * ((z > 0 ? z : 0) + (zConst ? lConst : Math.log1p(xt[E + i])) - y[i] * z);
          gb += xt[R + i];
        }
      }
    } else {
      for (let i = 0; i < n; i++) {
        let z = b;
        if (!zConst) {
          const o = i * d;
          for (let j = 0; j < d; j++) z += x[o + j] * w[j];
        }
        // p = σ(z) and log(1 + eᶻ) from one exponential, stably in both tails
        const e = zConst ? eConst : Math.exp(-Math.abs(z));
        const inv = 1 / (1 + e);
        const p = z >= 0 ? inv : e * inv;
        const si = s === null ? 1 : s[i];
        if (s === null) {
          sum += (z > 0 ? z : 0) - y[i] * z;
          q += e + q * e;
          if (q > 1e300) {
            logs += Math.log1p(q);
            q = 0;
          }
        } else sum += si * ((z > 0 ? z : 0) + (zConst ? lConst : Math.log1p(e)) - y[i] * z);
        xt[R + i] = si * (p - y[i]);
        xt[H + i] = si * p * (1 - p);
      }
    }
    if (k !== null) {
      k.xtr(0, n, d, R, W + d);
      for (let j = 0; j < d; j++) grad[j] = scale * xt[W + d + j] + this.l2 * w[j];
    } else {
      for (let j = 0; j < d; j++) {
        const o = j * n;
        let g = 0;
        for (let i = 0; i < n; i++) g += xt[R + i] * xt[o + i];
        grad[j] = scale * g + this.l2 * w[j];
      }
    }
    if (fi) {
      if (k === null) for (let i = 0; i < n; i++) gb += xt[R + i];
      grad[d] = scale * gb;
    }
    let pen = 0;
    for (let j = 0; j < d; j++) pen += w[j] * w[j];
    if (hess !== null && this.useKernel) {
      (KERNEL as GramKernel).gram(H, 0, n, d, OUT, HX);
      for (let j = 0; j < d; j++) {
        for (let k = j; k < d; k++) hess[j * dim + k] = hess[k * dim + j] = scale * xt[OUT + j * d + k];
        hess[j * dim + j] += this.l2;
        if (fi) hess[j * dim + d] = hess[d * dim + j] = scale * xt[OUT + d * d + j];
      }
      if (fi) hess[d * dim + d] = scale * xt[OUT + d * d + d];
    } else if (hess !== null) {
      for (let j = 0; j < d; j++) {
        const oj = j * n;
        let hsum = 0;
        for (let i = 0; i < n; i++) {
          const v = xt[H + i] * xt[oj + i];
          xt[HX + i] = v;
          hsum += v;
        }
        let k = j;
        for (; k + 3 < d; k += 4) {
          const o0 = k * n;
          const o1 = o0 + n;
          const o2 = o1 + n;
          const o3 = o2 + n;
          let a0 = 0;
          let a1 = 0;
          let a2 = 0;
          let a3 = 0;
          for (let i = 0; i < n; i++) {
            const v = xt[HX + i];
            a0 += v * xt[o0 + i];
            a1 += v * xt[o1 + i];
            a2 += v * xt[o2 + i];
            a3 += v * xt[o3 + i];
          }
          hess[j * dim + k] = hess[k * dim + j] = scale * a0;
          hess[j * dim + k + 1] = hess[(k + 1) * dim + j] = scale * a1;
          hess[j * dim + k + 2] = hess[(k + 2) * dim + j] = scale * a2;
          hess[j * dim + k + 3] = hess[(k + 3) * dim + j] = scale * a3;
        }
        for (; k + 1 < d; k += 2) {
          const o0 = k * n;
          const o1 = o0 + n;
          let a0 = 0;
          let a1 = 0;
          for (let i = 0; i < n; i++) {
            const v = xt[HX + i];
            a0 += v * xt[o0 + i];
            a1 += v * xt[o1 + i];
          }
          hess[j * dim + k] = hess[k * dim + j] = scale * a0;
          hess[j * dim + k + 1] = hess[(k + 1) * dim + j] = scale * a1;
        }
        if (k < d) {
          const o0 = k * n;
          let a0 = 0;
          for (let i = 0; i < n; i++) a0 += xt[HX + i] * xt[o0 + i];
          hess[j * dim + k] = hess[k * dim + j] = scale * a0;
        }
        hess[j * dim + j] += this.l2;
        if (fi) hess[j * dim + d] = hess[d * dim + j] = scale * hsum;
      }
      if (fi) {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += xt[H + i];
        hess[d * dim + d] = scale * acc;
      }
    }
    return scale * (sum + logs + Math.log1p(q)) + 0.5 * this.l2 * pen;
  }
}
