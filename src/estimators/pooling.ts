import { InvalidInputError, InvalidParameterError, ManyModelsError, SolverError } from '../errors.js';
import { BinaryLogisticLoss } from '../loss/binary-logistic.js';
import { log1pExp } from '../loss/objective.js';
import { PriorCentredObjective } from '../loss/prior-centred.js';
import { lbfgs } from '../optim/lbfgs.js';
import { newton } from '../optim/newton.js';
import type { MinimizeResult } from '../optim/result.js';
import { type Label, type LabelInput, type MatrixInput, toMatrix, toWeights } from './input.js';
import { LogisticRegression, type LogisticRegressionParams } from './logistic-regression.js';
import { positiveInteger, positiveNumber } from './params.js';

/**
 * Partial pooling of binary LogisticRegression models: each group's model is fitted with its
 * penalty centred on a global model (fitted on every group's rows) instead of on zero,
 *
 *   Σᵢ sᵢ·ℓ(yᵢ, zᵢ) + ‖coef − coef_global‖² / (2C) + (b − b_global)² / (2C_b)
 *
 * (the math is in loss/prior-centred.ts). C is the pooling strength, shared by every group and by
 * default chosen by K-fold cross-validation summed over all groups (SharedCSearch); C_b is the
 * intercept's own strength (by default equal to C).
 */

/** The centre of the prior: the global model's two classes and parameters. */
export interface PoolPrior {
  /** The two classes, in the global model's order (the second is the positive class). */
  classes: readonly [Label, Label];
  coef: readonly number[];
  intercept: number;
  /** Whether the models have an intercept (the global model's fitIntercept). Default true. */
  fitIntercept?: boolean;
}

/** How the pooling strength was set: given, or chosen by K-fold cross-validation over all groups. */
export interface PoolChoice {
  C: number;
  /** The intercept's own strength C_b. */
  interceptC: number;
  chosenBy: 'given' | 'cv';
  /** cv: folds per group, the groups and held-out rows it used, and the mean held-out log loss per candidate C. */
  folds?: number;
  groups?: number;
  rows?: number;
  curve?: { C: number; logLoss: number }[];
}

/** What a pooled model records in its document (the `pool` field). */
export interface PoolState {
  /** 'global': the penalty is centred on the global model. */
  centre: 'global';
  C: number;
  interceptC: number;
  chosenBy: 'given' | 'cv';
  /** The global model's parameters (the prior's centre). */
  global: { coef: number[]; intercept: number };
  /**
   * false when the group could not have been fitted alone (one class, or fewer rows than the
   * run's minimum): its model is the global one pulled towards its few rows, marked `pooled`.
   */
  alone: boolean;
}

/** The default grid of candidate C: 10^(k/4) for k = −12 … 12 (1e-3 to 1e3, 25 values). */
export const DEFAULT_POOL_GRID: readonly number[] = Object.freeze(Array.from({ length: 25 }, (_, k) => 10 ** ((k - 12) / 4)));

const NAME = 'PooledLogisticRegression';

export interface PooledParams {
  /** Pooling strength C of ‖coef − coef_global‖² / (2C): small keeps the global model, large fits the group alone. */
  C: number;
  /** The intercept's strength C_b; default C. */
  interceptC?: number;
  maxIter?: number;
  tol?: number;
}

/**
 * A binary LogisticRegression whose penalty is centred on a prior (the global model). It is a
 * LogisticRegression in every other way (predictProba, its documents, SQL scoring): params.C is
 * the pooling strength and the document's `pool` field records the centre.
 */
export class PooledLogisticRegression extends LogisticRegression {
  readonly prior: PoolPrior;
  readonly interceptC: number;
  pool_: PoolState | null = null;

  constructor(prior: PoolPrior, params: PooledParams) {
    super({ C: params.C, maxIter: params.maxIter, tol: params.tol, fitIntercept: prior.fitIntercept ?? true } satisfies LogisticRegressionParams);
    this.interceptC = positiveNumber(NAME, 'interceptC', params.interceptC ?? params.C);
    checkPrior(prior);
    this.prior = prior;
  }

  /** Fits on labels of the prior's classes (a group may hold one of them only, or no row at all). */
  override fit(X: MatrixInput, y: LabelInput, sampleWeight?: readonly number[] | Float64Array | null): this {
    const m = toMatrix(X);
    const y01 = encodeAgainst(this.prior.classes, y, m.rows);
    return this.fitEncoded(m.data, m.rows, m.cols, y01, toWeights(sampleWeight, m.rows));
  }

  /** fit on a validated row-major block and 0/1 labels (1 = classes[1]); rows may be 0. */
  fitEncoded(x: Float64Array, n: number, d: number, y01: Float64Array, sw: Float64Array | null = null): this {
    if (d !== this.prior.coef.length) {
      throw new InvalidInputError('FEATURE_COUNT_MISMATCH', `X has ${d} features, but the global model has ${this.prior.coef.length}`, 'pass the same feature columns as the global model was fitted on');
    }
    const w = centreOf(this.prior);
    const res = fitWithPrior(x, n, d, y01, sw, this.prior, this.C, this.interceptC, this.maxIter, w);
    this.coef_ = [Array.from(w.subarray(0, d))];
    this.intercept_ = [this.fitIntercept ? w[d] : 0];
    this.classes_ = [this.prior.classes[0], this.prior.classes[1]];
    this.nFeaturesIn_ = d;
    this.nIter_ = res.nIter;
    this.converged_ = res.stationary || res.gradInf / this.C <= this.tol;
    this.separated_ = false;
    let has0 = false;
    let has1 = false;
    for (let i = 0; i < n; i++) {
      if (sw !== null && !(sw[i] > 0)) continue;
      if (y01[i] === 1) has1 = true;
      else has0 = true;
    }
    this.pool_ = {
      centre: 'global',
      C: this.C,
      interceptC: this.interceptC,
      chosenBy: 'given',
      global: { coef: this.prior.coef.slice(), intercept: this.prior.intercept },
      alone: has0 && has1,
    };
    return this;
  }
}

function checkPrior(p: PoolPrior): void {
  if (!Array.isArray(p.classes) || p.classes.length !== 2 || p.classes[0] === p.classes[1]) {
    throw new InvalidParameterError(`${NAME} prior.classes must be two distinct labels`, 'pooling supports binary LogisticRegression only');
  }
  if (!Array.isArray(p.coef) || p.coef.length < 1) throw new InvalidParameterError(`${NAME} prior.coef must be an array of at least one number`);
  for (const v of [...p.coef, p.intercept]) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidParameterError(`${NAME} prior coefficients must be finite numbers, got ${String(v)}`);
  }
}

/** The prior's parameters as a starting point / centre: [coef…, intercept] (intercept only when fitted). */
function centreOf(p: PoolPrior): Float64Array {
  const fi = p.fitIntercept ?? true;
  const c = new Float64Array(p.coef.length + (fi ? 1 : 0));
  c.set(p.coef);
  if (fi) c[p.coef.length] = p.intercept;
  return c;
}

/** 0/1 labels against the prior's classes; a label of neither class is an error. */
export function encodeAgainst(classes: readonly [Label, Label], y: LabelInput, n: number): Float64Array {
  if (y.length !== n) throw new InvalidInputError('LENGTH_MISMATCH', `y has ${y.length} labels but X has ${n} rows`);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (v === classes[1]) out[i] = 1;
    else if (v !== classes[0]) {
      throw new InvalidInputError('INVALID_LABEL', `label ${JSON.stringify(v)} is neither of the global model's classes ${JSON.stringify(classes[0])} and ${JSON.stringify(classes[1])}`, 'every group must use the classes of the whole table');
    }
  }
  return out;
}

/**
 * Minimises C·Σ sᵢℓᵢ + ½‖coef − c‖² + ½(C/C_b)(b − c_b)² from the start point w (overwritten with
 * the minimiser): Newton's method, L-BFGS if the Hessian cannot be used.
 */
function fitWithPrior(
  x: Float64Array,
  n: number,
  d: number,
  y01: Float64Array,
  sw: Float64Array | null,
  prior: PoolPrior,
  C: number,
  interceptC: number,
  maxIter: number,
  w: Float64Array,
): MinimizeResult {
  const fi = prior.fitIntercept ?? true;
  const data = new BinaryLogisticLoss(x, n, d, y01, sw, 1, null, fi);
  const precision = new Float64Array(data.dim).fill(1);
  if (fi) precision[d] = C / interceptC;
  const obj = new PriorCentredObjective(data, C, centreOf(prior), precision);
  const start = w.slice();
  let res = newton(obj, w, { maxIter });
  if (res.reason === 'singular' || res.reason === 'non-finite' || (res.reason === 'no-progress' && !res.stationary)) {
    w.set(start);
    const fb = lbfgs(obj, w, { maxIter, gtol: 1e-10 * C });
    res = { ...fb, nIter: fb.nIter + res.nIter };
  }
  for (let j = 0; j < w.length; j++) if (!Number.isFinite(w[j])) throw new SolverError(`the solver found no finite optimum (stopped: ${res.reason})`);
  return res;
}

/** One group's rows for the search: a row-major block and 0/1 labels. */
export interface PoolGroup {
  x: Float64Array;
  rows: number;
  cols: number;
  y01: Float64Array;
}

export interface SharedCSearchOptions {
  /** Candidate values of C, any order (default DEFAULT_POOL_GRID). */
  grid?: readonly number[];
  /** Folds per group (default 5; a group of fewer rows is split leave-one-out). */
  folds?: number;
  /** The intercept's strength: a number, or 'same' (default) for C_b = C. */
  interceptC?: number | 'same';
  maxIter?: number;
}

/**
 * Chooses one pooling strength C for all groups: every group's rows are split into K folds; for
 * each fold and each candidate C the group is fitted on the other folds (centred on the global
 * model) and its held-out rows scored by log loss; the losses are summed over every fold of every
 * group, and the C with the smallest sum wins. Groups are added one at a time, so the search
 * holds only its sums. (Per-group choices, from 5 to 20 rows, are too noisy to be worth having;
 * a shared one borrows the evidence of all groups: see the README's benchmark.)
 *
 * The global model is the centre for every fold; it was fitted on all rows, held-out ones
 * included, which with many groups moves it by a negligible amount.
 */
export class SharedCSearch {
  readonly grid: number[];
  readonly folds: number;
  private readonly interceptC: number | 'same';
  private readonly maxIter: number;
  private readonly loss: Float64Array;
  private nRows = 0;
  private nGroups = 0;

  constructor(
    private readonly prior: PoolPrior,
    opts: SharedCSearchOptions = {},
  ) {
    checkPrior(prior);
    this.grid = [...(opts.grid ?? DEFAULT_POOL_GRID)].sort((a, b) => a - b);
    if (this.grid.length === 0) throw new InvalidParameterError('the grid of pooling strengths is empty', 'give at least one C > 0');
    for (const c of this.grid) positiveNumber(NAME, 'C (grid)', c);
    this.folds = opts.folds ?? 5;
    if (positiveInteger(NAME, 'folds', this.folds) < 2) throw new InvalidParameterError(`${NAME} parameter 'folds' must be an integer ≥ 2, got ${this.folds}`);
    this.interceptC = opts.interceptC ?? 'same';
    if (this.interceptC !== 'same') positiveNumber(NAME, 'interceptC', this.interceptC);
    this.maxIter = opts.maxIter ?? 100;
    this.loss = new Float64Array(this.grid.length);
  }

  /** Adds one group's held-out losses, for every candidate C. */
  add(g: PoolGroup): void {
    const { rows: n, cols: d } = g;
    if (d !== this.prior.coef.length) throw new InvalidInputError('FEATURE_COUNT_MISMATCH', `a group has ${d} features, the global model ${this.prior.coef.length}`);
    this.nGroups++;
    if (n === 0) return;
    const k = Math.min(this.folds, n);
    const fold = foldAssignment(n, k, this.nGroups);
    const fi = this.prior.fitIntercept ?? true;
    const trainX = new Float64Array(n * d);
    const trainY = new Float64Array(n);
    const w = new Float64Array(d + (fi ? 1 : 0));
    for (let f = 0; f < k; f++) {
      let m = 0;
      for (let i = 0; i < n; i++) {
        if (fold[i] === f) continue;
        trainX.set(g.x.subarray(i * d, i * d + d), m * d);
        trainY[m++] = g.y01[i];
      }
      w.set(centreOf(this.prior));
      for (let c = 0; c < this.grid.length; c++) {
        const C = this.grid[c];
        // warm start: the previous (smaller) C's solution
        fitWithPrior(trainX, m, d, trainY, null, this.prior, C, this.interceptC === 'same' ? C : this.interceptC, this.maxIter, w);
        let sum = 0;
        for (let i = 0; i < n; i++) {
          if (fold[i] !== f) continue;
          let z = fi ? w[d] : 0;
          for (let j = 0; j < d; j++) z += g.x[i * d + j] * w[j];
          sum += log1pExp(z) - g.y01[i] * z;
        }
        this.loss[c] += sum;
      }
    }
    this.nRows += n;
  }

  /** The C with the smallest summed held-out log loss (the smaller C on a tie), and the curve. */
  result(): PoolChoice {
    if (this.nRows === 0) throw new ManyModelsError('NO_GROUPS', 'the pooling strength cannot be chosen: no group has a usable row', 'give the pooling strength (poolC) instead');
    let best = 0;
    for (let c = 1; c < this.grid.length; c++) if (this.loss[c] < this.loss[best]) best = c;
    const C = this.grid[best];
    return {
      C,
      interceptC: this.interceptC === 'same' ? C : this.interceptC,
      chosenBy: 'cv',
      folds: this.folds,
      groups: this.nGroups,
      rows: this.nRows,
      curve: this.grid.map((c, i) => ({ C: c, logLoss: this.loss[i] / this.nRows })),
    };
  }
}

/**
 * Fold of each of n rows: a seeded shuffle (xorshift32 from the seed) dealt round-robin, so the
 * folds' sizes differ by at most one and every fold has a row when n ≥ k.
 */
export function foldAssignment(n: number, k: number, seed: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const j = s % (i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const fold = new Int32Array(n);
  for (let r = 0; r < n; r++) fold[order[r]] = r % k;
  return fold;
}

export interface FitPooledOptions {
  /** Parameters of the global LogisticRegression (default C = 1). */
  params?: LogisticRegressionParams;
  /** The pooling strength: a number, or 'cv' (default) to choose one for all groups by K-fold CV. */
  C?: number | 'cv';
  /** The intercept's strength: a number, or 'same' (default) for C_b = C. */
  interceptC?: number | 'same';
  folds?: number;
  grid?: readonly number[];
}

export interface FitPooledResult {
  global: LogisticRegression;
  choice: PoolChoice;
  /** One model per group, in the order given. */
  models: PooledLogisticRegression[];
}

/**
 * The whole of partial pooling on arrays: the global model on every group's rows, the shared C
 * (given, or by K-fold CV over all groups), then each group's model centred on the global one.
 */
export function fitPooled(groups: readonly { X: MatrixInput; y: LabelInput }[], opts: FitPooledOptions = {}): FitPooledResult {
  if (groups.length === 0) throw new InvalidInputError('EMPTY_INPUT', 'no groups given');
  const mats = groups.map((g) => toMatrix(g.X));
  const d = mats[0].cols;
  let total = 0;
  for (const m of mats) {
    if (m.cols !== d) throw new InvalidInputError('SHAPE_MISMATCH', `groups have ${d} and ${m.cols} features`);
    total += m.rows;
  }
  const allX = new Float64Array(total * d);
  const allY: Label[] = [];
  let off = 0;
  groups.forEach((g, i) => {
    allX.set(mats[i].data.subarray(0, mats[i].rows * d), off);
    off += mats[i].rows * d;
    if (g.y.length !== mats[i].rows) throw new InvalidInputError('LENGTH_MISMATCH', `group ${i}: y has ${g.y.length} labels but X has ${mats[i].rows} rows`);
    for (let r = 0; r < g.y.length; r++) allY.push(g.y[r] as Label);
  });
  const global = new LogisticRegression(opts.params ?? {}).fit({ data: allX, rows: total, cols: d }, allY);
  const prior = priorOf(global);
  const encoded = groups.map((g, i) => ({ x: mats[i].data, rows: mats[i].rows, cols: d, y01: encodeAgainst(prior.classes, g.y, mats[i].rows) }));
  let choice: PoolChoice;
  const Cgiven = opts.C ?? 'cv';
  if (Cgiven === 'cv') {
    const search = new SharedCSearch(prior, { grid: opts.grid, folds: opts.folds, interceptC: opts.interceptC, maxIter: global.maxIter });
    for (const g of encoded) search.add(g);
    choice = search.result();
  } else {
    positiveNumber(NAME, 'C', Cgiven);
    const Cb = opts.interceptC ?? 'same';
    choice = { C: Cgiven, interceptC: Cb === 'same' ? Cgiven : positiveNumber(NAME, 'interceptC', Cb), chosenBy: 'given' };
  }
  const models = encoded.map((g) => pooledModel(prior, choice, global.maxIter, global.tol).fitEncoded(g.x, g.rows, g.cols, g.y01));
  for (const m of models) if (m.pool_ !== null) m.pool_.chosenBy = choice.chosenBy;
  return { global, choice, models };
}

/** A PooledLogisticRegression for a chosen strength. */
export function pooledModel(prior: PoolPrior, choice: PoolChoice, maxIter?: number, tol?: number): PooledLogisticRegression {
  return new PooledLogisticRegression(prior, { C: choice.C, interceptC: choice.interceptC, maxIter, tol });
}

/** The prior a fitted binary LogisticRegression gives; multinomial models are refused. */
export function priorOf(global: LogisticRegression): PoolPrior {
  if (global.classes_.length !== 2) {
    throw new ManyModelsError(
      'UNSUPPORTED',
      `partial pooling supports binary LogisticRegression only, but the label has ${global.classes_.length} classes`,
      'train without pooling, or pool a binary label (one class against the rest) in a query',
    );
  }
  return { classes: [global.classes_[0], global.classes_[1]], coef: global.coef_[0].slice(), intercept: global.intercept_[0], fitIntercept: global.fitIntercept };
}
