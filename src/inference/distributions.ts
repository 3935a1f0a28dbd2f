/**
 * The distribution functions that p-values need, in double precision, without dependencies:
 * the standard normal and Student's t, through the regularised incomplete gamma and beta
 * functions (series and Lentz continued fractions, as in Numerical Recipes §6.2 and §6.4) and
 * ln Γ (Lanczos, g = 7). Accurate to about 1e-14 relative for the arguments p-values meet
 * (tested against SciPy's values).
 */

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const EPS = 1e-16;
const TINY = 1e-300;

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let s = LANCZOS[0];
  for (let i = 1; i < 9; i++) s += LANCZOS[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

/** Stirling's series of ln Γ(x) − ((x − ½) ln x − x + ½ ln 2π), for x ≥ 15. */
function stirlingTail(x: number): number {
  const r = 1 / (x * x);
  return (1 / 12 - r * (1 / 360 - r * (1 / 1260 - r / 1680))) / x;
}

/**
 * ln Γ(a + b) − ln Γ(a) − ln Γ(b): for a large beside b (Student's t with many degrees of freedom:
 * a = df / 2, b = ½) the difference is taken inside Stirling's series, so that it keeps its
 * relative precision instead of cancelling two numbers of size a·ln a.
 */
function logInverseBeta(a: number, b: number): number {
  if (a < b) return logInverseBeta(b, a);
  if (a < 15) return logGamma(a + b) - logGamma(a) - logGamma(b);
  return (a - 0.5) * Math.log1p(b / a) + b * Math.log(a + b) - b + stirlingTail(a + b) - stirlingTail(a) - logGamma(b);
}

/** The regularised upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a), for a > 0, x ≥ 0. */
export function gammaQ(a: number, x: number): number {
  if (!(x > 0)) return x === 0 ? 1 : Number.NaN;
  if (x === Infinity) return 0;
  const front = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    // series for P(a, x)
    let ap = a;
    let del = 1 / a;
    let sum = del;
    for (let n = 0; n < 10000; n++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * EPS) break;
    }
    return 1 - sum * Math.exp(front);
  }
  // continued fraction for Q(a, x)
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return Math.exp(front) * h;
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < 10000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return h;
}

/**
 * The regularised incomplete beta function I_x(a, b), for a, b > 0 and 0 ≤ x ≤ 1. `y` is 1 − x,
 * when the caller knows it more precisely than 1 − x can be computed (x close to 1).
 */
export function betaI(a: number, b: number, x: number, y = 1 - x): number {
  if (!(x >= 0 && x <= 1)) return Number.NaN;
  if (x === 0 || x === 1) return x;
  const front = Math.exp(logInverseBeta(a, b) + a * (y < 0.5 ? Math.log1p(-y) : Math.log(x)) + b * (x < 0.5 ? Math.log1p(-x) : Math.log(y)));
  // the continued fraction converges fast for x < (a + 1) / (a + b + 2); else use the symmetry
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, y)) / b;
}

/** Φ(x), the standard normal distribution function. */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  // Φ(x) = Q(1/2, x²/2) / 2 for x < 0; the upper tail is computed directly, without cancellation
  const tail = 0.5 * gammaQ(0.5, (x * x) / 2);
  return x < 0 ? tail : 1 - tail;
}

/** The two-sided p-value of a standard normal statistic: P(|Z| ≥ |z|) = 2·Φ(−|z|). */
export function normalTwoSided(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  return gammaQ(0.5, (z * z) / 2);
}

/** The distribution function of Student's t with `df` > 0 degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return Number.NaN;
  const tail = 0.5 * studentTTwoSided(t, df);
  return t < 0 ? tail : 1 - tail;
}

/** The two-sided p-value of a t statistic with `df` > 0 degrees of freedom: P(|T| ≥ |t|). */
export function studentTTwoSided(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return Number.NaN;
  if (!Number.isFinite(t)) return 0;
  // P(|T| ≥ |t|) = I_x(df / 2, 1 / 2) with x = df / (df + t²), and 1 − x = t² / (df + t²) exactly
  const t2 = t * t;
  return betaI(df / 2, 0.5, df / (df + t2), t2 / (df + t2));
}
