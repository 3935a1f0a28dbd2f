import { InvalidInputError, ManyModelsError, UsageError } from '../errors.js';
import type { Estimator } from '../estimators/registry.js';
import { sigmoid } from '../loss/objective.js';
import { type CompiledModel, featuresOf, type Prediction, predictOf, probaOf, type RawValue } from './compiled.js';

/**
 * A group key as the scorer takes it: the value of the one key column, or an array with one value
 * per key column (composite keys). Keys are matched by PostgreSQL's text output of the stored key
 * (what `manymodels sql` prints): integers and text as written, a boolean as true / false, a numeric
 * as stored (1.50 is not 1.5), a date as '2024-05-01'.
 */
export type GroupKey = string | number | bigint | boolean | null | readonly (string | number | bigint | boolean | null)[];

/** Where a bounded scorer finds the models it does not hold: by canonical key, null for no model. */
export interface ModelSource {
  fetch(keys: readonly (readonly (string | null)[])[]): Promise<(CompiledModel | null)[]>;
}

function part(v: string | number | bigint | boolean | null): string | null {
  if (v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return String(v);
}

/** The key's parts as text, one per key column. */
export function keyParts(key: GroupKey, width: number): (string | null)[] {
  const parts = Array.isArray(key) ? (key as readonly (string | number | bigint | boolean | null)[]).map(part) : [part(key as string | number | bigint | boolean | null)];
  if (parts.length !== width) {
    throw new UsageError(
      `a group key of this models table has ${width} column(s), got ${parts.length} value(s): ${JSON.stringify(parts)}`,
      width === 1 ? 'pass the key value itself' : 'pass an array with one value per key column, in the table\'s key order',
      'INVALID_OPTION',
    );
  }
  return parts;
}

/** The map key of a key's parts: the text itself for one column (NULL as '\u0000'), JSON for several. */
export function canonicalKey(parts: readonly (string | null)[]): string {
  return parts.length === 1 ? (parts[0] ?? '\u0000') : JSON.stringify(parts);
}

export interface ScorerInfo {
  /** The models table's group key columns, in order. */
  readonly group: readonly string[];
  readonly estimator: string;
  /** Features each model reads, in order. */
  readonly features: readonly string[];
  /** One key column of an integer type (smallint, integer, bigint): a number key is looked up without making text of it. */
  readonly integerKey?: boolean;
}

/**
 * Scores feature vectors in this process with the models of a models table, decoded once.
 *
 * Holding every model (the default), the single forms are synchronous and a key without an ok
 * model scores null. With `maxModels` below the table's size the scorer is bounded: it holds at
 * most that many models (least recently used go first), the batch forms (async) fetch the models
 * they miss in one query per batch, and the single forms score only models already held
 * (MODEL_NOT_LOADED otherwise: `await scorer.load(keys)` first).
 */
export class Scorer {
  private readonly cache = new Map<string, CompiledModel | null>();
  /** The complete scorer of an integer key: the same models by number. */
  private readonly byNumber: Map<number, CompiledModel> | null;
  private readonly width: number;
  /**
   * A complete scorer whose models are all binary with the same number of features d also keeps
   * them packed, [b, w₁ … w_d] per slot in one Float64Array, with the slot by key: predictProba then
   * reads one map entry and one run of d + 1 doubles (the figure of bench/score.ts).
   */
  private readonly packed: Float64Array | null = null;
  private readonly packedD: number = 0;
  private readonly slotByText = new Map<string, number>();
  private readonly slotByNumber: Map<number, number> | null = null;
  /** Models held (keys known to have no model count too). */
  get size(): number {
    return this.cache.size;
  }

  constructor(
    readonly info: ScorerInfo,
    models: Iterable<[string, CompiledModel]>,
    private readonly source: ModelSource | null = null,
    /** The most models held at once; Infinity for an unbounded (complete) scorer. */
    readonly maxModels: number = Infinity,
  ) {
    this.width = info.group.length;
    this.byNumber = source === null && info.integerKey === true ? new Map() : null;
    for (const [k, m] of models) {
      this.cache.set(k, m);
      // only keys a JavaScript number holds exactly: a bigint beyond 2^53 is found by its text
      if (this.byNumber !== null && Number.isSafeInteger(Number(k))) this.byNumber.set(Number(k), m);
    }
    if (source === null && this.cache.size > 0) {
      let d = -1;
      let same = true;
      for (const m of this.cache.values()) {
        if (m === null || m.kind !== 'binary' || m.prep !== null || (d >= 0 && m.nFeatures !== d)) {
          same = false;
          break;
        }
        d = m.nFeatures;
      }
      if (same) {
        const packed = new Float64Array(this.cache.size * (d + 1));
        this.slotByNumber = this.byNumber === null ? null : new Map();
        let slot = 0;
        for (const [k, m] of this.cache) {
          const o = slot * (d + 1);
          packed[o] = (m as CompiledModel).intercept[0];
          packed.set((m as CompiledModel).coef, o + 1);
          this.slotByText.set(k, slot);
          if (Number.isSafeInteger(Number(k))) this.slotByNumber?.set(Number(k), slot);
          slot++;
        }
        this.packed = packed;
        this.packedD = d;
      }
    }
  }

  /** True when the scorer holds a subset of the table and fetches the rest on demand. */
  get bounded(): boolean {
    return this.source !== null;
  }

  private lookup(key: GroupKey): CompiledModel | null {
    if (typeof key === 'number' && this.byNumber !== null && Number.isSafeInteger(key)) return this.byNumber.get(key) ?? null;
    const k = this.width === 1 && (typeof key === 'string' || typeof key === 'number') ? String(key) : canonicalKey(keyParts(key, this.width));
    const m = this.cache.get(k);
    if (m !== undefined) {
      if (this.source !== null) {
        // least recently used order: a hit moves to the end
        this.cache.delete(k);
        this.cache.set(k, m);
      }
      return m;
    }
    if (this.source === null) return null;
    throw new ManyModelsError(
      'MODEL_NOT_LOADED',
      `the model of group ${JSON.stringify(keyParts(key, this.width))} is not held by this bounded scorer (at most ${this.maxModels} models)`,
      'await scorer.load(keys) before the synchronous forms, or use predictProbaBatch / predictBatch, which fetch what they miss',
    );
  }

  private countError(want: number, got: number): InvalidInputError {
    return new InvalidInputError(
      'FEATURE_COUNT_MISMATCH',
      `the model was trained on ${want} feature(s) (${this.info.features.join(', ')}), but ${got} value(s) were given`,
      'pass the features in the order the models were trained on',
    );
  }

  /** The model's features of a raw row (its stored preprocessing applied), or null when the row cannot be scored. */
  private features(m: CompiledModel, x: ArrayLike<RawValue>): ArrayLike<number> | null {
    if (x.length !== m.nInputs) throw this.countError(m.nInputs, x.length);
    return featuresOf(m, x);
  }

  /**
   * Class probabilities, in the order of the model's classes_, of one row with its group's model;
   * null when the group has no ok model or the row cannot be scored (a NULL / NaN / ±Infinity
   * feature, or a missing one with no imputer). A model trained with preprocessing takes the raw
   * input columns (numbers, text for one-hot columns, null for missing) and applies it.
   */
  predictProba(key: GroupKey, x: ArrayLike<RawValue>): number[] | null {
    const packed = this.packed;
    if (packed !== null) {
      const slot =
        typeof key === 'number' && this.slotByNumber !== null && Number.isSafeInteger(key)
          ? this.slotByNumber.get(key)
          : this.slotByText.get(this.width === 1 && (typeof key === 'string' || typeof key === 'number') ? String(key) : canonicalKey(keyParts(key, this.width)));
      if (slot === undefined) return null;
      const d = this.packedD;
      if (x.length !== d) throw this.countError(d, x.length);
      // the arithmetic of compiled.ts: z = b, then + x_j·w_j left to right; a non-finite feature has no answer
      const o = slot * (d + 1);
      let z = packed[o];
      for (let j = 0; j < d; j++) {
        const v = x[j] as number;
        if (!Number.isFinite(v)) return null;
        z += v * packed[o + 1 + j];
      }
      if (Number.isNaN(z)) return null;
      const p = sigmoid(z);
      return [1 - p, p];
    }
    const m = this.lookup(key);
    if (m === null) return null;
    if (m.kind === 'regressor') throw new UsageError(`${this.info.estimator} is a regressor: it has no class probabilities`, 'use predict', 'INVALID_OPTION');
    const f = this.features(m, x);
    return f === null ? null : probaOf(m, f);
  }

  /** The predicted class (a boolean for a boolean label) or value of one feature vector; null as for predictProba. */
  predict(key: GroupKey, x: ArrayLike<RawValue>): Prediction | null {
    const m = this.lookup(key);
    if (m === null) return null;
    const f = this.features(m, x);
    return f === null ? null : predictOf(m, f);
  }

  /** The group's classes (classes_ order), [] for a regressor, null when the group has no ok model. */
  classes(key: GroupKey): readonly Prediction[] | null {
    return this.lookup(key)?.classes ?? null;
  }

  /** The group's decoded estimator (LogisticRegression, LinearRegression, Ridge), or null. */
  model(key: GroupKey): Estimator | null {
    return this.lookup(key)?.estimator ?? null;
  }

  /** Makes sure the models of these groups are held (a bounded scorer fetches the missing ones in one query). */
  async load(keys: readonly GroupKey[]): Promise<void> {
    if (this.source === null) return;
    const want = new Map<string, (string | null)[]>();
    for (const key of keys) {
      const parts = keyParts(key, this.width);
      const k = canonicalKey(parts);
      const held = this.cache.get(k);
      if (held === undefined) want.set(k, parts);
      else {
        // held models this call needs move to the recent end, so that fetching the others cannot evict them
        this.cache.delete(k);
        this.cache.set(k, held);
      }
    }
    if (want.size > this.maxModels) {
      throw new UsageError(`${want.size} models are needed at once, more than this scorer holds (${this.maxModels})`, 'score in smaller batches, or raise maxModels', 'INVALID_OPTION');
    }
    if (want.size === 0) return;
    const got = await this.source.fetch([...want.values()]);
    let i = 0;
    for (const k of want.keys()) {
      this.cache.set(k, got[i++]);
      if (this.cache.size > this.maxModels) this.cache.delete(this.cache.keys().next().value as string);
    }
  }

  private async batch<T>(keys: readonly GroupKey[], rows: readonly ArrayLike<RawValue>[], one: (key: GroupKey, x: ArrayLike<RawValue>) => T): Promise<T[]> {
    if (keys.length !== rows.length) throw new InvalidInputError('LENGTH_MISMATCH', `${keys.length} keys but ${rows.length} feature rows`, 'pass one key per row');
    const out: T[] = new Array(rows.length);
    // a bounded scorer fetches per chunk, so that one batch never needs more models than it holds
    const chunk = this.source === null ? rows.length : Math.max(1, Math.min(rows.length, this.maxModels));
    for (let s = 0; s < rows.length; s += chunk) {
      const e = Math.min(rows.length, s + chunk);
      if (this.source !== null) await this.load(keys.slice(s, e));
      for (let i = s; i < e; i++) out[i] = one(keys[i], rows[i]);
    }
    return out;
  }

  /** predictProba for many rows, row i with the model of keys[i]. */
  predictProbaBatch(keys: readonly GroupKey[], rows: readonly ArrayLike<RawValue>[]): Promise<(number[] | null)[]> {
    return this.batch(keys, rows, (k, x) => this.predictProba(k, x));
  }

  /** predict for many rows, row i with the model of keys[i]. */
  predictBatch(keys: readonly GroupKey[], rows: readonly ArrayLike<RawValue>[]): Promise<(Prediction | null)[]> {
    return this.batch(keys, rows, (k, x) => this.predict(k, x));
  }
}
