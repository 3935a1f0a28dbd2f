import { DatabaseError, UsageError } from '../errors.js';
import { ident } from '../sql/ident.js';
import { float8Sql } from '../sql/scoring.js';
import { OID, type ValueKind } from '../sql/types.js';
import type { ImputeStrategy, PreprocessPlan } from './transform.js';

/** The training options of preprocessing (TrainOptions extends this). */
export interface PreprocessOptions {
  /** Standardize each number feature per group (StandardScaler: mean 0, variance 1 over the group's rows). */
  standardize?: boolean;
  /** Fill a NULL (or NaN) number feature with the group's mean or median of the column, or 0, instead of skipping the row. */
  impute?: ImputeStrategy;
  /**
   * Feature columns to one-hot encode with the categories seen in each group (unseen at scoring:
   * all zeros). Text columns always are; name boolean columns here to encode them too (by default a
   * boolean feature is the number 0 / 1).
   */
  categorical?: string | readonly string[];
  /** A numeric column of sample weights (rows with a NULL weight are skipped). */
  weight?: string;
}

/** What a models table records of its preprocessing (in its catalog comment), for scoring. */
export interface PreprocessMeta {
  /** The feature columns read as text and one-hot encoded. */
  categorical: string[];
  impute: ImputeStrategy | null;
  standardize: boolean;
}

const IMPUTE = ['mean', 'median', 'zero'] as const;

interface FeatureColumn {
  name: string;
  kind: ValueKind;
  oid: number;
}

function names(v: string | readonly string[] | undefined): string[] {
  return v === undefined ? [] : typeof v === 'string' ? [v] : [...v];
}

/** True when the run asks for any preprocessing of its features (weights aside). */
export function asksPreprocessing(o: PreprocessOptions): boolean {
  return o.standardize === true || o.impute !== undefined || names(o.categorical).length > 0;
}

/** Checks the options' values, before anything is read. */
export function checkPreprocessOptions(o: PreprocessOptions & { strategy?: string; inference?: boolean; pool?: string }): void {
  if (o.pool === 'global' && (asksPreprocessing(o) || o.weight !== undefined)) {
    // each group's preprocessing has its own feature space (its categories, its scale): no shared prior centre
    throw new UsageError('partial pooling (pool global) does not combine with preprocessing or sample weights', 'pool numeric features without standardize, impute, categorical or weight, or train without pool', 'INVALID_OPTION');
  }
  if (o.weight !== undefined && o.inference === true) {
    // the inference statistics are those of an unweighted fit (inference/stats.ts)
    throw new UsageError('inference statistics are not computed for a weighted fit', 'train without weight to store inference statistics, or without inference to weight the rows', 'INVALID_OPTION');
  }
  if (o.impute !== undefined && !(IMPUTE as readonly string[]).includes(o.impute)) {
    throw new UsageError(`impute must be one of ${IMPUTE.join(', ')}, got ${JSON.stringify(o.impute)}`, 'impute fills NULL number features per group: mean, median or zero', 'INVALID_OPTION');
  }
  if (o.standardize !== undefined && typeof o.standardize !== 'boolean') throw new UsageError(`standardize must be true or false, got ${JSON.stringify(o.standardize)}`, undefined, 'INVALID_OPTION');
  if (o.weight !== undefined && (typeof o.weight !== 'string' || o.weight.length === 0)) throw new UsageError('weight must name a column', undefined, 'INVALID_OPTION');
  for (const c of names(o.categorical)) if (typeof c !== 'string' || c.length === 0) throw new UsageError('categorical column names must be non-empty strings', undefined, 'INVALID_OPTION');
  if (o.strategy === 'in-database') {
    const asked = [o.standardize === true && 'standardize', o.impute !== undefined && 'impute', names(o.categorical).length > 0 && 'categorical', o.weight !== undefined && 'weight'].filter((x) => x !== false);
    if (asked.length > 0) {
      throw new UsageError(
        `the in-database strategy does not preprocess features or weight rows (${asked.join(', ')} given)`,
        'use the streaming strategy (the default) for standardize, impute, one-hot encoding and sample weights',
        'INVALID_OPTION',
      );
    }
  }
}

/**
 * The feature columns' reading and preprocessing for the columns form: number columns as float8,
 * text columns (and the boolean columns named categorical) as text for one-hot encoding. Throws
 * FEATURES_NOT_NUMERIC for a column that is neither, INVALID_OPTION for a categorical name that is
 * not a text or boolean feature.
 */
export function planFeatureColumns(
  cols: readonly FeatureColumn[],
  o: PreprocessOptions,
  schema: string,
): { selectSql: string[]; kinds: ('number' | 'category')[]; plan: PreprocessPlan | null; meta: PreprocessMeta | null } {
  const named = names(o.categorical);
  for (const c of named) {
    const col = cols.find((f) => f.name === c);
    if (col === undefined) throw new UsageError(`categorical column ${ident(c)} is not one of the features`, 'name feature columns only (they must also be in features)', 'INVALID_OPTION');
    if (col.kind !== 'text' && col.kind !== 'boolean') {
      throw new UsageError(`categorical column ${ident(c)} is not a text or boolean column`, `to one-hot encode a number column, cast it to text in a query: SELECT ${ident(c)}::text AS ${ident(c)}, ... FROM ...`, 'INVALID_OPTION');
    }
  }
  const kinds = cols.map((f): 'number' | 'category' => {
    if (f.kind === 'text' || (f.kind === 'boolean' && named.includes(f.name))) return 'category';
    if (f.kind === 'number' || f.kind === 'boolean') return 'number';
    throw new DatabaseError(
      'FEATURES_NOT_NUMERIC',
      `feature column ${ident(f.name)} is not numeric${f.kind === 'number[]' ? ' (an array column must be the only feature)' : ''}`,
      'features must be numeric, boolean or text (one-hot encoded) columns, or a single numeric array column; cast or encode the others in a query',
    );
  });
  const selectSql = cols.map((f, j) =>
    kinds[j] === 'category' ? `s.${ident(f.name)}::text` : float8Sql(`s.${ident(f.name)}`, f.kind === 'boolean' ? 'boolean' : f.oid === OID.numeric ? 'numeric' : 'other', schema),
  );
  const plan: PreprocessPlan = { names: cols.map((f) => f.name), kinds, impute: o.impute ?? null, standardize: o.standardize === true };
  const any = plan.standardize || plan.impute !== null || kinds.includes('category');
  return {
    selectSql,
    kinds,
    plan: any ? plan : null,
    meta: any ? { categorical: cols.filter((_, j) => kinds[j] === 'category').map((f) => f.name), impute: plan.impute, standardize: plan.standardize } : null,
  };
}

/** The weight column as float8 SQL over s, checked to be numeric. */
export function weightSql(col: FeatureColumn, schema: string): string {
  if (col.kind !== 'number') {
    throw new DatabaseError('FEATURES_NOT_NUMERIC', `weight column ${ident(col.name)} is not numeric`, 'sample weights must be a numeric column of finite values ≥ 0');
  }
  return float8Sql(`s.${ident(col.name)}`, col.oid === OID.numeric ? 'numeric' : 'other', schema);
}

/**
 * How scoring reads the input columns of models with stored preprocessing: x, one float8 per
 * column (NULL at a category column), and c, one text per column (NULL at a number column), or
 * null when no column is a category. Column j is a category when the models' column j was.
 */
export function scoringInputSql(
  meta: { features: { kind: 'columns'; names: string[] } | { kind: 'array'; name: string }; preprocess?: PreprocessMeta },
  cols: readonly FeatureColumn[],
  schema: string,
): { x: string; c: string | null } {
  const trained = meta.features.kind === 'columns' ? meta.features.names : [];
  const pm = meta.preprocess as PreprocessMeta;
  if (cols.length !== trained.length) {
    throw new DatabaseError(
      'FEATURE_COUNT_MISMATCH',
      `the models were trained on ${trained.length} feature columns (${trained.join(', ')}), but ${cols.length} ${cols.length === 1 ? 'was' : 'were'} given`,
      'give the same feature columns, in the same order, as at training time',
    );
  }
  const isCat = trained.map((n) => pm.categorical.includes(n));
  cols.forEach((f, j) => {
    const ok = isCat[j] ? f.kind === 'text' || f.kind === 'boolean' : f.kind === 'number' || f.kind === 'boolean';
    if (!ok) {
      throw new DatabaseError(
        'FEATURES_NOT_NUMERIC',
        `feature column ${ident(f.name)} is ${f.kind === 'text' ? 'text' : f.kind} but the models read their column ${ident(trained[j])} as ${isCat[j] ? 'a one-hot encoded category (text or boolean)' : 'a number'}`,
        'give the same feature columns, of the same kinds, as at training time',
      );
    }
  });
  const x = cols.map((f, j) => (isCat[j] ? 'NULL::float8' : float8Sql(`s.${ident(f.name)}`, f.kind === 'boolean' ? 'boolean' : f.oid === OID.numeric ? 'numeric' : 'other', schema)));
  const c = cols.map((f, j) => (isCat[j] ? `s.${ident(f.name)}::text` : 'NULL::text'));
  return { x: `ARRAY[${x.join(', ')}]::float8[]`, c: isCat.includes(true) ? `ARRAY[${c.join(', ')}]::text[]` : null };
}
