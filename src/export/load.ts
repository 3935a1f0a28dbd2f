import { BinaryCopyDecoder, readText, type RowFields } from '../copy/binary-decoder.js';
import type { Connection, Database } from '../db/connection.js';
import { InvalidInputError, ModelDocumentError } from '../errors.js';
import { readModelsMeta } from '../pipeline/predict.js';
import type { TableMeta } from '../pipeline/catalog.js';
import { tableName, type TableRef } from '../pipeline/source.js';
import { displayName, ident, qident } from '../sql/ident.js';
import { type CompiledModel, compileModel } from './compiled.js';
import { canonicalKey, type GroupKey, keyParts, type ModelSource, Scorer } from './scorer.js';

export interface LoadModelsOptions {
  /** Only these groups' models (a key, or an array of values for a composite key, per group). */
  keys?: readonly GroupKey[];
  /**
   * The most models held in memory at once. A table with more ok models than this gives a bounded
   * scorer that fetches models on demand (least recently used are dropped); default: all of them.
   */
  maxModels?: number;
}

/** A models table as the loaders need it: name, catalog entry, key column types. */
export interface ModelsTable {
  name: readonly string[];
  meta: TableMeta;
  /** Per key column, its type as format_type writes it (for casting text keys back). */
  keyTypes: string[];
  features: string[];
  /** Per key column: whether some ok model's key is NULL there (then keys are matched NULL-safely on it). */
  nullableKeys: boolean[];
}

export async function readModelsTable(conn: Connection, ref: TableRef): Promise<ModelsTable> {
  const name = tableName(ref);
  const meta = await readModelsMeta(conn, name);
  const r = await conn.query<{ attname: string; t: string }>(
    `SELECT attname, format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
    [qident(name)],
  );
  const types = new Map(r.rows.map((x) => [x.attname, x.t]));
  const keyTypes = meta.group.map((g) => types.get(g) ?? 'text');
  const features = meta.features.kind === 'columns' ? meta.features.names : [meta.features.name];
  const n = await conn.query<Record<string, boolean | null>>(`SELECT ${meta.group.map((g, i) => `bool_or(${ident(g)} IS NULL) AS n${i}`).join(', ')} FROM ${qident(name)} WHERE status = 'ok'`);
  const nullableKeys = meta.group.map((_, i) => n.rows[0]?.[`n${i}`] === true);
  return { name, meta, keyTypes, features, nullableKeys };
}

/** The text of each key column of alias m, and the model document as text. */
function keyTextSql(t: ModelsTable): string {
  return t.meta.group.map((g) => `m.${ident(g)}::text`).join(', ');
}

function describeKey(t: ModelsTable, parts: readonly (string | null)[]): string {
  return `group ${JSON.stringify(Object.fromEntries(t.meta.group.map((g, i) => [g, parts[i]])))} in ${displayName(t.name)}`;
}

function compile(t: ModelsTable, doc: string, parts: readonly (string | null)[]): CompiledModel {
  try {
    return compileModel(doc, { booleanLabel: t.meta.labelType === 'boolean' });
  } catch (e) {
    if (e instanceof ModelDocumentError) throw new ModelDocumentError(`the model of ${describeKey(t, parts)} is invalid: ${e.message.split('\n')[0]}`, e.hint);
    throw e;
  }
}

/**
 * Streams every ok row of a models table (key text per key column, then the document as text)
 * through COPY, so a large table is never one query result in memory.
 */
export async function streamModelRows(db: Database, t: ModelsTable, onRow: (parts: (string | null)[], doc: string) => void): Promise<void> {
  const w = t.meta.group.length;
  const decoder = new BinaryCopyDecoder(w + 1);
  const each = (row: RowFields): void => {
    const parts: (string | null)[] = new Array(w);
    for (let i = 0; i < w; i++) parts[i] = row.len[i] < 0 ? null : readText(row, i);
    onRow(parts, readText(row, w));
  };
  const conn = await db.openStream();
  try {
    for await (const chunk of conn.copyOut(`(SELECT ${keyTextSql(t)}, m.model::text FROM ${qident(t.name)} AS m WHERE m.status = 'ok')`, 'binary')) decoder.feed(chunk, each);
    decoder.finish();
  } finally {
    if (conn !== (db.main as unknown)) await conn.close();
  }
}

/**
 * The models of the given keys, in their order (null where a group has no ok model), fetched in
 * one statement: each key's text is cast to the key column's type so that the table's primary key
 * index finds it, then compared as text, as the complete scorer compares keys.
 */
async function fetchModels(conn: Connection, t: ModelsTable, keys: readonly (readonly (string | null)[])[]): Promise<(CompiledModel | null)[]> {
  const out: (CompiledModel | null)[] = new Array(keys.length).fill(null);
  if (keys.length === 0) return out;
  const g = t.meta.group;
  const cols = g.map((_, i) => `k${i}`);
  const params = g.map((_, i) => keys.map((k) => k[i]));
  const on = g
    .map((c, i) =>
      t.nullableKeys[i]
        ? `(m.${ident(c)} = u.k${i}::${t.keyTypes[i]} OR (m.${ident(c)} IS NULL AND u.k${i} IS NULL)) AND m.${ident(c)}::text IS NOT DISTINCT FROM u.k${i}`
        : `m.${ident(c)} = u.k${i}::${t.keyTypes[i]} AND m.${ident(c)}::text = u.k${i}`,
    )
    .join(' AND ');
  // the first key column as = ANY(array) too: told the batch's size, the planner would rather hash the
  // whole models table than probe its primary key; with the array it reads the index for those keys only
  const k0 = `m.${ident(g[0])}`;
  const first = `(${k0} = ANY($1::text[]::${t.keyTypes[0]}[])${t.nullableKeys[0] ? ` OR ${k0} IS NULL` : ''})`;
  const r = await conn.query<{ i: string; model: string }>(
    `SELECT u.mm_i::text AS i, m.model::text AS model FROM unnest(${g.map((_, i) => `$${i + 1}::text[]`).join(', ')}) WITH ORDINALITY AS u(${cols.join(', ')}, mm_i)
     JOIN ${qident(t.name)} AS m ON ${on} WHERE m.status = 'ok' AND ${first}`,
    params,
  );
  for (const row of r.rows) {
    const i = Number(row.i) - 1;
    out[i] = compile(t, row.model, keys[i]);
  }
  return out;
}

/** Loads a models table's ok models into an in-process Scorer (see Scorer for the bounded form). */
export async function loadModels(database: Database, ref: TableRef, opts: LoadModelsOptions = {}): Promise<Scorer> {
  const max = opts.maxModels ?? Infinity;
  if (max !== Infinity && (!Number.isInteger(max) || max < 1)) throw new InvalidInputError('INVALID_OPTION', `maxModels must be an integer ≥ 1, got ${String(opts.maxModels)}`);
  const t = await database.exclusive((db) => readModelsTable(db.main, ref));
  const info = { group: t.meta.group, estimator: t.meta.estimator ?? '', features: t.features, integerKey: t.keyTypes.length === 1 && ['smallint', 'integer', 'bigint'].includes(t.keyTypes[0]) };
  const w = t.meta.group.length;
  if (opts.keys !== undefined) {
    const parts = opts.keys.map((k) => keyParts(k, w));
    if (parts.length > max) throw new InvalidInputError('INVALID_OPTION', `${parts.length} keys were asked for, more than maxModels (${max})`, 'raise maxModels, or leave keys out to get a bounded scorer');
    const models = await database.exclusive((db) => fetchModels(db.main, t, parts));
    const held: [string, CompiledModel][] = [];
    parts.forEach((p, i) => {
      const m = models[i];
      if (m !== null) held.push([canonicalKey(p), m]);
    });
    return new Scorer(info, held);
  }
  if (max !== Infinity) {
    const n = await database.exclusive((db) => db.main.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${qident(t.name)} WHERE status = 'ok'`));
    if (Number(n.rows[0].n) > max) {
      const source: ModelSource = { fetch: (keys) => database.exclusive((db) => fetchModels(db.main, t, keys)) };
      return new Scorer(info, [], source, max);
    }
  }
  const held: [string, CompiledModel][] = [];
  await database.session((db) =>
    streamModelRows(db, t, (parts, doc) => {
      held.push([canonicalKey(parts), compile(t, doc, parts)]);
    }),
  );
  return new Scorer(info, held);
}
