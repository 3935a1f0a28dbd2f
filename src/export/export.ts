import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Database } from '../db/connection.js';
import { ManyModelsError, ModelDocumentError, UsageError } from '../errors.js';
import type { TableRef } from '../pipeline/source.js';
import { displayName, ident, qident } from '../sql/ident.js';
import { type CompiledModel, compileModel } from './compiled.js';
import { readModelsTable, type ModelsTable } from './load.js';
import { onnxModel } from './onnx.js';
import { sklearnPickle } from './pickle.js';

export type ExportFormat = 'onnx' | 'sklearn';

export interface ExportOptions {
  /** A models table written by train. */
  models: TableRef;
  /** 'onnx': one .onnx file per group; 'sklearn': one scikit-learn pickle (.pkl) per group. */
  format: ExportFormat;
  /** The directory to write, one file per ok group plus manifest.json. Made if missing; an existing non-empty one needs `replace`. */
  out?: string;
  /**
   * sklearn only: also write each group's pickle into a `pickle bytea` column of the models table
   * (added if missing, NULL for failed groups), in one transaction, so that PL/Python can run
   * `pickle.loads(pickle).predict_proba([features])` on the table itself.
   */
  intoColumn?: boolean;
  /** Replace an existing, non-empty `out` directory. */
  replace?: boolean;
}

export interface ExportResult {
  format: ExportFormat;
  /** Groups exported (the ok ones). */
  models: number;
  /** The directory written, when `out` was given. */
  out: string | null;
  /** The column written, when `intoColumn` was given. */
  column: string | null;
  seconds: number;
}

export const PICKLE_COLUMN = 'pickle';

/**
 * A file name for a group: each key part percent-encoded (every character but letters, digits and
 * '-' as %XX, so no part holds '.', '_' or ',' and no name can climb out of the directory), parts
 * joined by ','; a NULL part is '_null', an empty one '_empty'.
 */
export function fileStem(parts: readonly (string | null)[]): string {
  return parts
    .map((p) => (p === null ? '_null' : p === '' ? '_empty' : encodeURIComponent(p).replace(/[!'()*._~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)))
    .join(',');
}

function compileFor(t: ModelsTable, doc: string, parts: readonly (string | null)[]): CompiledModel {
  const where = `group ${JSON.stringify(Object.fromEntries(t.meta.group.map((g, i) => [g, parts[i]])))} in ${displayName(t.name)}`;
  try {
    const m = compileModel(doc, { booleanLabel: t.meta.labelType === 'boolean' });
    if (m.prep !== null) {
      throw new ManyModelsError(
        'MODEL_NOT_SUPPORTED',
        `the model of ${where} stores preprocessing (${m.prep.doc.columns.map((c) => (c.kind === 'category' ? `one-hot ${c.name}` : [c.fill !== undefined ? `impute ${c.name}` : '', c.mean !== undefined ? `standardize ${c.name}` : ''].filter((x) => x).join(', '))).filter((x) => x).join('; ')}), which the ONNX and scikit-learn exports do not write yet`,
        'score these models with manymodels predict or db.loadModels (both apply it), or train without --standardize / --impute / one-hot columns to export',
      );
    }
    return m;
  } catch (e) {
    if (e instanceof ModelDocumentError) throw new ModelDocumentError(`the model of ${where} is invalid: ${e.message.split('\n')[0]}`, e.hint);
    throw e;
  }
}

function checkOut(out: string, replace: boolean): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new UsageError(`--out ${out} exists and is not a directory`, 'give a directory to write into', 'OUTPUT_EXISTS');
  if (readdirSync(out).length > 0 && !replace) {
    throw new UsageError(`the directory ${out} exists and is not empty`, 'give an empty or new directory, or --replace (replace: true) to replace its contents', 'OUTPUT_EXISTS');
  }
}

const ROWS_PER_FETCH = 1000;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]];
  return s;
}

/**
 * Exports every ok model of a models table. Files are written into a new directory beside `out`
 * and renamed to it at the end, so a failed export leaves `out` as it was; the column is written
 * in one transaction, so a failed export leaves the table as it was.
 */
export async function exportModels(database: Database, opts: ExportOptions, version: string): Promise<ExportResult> {
  const t0 = performance.now();
  if (opts.format !== 'onnx' && opts.format !== 'sklearn') throw new UsageError(`unknown export format '${String(opts.format)}'`, "use 'onnx' or 'sklearn'", 'INVALID_OPTION');
  if (opts.out === undefined && opts.intoColumn !== true) throw new UsageError('nothing to write: give out (a directory) or intoColumn', '--out DIR, or --into-column with --format sklearn');
  if (opts.intoColumn === true && opts.format !== 'sklearn') throw new UsageError('intoColumn writes scikit-learn pickles: it needs format sklearn', '--format sklearn --into-column');
  const out = opts.out === undefined ? null : resolve(opts.out);
  if (out !== null) checkOut(out, opts.replace === true);

  return database.session(async (db) => {
    const t = await readModelsTable(db.main, opts.models);
    const ext = opts.format === 'onnx' ? 'onnx' : 'pkl';
    const tmp = out === null ? null : join(dirname(out), `.${basename(out)}.mm-${randomBytes(4).toString('hex')}`);
    const manifest: { key: (string | null)[]; file: string }[] = [];
    const stems = new Set<string>();
    let n = 0;
    const write = (parts: (string | null)[], bytes: Uint8Array): void => {
      if (tmp === null) return;
      let stem = fileStem(parts);
      // names that differ only in case would share a file on a case-insensitive file system
      if (stems.has(stem.toLowerCase())) stem = `${stem},${n}`;
      stems.add(stem.toLowerCase());
      writeFileSync(join(tmp, `${stem}.${ext}`), bytes);
      manifest.push({ key: parts, file: `${stem}.${ext}` });
    };
    const encode = (parts: (string | null)[], m: CompiledModel): Uint8Array => {
      const keyText = t.meta.group.length === 1 ? String(parts[0]) : JSON.stringify(parts);
      return opts.format === 'onnx'
        ? onnxModel(m, {
            name: keyText,
            producerVersion: version,
            metadata: {
              'manymodels.table': displayName(t.name),
              'manymodels.group': JSON.stringify(Object.fromEntries(t.meta.group.map((g, i) => [g, parts[i]]))),
              'manymodels.features': JSON.stringify(t.features),
              'manymodels.estimator': m.estimator.estimatorName,
              ...(m.kind === 'regressor' ? {} : { 'manymodels.classes': JSON.stringify(m.classes) }),
            },
          })
        : sklearnPickle(m);
    };
    const keyCols = t.meta.group.map((g) => `m.${ident(g)}::text`);
    const w = t.meta.group.length;
    if (tmp !== null) mkdirSync(tmp, { recursive: true });
    let inTx = false;
    try {
      await db.main.query('BEGIN');
      inTx = true;
      if (opts.intoColumn === true) {
        // no other run may write the table meanwhile (a retrain's swap waits for this transaction)
        await db.main.query(`LOCK TABLE ${qident(t.name)} IN SHARE ROW EXCLUSIVE MODE`);
        await db.main.query(`ALTER TABLE ${qident(t.name)} ADD COLUMN IF NOT EXISTS ${ident(PICKLE_COLUMN)} bytea`);
        await db.main.query(`UPDATE ${qident(t.name)} SET ${ident(PICKLE_COLUMN)} = NULL WHERE ${ident(PICKLE_COLUMN)} IS NOT NULL`);
      }
      await db.main.query(`DECLARE mm_export NO SCROLL CURSOR FOR SELECT ${keyCols.join(', ')}, m.model::text FROM ${qident(t.name)} AS m WHERE m.status = 'ok'`);
      for (;;) {
        const r = await db.main.queryText(`FETCH ${ROWS_PER_FETCH} FROM mm_export`);
        if (r.rows.length === 0) break;
        const batchKeys: (string | null)[][] = [];
        const batchBytes: Uint8Array[] = [];
        for (const row of r.rows) {
          const parts = row.slice(0, w);
          const m = compileFor(t, row[w] as string, parts);
          const bytes = encode(parts, m);
          write(parts, bytes);
          if (opts.intoColumn === true) {
            batchKeys.push(parts);
            batchBytes.push(bytes);
          }
          n++;
        }
        if (opts.intoColumn === true) {
          const on = t.meta.group
            .map((c, i) =>
              t.nullableKeys[i]
                ? `(m.${ident(c)} = u.k${i}::${t.keyTypes[i]} OR (m.${ident(c)} IS NULL AND u.k${i} IS NULL)) AND m.${ident(c)}::text IS NOT DISTINCT FROM u.k${i}`
                : `m.${ident(c)} = u.k${i}::${t.keyTypes[i]} AND m.${ident(c)}::text = u.k${i}`,
            )
            .join(' AND ');
          await db.main.query(
            `UPDATE ${qident(t.name)} AS m SET ${ident(PICKLE_COLUMN)} = u.p
             FROM (SELECT ${t.meta.group.map((_, i) => `k${i}`).join(', ')}, decode(h, 'hex') AS p
                   FROM unnest(${t.meta.group.map((_, i) => `$${i + 1}::text[]`).join(', ')}, $${w + 1}::text[]) AS v(${t.meta.group.map((_, i) => `k${i}`).join(', ')}, h)) AS u
             WHERE m.status = 'ok' AND ${on}`,
            [...t.meta.group.map((_, i) => batchKeys.map((k) => k[i])), batchBytes.map(hex)],
          );
        }
      }
      await db.main.query('CLOSE mm_export');
      await db.main.query('COMMIT');
      inTx = false;
      if (tmp !== null && out !== null) {
        writeFileSync(
          join(tmp, 'manifest.json'),
          `${JSON.stringify(
            {
              format: opts.format === 'onnx' ? 'manymodels.onnx-export' : 'manymodels.sklearn-export',
              table: displayName(t.name),
              estimator: t.meta.estimator,
              group: t.meta.group,
              features: t.features,
              label: t.meta.label ?? null,
              runId: t.meta.runId,
              manymodels: version,
              ...(opts.format === 'onnx'
                ? { onnx: { input: 'features (double, [N, features])', outputs: t.meta.estimator === 'LogisticRegression' ? ['label', 'probabilities'] : ['variable'], opset: { 'ai.onnx.ml': 1, '': 13 } } }
                : { sklearn: '1.2.1', pickleProtocol: 3 }),
              models: manifest,
            },
            null,
            1,
          )}\n`,
        );
        if (existsSync(out)) {
          const old = join(dirname(out), `.${basename(out)}.mm-old-${randomBytes(4).toString('hex')}`);
          renameSync(out, old);
          renameSync(tmp, out);
          rmSync(old, { recursive: true, force: true });
        } else renameSync(tmp, out);
      }
    } catch (e) {
      if (inTx) await db.main.query('ROLLBACK').catch(() => undefined);
      if (tmp !== null) rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    return { format: opts.format, models: n, out, column: opts.intoColumn === true ? PICKLE_COLUMN : null, seconds: (performance.now() - t0) / 1000 };
  });
}
