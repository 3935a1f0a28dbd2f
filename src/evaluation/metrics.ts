/**
 * Held-out metrics, as scikit-learn 1.2 computes them, on one fold's held-out rows. Pure: no Node,
 * no database. Every function returns NaN where scikit-learn's scorer fails (and GridSearchCV
 * records error_score = NaN): see each function.
 *
 * Classification inputs: `yIdx[i]` is the index of row i's class in the fitted model's classes_
 * (−1 for a class the model never saw), `proba` the model's n×K probabilities (classes_ order),
 * `z` its decision values (n×1 for two classes).
 */

/** The metrics a classifier's evaluation stores, in this order. */
export const CLASSIFICATION_METRICS = ['log_loss', 'roc_auc', 'brier', 'accuracy'] as const;
/** The metrics a regressor's evaluation stores, in this order; `mse` is kept for the scoring neg_mean_squared_error only. */
export const REGRESSION_METRICS = ['r2', 'rmse', 'mae'] as const;
export type MetricName = (typeof CLASSIFICATION_METRICS)[number] | (typeof REGRESSION_METRICS)[number];

const EPS = 2.220446049250313e-16; // np.finfo(float64).eps: log_loss's clipping in scikit-learn 1.2

/** Whether the held-out rows hold every class of the model and no other (scikit-learn's log_loss and roc_auc need that). */
export function sameClasses(yIdx: Int32Array, K: number): boolean {
  const seen = new Uint8Array(K);
  let count = 0;
  for (let i = 0; i < yIdx.length; i++) {
    const k = yIdx[i];
    if (k < 0) return false;
    if (seen[k] === 0) {
      seen[k] = 1;
      count++;
    }
  }
  return count === K;
}

/**
 * log_loss(y, proba): each probability clipped to [eps, 1 − eps], rows renormalised, the mean of
 * −log p(true class). NaN unless the held-out rows hold exactly the model's classes (scikit-learn
 * raises: "y_true contains only one label", "different number of classes").
 */
export function logLoss(yIdx: Int32Array, proba: Float64Array, K: number): number {
  const n = yIdx.length;
  if (n === 0 || !sameClasses(yIdx, K)) return NaN;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let s: number;
    let p: number;
    if (K === 2) {
      // scikit-learn clips the positive column and rebuilds the other as 1 − p
      const p1 = clip(proba[2 * i + 1]);
      const p0 = 1 - p1;
      s = p0 + p1;
      p = yIdx[i] === 1 ? p1 : p0;
    } else {
      s = 0;
      for (let k = 0; k < K; k++) s += clip(proba[i * K + k]);
      p = clip(proba[i * K + yIdx[i]]);
    }
    sum += -Math.log(p / s);
  }
  return sum / n;
}

function clip(p: number): number {
  return p < EPS ? EPS : p > 1 - EPS ? 1 - EPS : p;
}

/**
 * ROC AUC: binary, on the decision values z (scikit-learn's roc_auc scorer uses decision_function);
 * three or more classes, one-vs-rest with the macro average on the probabilities (roc_auc_ovr).
 * Tied scores count one half (the trapezoidal ROC). NaN when the held-out rows lack one of the
 * model's classes (scikit-learn: "Only one class present in y_true"), or hold a class it lacks.
 */
export function rocAuc(yIdx: Int32Array, proba: Float64Array, z: Float64Array, K: number): number {
  if (!sameClasses(yIdx, K)) return NaN;
  const n = yIdx.length;
  if (K === 2) return aucOf(n, (i) => z[i], (i) => yIdx[i] === 1);
  let sum = 0;
  for (let k = 0; k < K; k++) sum += aucOf(n, (i) => proba[i * K + k], (i) => yIdx[i] === k);
  return sum / K;
}

/** The Mann–Whitney form of the AUC: P(score of a positive > score of a negative), ties one half. */
function aucOf(n: number, score: (i: number) => number, positive: (i: number) => boolean): number {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => score(a) - score(b));
  let rankSumPos = 0;
  let nPos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && score(order[j + 1]) === score(order[i])) j++;
    const avgRank = (i + j) / 2 + 1; // ranks i+1 .. j+1, averaged
    for (let t = i; t <= j; t++) {
      if (positive(order[t])) {
        rankSumPos += avgRank;
        nPos++;
      }
    }
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * Brier score. Two classes: scikit-learn's brier_score_loss, the mean of (1[y = classes_[1]] − p₁)².
 * Three or more (scikit-learn 1.2 has no multiclass Brier score): the mean over rows of
 * Σₖ (pₖ − 1[y = k])², Brier's own definition (for two classes it is twice the binary one).
 * NaN when a held-out row's class is unknown to the model.
 */
export function brier(yIdx: Int32Array, proba: Float64Array, K: number): number {
  const n = yIdx.length;
  if (n === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (yIdx[i] < 0) return NaN;
    if (K === 2) {
      const d = (yIdx[i] === 1 ? 1 : 0) - proba[2 * i + 1];
      sum += d * d;
    } else {
      for (let k = 0; k < K; k++) {
        const d = (yIdx[i] === k ? 1 : 0) - proba[i * K + k];
        sum += d * d;
      }
    }
  }
  return sum / n;
}

/** The fraction of held-out rows whose predicted class (z > 0 for two classes, argmax z otherwise) is their class. */
export function accuracy(yIdx: Int32Array, z: Float64Array, K: number): number {
  const n = yIdx.length;
  if (n === 0) return NaN;
  let hit = 0;
  const R = K === 2 ? 1 : K;
  for (let i = 0; i < n; i++) {
    let pred: number;
    if (R === 1) pred = z[i] > 0 ? 1 : 0;
    else {
      pred = 0;
      for (let k = 1; k < R; k++) if (z[i * R + k] > z[i * R + pred]) pred = k;
    }
    if (pred === yIdx[i]) hit++;
  }
  return hit / n;
}

/**
 * Regression metrics of one fold: r2_score (NaN with fewer than 2 rows, as scikit-learn; a
 * constant target scores 1 if predicted exactly, else 0), root mean squared error, mean absolute
 * error, mean squared error.
 */
export function regressionMetrics(y: ArrayLike<number>, pred: Float64Array): { r2: number; rmse: number; mae: number; mse: number } {
  const n = y.length;
  if (n === 0) return { r2: NaN, rmse: NaN, mae: NaN, mse: NaN };
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i];
  mean /= n;
  let ssRes = 0;
  let ssTot = 0;
  let abs = 0;
  for (let i = 0; i < n; i++) {
    const e = y[i] - pred[i];
    ssRes += e * e;
    abs += Math.abs(e);
    ssTot += (y[i] - mean) ** 2;
  }
  const r2 = n < 2 ? NaN : ssTot === 0 ? (ssRes === 0 ? 1 : 0) : 1 - ssRes / ssTot;
  return { r2, rmse: Math.sqrt(ssRes / n), mae: abs / n, mse: ssRes / n };
}
