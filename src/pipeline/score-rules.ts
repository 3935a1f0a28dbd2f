import { LogisticRegression, argmax, softmaxInto } from '../estimators/logistic-regression.js';
import type { Estimator } from '../estimators/registry.js';
import { sigmoid } from '../loss/objective.js';

/** One row's scores; null where the row has no honest answer. */
export interface RowScore {
  /** P(classes[1]) for a binary classifier, the largest class probability for a multiclass one. */
  probability: number | null;
  prediction: number | string | null;
  /** Per-class probabilities (classifiers). */
  probabilities: Float64Array | null;
}

const NONE: RowScore = Object.freeze({ probability: null, prediction: null, probabilities: null }) as RowScore;

/**
 * Scores one feature vector with a linear model under the rules the SQL functions follow
 * (sql/scoring.ts), so that both engines give the same answer for every input:
 *
 * - x must hold exactly the model's number of finite features (the caller passes NULL elements as NaN);
 *   otherwise the row is not scored.
 * - z = b + x₁·w₁ + … + x_d·w_d in IEEE-754 double precision, left to right: a huge x overflows
 *   to ±Infinity, which gives a binary classifier probability 1 / 0 (the limit) and that class.
 * - A NaN score (an overflow of both signs) has no answer; nor has a multiclass row whose largest
 *   score is +Infinity more than once, nor a regressor whose value overflows.
 */
export function scoreLinear(m: Estimator, x: Float64Array): RowScore {
  if (x.length !== m.nFeaturesIn_) return NONE;
  for (let j = 0; j < x.length; j++) if (!Number.isFinite(x[j])) return NONE;
  const mat = { data: x, rows: 1, cols: x.length };
  if (!(m instanceof LogisticRegression)) {
    const v = m.predictFlat(mat)[0];
    return Number.isFinite(v) ? { probability: null, prediction: v, probabilities: null } : NONE;
  }
  const z = m.decisionFlat(mat);
  const K = m.classes_.length;
  for (let k = 0; k < z.length; k++) if (Number.isNaN(z[k])) return NONE;
  if (K === 2) {
    const p = sigmoid(z[0]);
    return { probability: p, prediction: m.classes_[z[0] > 0 ? 1 : 0] as number | string, probabilities: Float64Array.of(1 - p, p) };
  }
  let inf = 0;
  for (let k = 0; k < K; k++) if (z[k] === Infinity) inf++;
  const best = argmax(z, 0, K);
  if (inf > 1 || z[best] === -Infinity) return NONE;
  const all = new Float64Array(K);
  if (inf === 1) all[best] = 1;
  else softmaxInto(z, 0, K, all);
  return { probability: all[best], prediction: m.classes_[best] as number | string, probabilities: all };
}
