import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LinearRegression, Ridge } from 'manymodels';

function close(a: number, b: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
}

describe('LinearRegression and Ridge against closed-form answers', () => {
  it('recovers an exact linear relation', () => {
    const X = [[1, 2], [2, 1], [3, 5], [4, 3], [5, 8]];
    const y = X.map(([a, b]) => 3 * a - 2 * b + 7);
    const m = new LinearRegression().fit(X, y);
    close(m.coef_[0], 3, 1e-12, 'coef 0');
    close(m.coef_[1], -2, 1e-12, 'coef 1');
    close(m.intercept_, 7, 1e-12, 'intercept');
    close(m.score(X, y), 1, 1e-15, 'R²');
  });

  it('solves a noisy problem like the normal equations', () => {
    // one feature: slope = cov(x, y) / var(x), intercept = ȳ − slope·x̄
    const x = [1, 2, 3, 4, 5, 6];
    const y = [1.1, 1.9, 3.2, 3.9, 5.3, 5.8];
    const xm = x.reduce((a, b) => a + b) / x.length;
    const ym = y.reduce((a, b) => a + b) / y.length;
    let sxy = 0;
    let sxx = 0;
    x.forEach((xi, i) => {
      sxy += (xi - xm) * (y[i] - ym);
      sxx += (xi - xm) ** 2;
    });
    const m = new LinearRegression().fit(x.map((v) => [v]), y);
    close(m.coef_[0], sxy / sxx, 1e-13, 'slope');
    close(m.intercept_, ym - (sxy / sxx) * xm, 1e-13, 'intercept');
    const pred = m.predict(x.map((v) => [v]));
    let ssr = 0;
    let sst = 0;
    y.forEach((yi, i) => {
      ssr += (yi - pred[i]) ** 2;
      sst += (yi - ym) ** 2;
    });
    close(m.score(x.map((v) => [v]), y), 1 - ssr / sst, 1e-14, 'R²');
  });

  it('gives the minimum-norm solution for a duplicated column (rank-deficient design)', () => {
    // y = 4·x: with columns [x, x] every (a, b) with a + b = 4 fits; the minimum-norm one is (2, 2)
    const X = [[1, 1], [2, 2], [3, 3], [5, 5]];
    const y = [4, 8, 12, 20];
    const m = new LinearRegression().fit(X, y);
    close(m.coef_[0], 2, 1e-12, 'coef 0');
    close(m.coef_[1], 2, 1e-12, 'coef 1');
    close(m.intercept_, 0, 1e-12, 'intercept');
    assert.equal(m.rank_, 1);
  });

  it('gives a constant column a zero coefficient', () => {
    const X = [[1, 7], [2, 7], [3, 7], [4, 7]];
    const y = [3, 5, 7, 9];
    const m = new LinearRegression().fit(X, y);
    close(m.coef_[0], 2, 1e-12, 'coef 0');
    close(m.coef_[1], 0, 1e-12, 'constant column');
    close(m.intercept_, 1, 1e-12, 'intercept');
  });

  it('fits without an intercept through the origin', () => {
    const X = [[1], [2], [3]];
    const y = [2, 4.5, 5.5];
    // slope = Σxy / Σx²
    const m = new LinearRegression({ fitIntercept: false }).fit(X, y);
    close(m.coef_[0], (2 + 9 + 16.5) / 14, 1e-14, 'slope');
    assert.equal(m.intercept_, 0);
  });

  it('Ridge solves (XcᵀXc + αI) coef = Xcᵀyc and leaves the intercept unpenalised', () => {
    const X = [[1, 0.5], [2, -1], [3, 2], [4, 0], [0, 1]];
    const y = [1, 3, 2, 5, 0.5];
    const alpha = 0.7;
    const n = X.length;
    const xm = [0, 1].map((j) => X.reduce((s, r) => s + r[j], 0) / n);
    const ym = y.reduce((a, b) => a + b) / n;
    // 2×2 normal equations by Cramer's rule
    let a11 = alpha;
    let a12 = 0;
    let a22 = alpha;
    let b1 = 0;
    let b2 = 0;
    X.forEach((r, i) => {
      const u = r[0] - xm[0];
      const v = r[1] - xm[1];
      a11 += u * u;
      a12 += u * v;
      a22 += v * v;
      b1 += u * (y[i] - ym);
      b2 += v * (y[i] - ym);
    });
    const det = a11 * a22 - a12 * a12;
    const c1 = (b1 * a22 - a12 * b2) / det;
    const c2 = (a11 * b2 - a12 * b1) / det;
    const m = new Ridge({ alpha }).fit(X, y);
    close(m.coef_[0], c1, 1e-13, 'coef 0');
    close(m.coef_[1], c2, 1e-13, 'coef 1');
    close(m.intercept_, ym - c1 * xm[0] - c2 * xm[1], 1e-13, 'intercept');
  });

  it('Ridge with a sample weight of 2 equals the row repeated', () => {
    const X = [[1, 2], [2, 0], [3, 1], [4, 4]];
    const y = [1, 2, 2, 5];
    const a = new Ridge({ alpha: 0.5 }).fit(X, y, [1, 2, 1, 1]);
    const b = new Ridge({ alpha: 0.5 }).fit([...X, X[1]], [...y, y[1]]);
    a.coef_.forEach((c, j) => close(c, b.coef_[j], 1e-12, `coef ${j}`));
    close(a.intercept_, b.intercept_, 1e-12, 'intercept');
  });

  it('R² of a constant target follows scikit-learn (1 when exact, else 0)', () => {
    const m = new LinearRegression().fit([[1], [2], [3]], [5, 5, 5]);
    assert.equal(m.score([[1], [2], [3]], [5, 5, 5]), 1);
    // scikit-learn's r2_score (force_finite): a constant target predicted inexactly scores 0
    assert.equal(m.score([[1], [2], [3]], [7, 7, 7]), 0);
    // and a target that is not constant: 1 − SSres/SStot = 1 − 1/(2/3)
    assert.ok(Math.abs(m.score([[1], [2], [3]], [5, 5, 6]) - -0.5) <= 1e-15);
  });
});
