import type { Database } from '../db/connection.js';
import { DatabaseError, UsageError } from '../errors.js';
import type { Label } from '../estimators/input.js';
import type { InferenceStats } from '../inference/stats.js';
import { decodeModel, type ModelDocument } from '../model-io/document.js';
import { coefficientNames } from '../model-io/names.js';
import { MODEL_COLUMNS } from '../exec/encode-batch.js';
import { displayName, ident, qident } from '../sql/ident.js';
import { readModelsMeta } from './predict.js';
import { type TableRef, tableName } from './source.js';

/** A group key value: compared as SQL compares it, after a cast of its text to the key column's type. */
export type KeyValue = string | number | bigint | boolean | Date | null;

export interface ShowOptions {
  /** The models table. */
  models: TableRef;
  /**
   * The group's key: one value per key column, in the order of the table's group key (a single
   * value for a one-column key). Each is sent as text and cast to its column's type in SQL, so
   * '1.0' finds the numeric key 1.00, '2024-01-01' a date, and a text key is taken as written.
   */
  key: KeyValue | readonly KeyValue[];
}

/** One coefficient of a model, with its inference statistics when the document has them. */
export interface CoefficientRow {
  /** The class this row of coefficients scores (multiclass LogisticRegression), else absent. */
  class?: Label;
  /** 'intercept', or the input's name (coefficientNames). */
  name: string;
  value: number;
  stdErr?: number | null;
  /** z (LogisticRegression) or t (LinearRegression, Ridge). */
  statistic?: number | null;
  pValue?: number | null;
  oddsRatio?: number | null;
}

/** One group's row of a models table, read as a whole: `manymodels show`. */
export interface ModelView {
  table: string;
  /** The group key columns. */
  group: string[];
  /** The key, each column as PostgreSQL prints it (NULL as null). */
  key: Record<string, string | null>;
  status: string;
  error: string | null;
  nRows: number | null;
  nSkipped: number | null;
  nIter: number | null;
  converged: boolean | null;
  trainScore: number | null;
  serializedOn: Date | null;
  runId: string | null;
  /** From the model document (null for a failed group). */
  estimator: string | null;
  params: Record<string, unknown> | null;
  /** The names of the coefficient columns (coefficientNames): the document's `features`, else x0, x1, ... */
  features: string[] | null;
  classes: Label[] | null;
  coefficients: CoefficientRow[];
  /** The document's inference statistics (train --inference), or null. */
  inference: InferenceStats | null;
  /** The row's other columns (such as metrics), as the database returns them. */
  columns: Record<string, unknown>;
  /** The model document as stored. */
  model: ModelDocument | null;
}

const CLASS_22 = /^22/;

/** Reads one group's model. GROUP_NOT_FOUND when the table has no such group. */
export async function showModel(db: Database, opts: ShowOptions): Promise<ModelView> {
  const name = tableName(opts.models);
  const meta = await readModelsMeta(db.main, name);
  const values = Array.isArray(opts.key) ? [...(opts.key as readonly KeyValue[])] : [opts.key as KeyValue];
  if (values.length !== meta.group.length) {
    throw new UsageError(
      `the models table ${displayName(name)} has a group key of ${meta.group.length} column${meta.group.length === 1 ? '' : 's'} (${meta.group.map(ident).join(', ')}), but ${values.length} value${values.length === 1 ? ' was' : 's were'} given`,
      `give one value per key column, in that order${meta.group.length > 1 ? ' (--group repeated)' : ''}`,
    );
  }
  const types = await db.main.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
     WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
    [qident(name)],
  );
  const typeOf = new Map(types.rows.map((r) => [r.name, r.type]));
  const params: string[] = [];
  const conds = meta.group.map((g, i) => {
    const v = values[i];
    if (v === null) return `m.${ident(g)} IS NULL`;
    params.push(v instanceof Date ? v.toISOString() : String(v));
    return `m.${ident(g)} = CAST($${params.length}::text AS ${typeOf.get(g) ?? 'text'})`;
  });
  const keyText = meta.group.map((g, i) => `m.${ident(g)}::text AS ${ident(`__mm_key_${i}`)}`);
  let rows: Record<string, unknown>[];
  try {
    rows = (await db.main.query<Record<string, unknown>>(`SELECT m.*, ${keyText.join(', ')} FROM ${qident(name)} AS m WHERE ${conds.join(' AND ')} LIMIT 2`, params)).rows;
  } catch (e) {
    const state = (e as DatabaseError).sqlState;
    if (typeof state === 'string' && CLASS_22.test(state)) {
      const cols = meta.group.map((g) => `${ident(g)} ${typeOf.get(g) ?? ''}`).join(', ');
      throw new UsageError(`the group key ${JSON.stringify(values)} cannot be read as the key column${meta.group.length === 1 ? '' : 's'} ${cols}: ${(e as Error).message.split('\n')[0]}`, 'give each key value as SQL would write it for that type', 'INVALID_OPTION');
    }
    throw e;
  }
  if (rows.length === 0) {
    throw new DatabaseError(
      'GROUP_NOT_FOUND',
      `the models table ${displayName(name)} has no group ${meta.group.map((g, i) => `${ident(g)} = ${values[i] === null ? 'NULL' : String(values[i])}`).join(', ')}`,
      `list its groups: manymodels sql 'SELECT ${meta.group.map(ident).join(', ')} FROM ${displayName(name)}'`,
    );
  }
  const row = rows[0];
  const key: Record<string, string | null> = {};
  meta.group.forEach((g, i) => (key[g] = row[`__mm_key_${i}`] as string | null));
  const known = new Set<string>([...meta.group, ...MODEL_COLUMNS, ...meta.group.map((_, i) => `__mm_key_${i}`)]);
  const columns: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) if (!known.has(k)) columns[k] = plainValue(v);
  const raw = row.model;
  const doc = (typeof raw === 'string' ? JSON.parse(raw) : raw ?? null) as ModelDocument | null;
  if (doc !== null) decodeModel(doc); // validates it: INVALID_MODEL_DOCUMENT for a broken one
  const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
  return {
    table: displayName(name),
    group: [...meta.group],
    key,
    status: row.status as string,
    error: (row.error as string | null) ?? null,
    nRows: n(row.n_rows),
    nSkipped: n(row.n_skipped),
    nIter: n(row.n_iter),
    converged: (row.converged as boolean | null) ?? null,
    trainScore: n(row.train_score),
    serializedOn: row.serialized_on === null || row.serialized_on === undefined ? null : new Date(row.serialized_on as string | Date),
    runId: (row.run_id as string | null) ?? null,
    estimator: doc?.estimator ?? null,
    params: doc?.params ?? null,
    features: doc === null ? null : coefficientNames(doc),
    classes: doc?.state.classes ?? null,
    coefficients: doc === null ? [] : coefficientRows(doc),
    inference: doc?.inference ?? null,
    columns,
    model: doc,
  };
}

/** The named coefficients of a document, the intercept first, each with its statistics when the document has them. */
export function coefficientRows(doc: ModelDocument): CoefficientRow[] {
  const names = coefficientNames(doc);
  const fi = doc.params.fitIntercept !== false;
  const inf = doc.inference ?? null;
  const stat = inf?.zStats ?? inf?.tStats;
  const rows: CoefficientRow[] = [];
  const coef = doc.state.coef;
  const matrix = Array.isArray(coef[0]) ? (coef as number[][]) : [coef as number[]];
  const intercepts = Array.isArray(doc.state.intercept) ? doc.state.intercept : [doc.state.intercept];
  const classes = doc.state.classes;
  matrix.forEach((w, r) => {
    const cls = matrix.length > 1 && classes !== undefined ? { class: classes[r] } : {};
    const all = fi ? [['intercept', intercepts[r]] as const, ...w.map((v, j) => [names[j], v] as const)] : w.map((v, j) => [names[j], v] as const);
    all.forEach(([name, value], k) => {
      const row: CoefficientRow = { ...cls, name, value };
      // the statistics run over the same parameters (intercept first) for one coefficient row
      if (inf !== null && matrix.length === 1 && inf.coef.length === all.length) {
        row.stdErr = inf.stdErr[k];
        row.statistic = stat?.[k] ?? null;
        row.pValue = inf.pValues[k];
        if (inf.oddsRatios !== undefined) row.oddsRatio = inf.oddsRatios[k];
      }
      rows.push(row);
    });
  });
  return rows;
}

/**
 * A value of one of the row's other columns as text and JSON show it: bytea as PostgreSQL writes it
 * (\\x and hex digits, not an object of byte indices), a timestamp as ISO 8601; others as they are.
 */
function plainValue(v: unknown): unknown {
  if (v instanceof Uint8Array) return `\\x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString();
  if (Array.isArray(v)) return v.map(plainValue);
  return v;
}
