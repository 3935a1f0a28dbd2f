import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import type { Database } from '../db/connection.js';
import { DatabaseError, UsageError } from '../errors.js';
import { displayName, ident, qident } from '../sql/ident.js';
import { readTableMeta } from './catalog.js';
import { abandon, stagingFor, type Staging } from './output-table.js';
import { type TableRef, tableName } from './source.js';

export interface ImportOptions {
  /** The table to create. */
  into: TableRef;
  /** Overwrite the table if it exists. */
  replace?: boolean;
  /** Field delimiter (default ','). */
  delimiter?: string;
}

export interface ImportResult {
  table: readonly string[];
  rows: number;
  columns: { name: string; type: string }[];
  seconds: number;
}

type ColType = 'integer' | 'bigint' | 'double precision' | 'numeric' | 'boolean' | 'text';

/**
 * Splits CSV text into records across chunk boundaries (RFC 4180: quoted fields may hold the
 * delimiter, quotes as "" and newlines), calling back with the fields of each complete record
 * and the byte offset where it ends.
 */
class CsvRecords {
  private field = '';
  private fields: string[] = [];
  private quoted = false;
  private wasQuoted = false;
  private afterQuote = false;
  constructor(private readonly delim: string) {}

  push(text: string, onRecord: (fields: string[], quoted: boolean[], endIndex: number) => void): void {
    const q: boolean[] = [];
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (this.quoted) {
        if (c === '"') {
          if (text[i + 1] === '"') {
            this.field += '"';
            i++;
          } else if (i + 1 === text.length) {
            // a quote at the end of a chunk: decide with the next chunk
            this.quoted = false;
            this.afterQuote = true;
          } else {
            this.quoted = false;
          }
        } else this.field += c;
        continue;
      }
      if (this.afterQuote) {
        this.afterQuote = false;
        if (c === '"') {
          this.field += '"';
          this.quoted = true;
          continue;
        }
      }
      if (c === '"' && this.field.length === 0) {
        this.quoted = true;
        this.wasQuoted = true;
      } else if (c === this.delim) {
        this.fields.push(this.field);
        q.push(this.wasQuoted);
        this.field = '';
        this.wasQuoted = false;
      } else if (c === '\n') {
        this.fields.push(this.field.endsWith('\r') && !this.wasQuoted ? this.field.slice(0, -1) : this.field);
        q.push(this.wasQuoted);
        onRecord(this.fields, q.splice(0), i + 1);
        this.fields = [];
        this.field = '';
        this.wasQuoted = false;
      } else this.field += c;
    }
  }

  /** The last record when the file does not end with a newline. */
  end(onRecord: (fields: string[], quoted: boolean[], endIndex: number) => void): void {
    if (this.quoted) throw new UsageError('the CSV file ends inside a quoted field', 'check for an unbalanced double quote', 'CSV_INVALID');
    if (this.field.length > 0 || this.fields.length > 0) {
      this.fields.push(this.field);
      onRecord(this.fields, [], -1);
    }
  }
}

const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(Infinity|inf|NaN)$/i;

const INT32 = 2n ** 31n;
const INT64 = 2n ** 63n;

/** A decimal that float8 cannot hold (PostgreSQL refuses it: out of range): 1e400, 1e-400. */
function beyondFloat8(v: string): boolean {
  if (/^[+-]?(Infinity|inf|NaN)$/i.test(v)) return false;
  const n = Number(v);
  return !Number.isFinite(n) || (n === 0 && /[1-9]/.test(v.replace(/[eE].*$/, '')));
}

/**
 * The narrowest type that holds every value seen so far exactly: integer, then bigint, then
 * numeric for integers beyond 64 bits; double precision for decimals, unless the column also holds
 * integers that a float8 cannot tell apart (beyond 2^53) or values beyond its range: numeric then.
 */
function widen(t: ColType | null, v: string): ColType {
  if (t === 'text') return 'text';
  if (INT.test(v)) {
    const b = BigInt(v);
    const abs = b < 0n ? -b : b;
    const want: ColType = abs < INT32 ? 'integer' : b >= -INT64 && b < INT64 ? 'bigint' : 'numeric';
    if (t === null || t === 'integer') return want;
    if (t === 'bigint') return want === 'numeric' ? 'numeric' : 'bigint';
    if (t === 'double precision') return abs <= 2n ** 53n ? t : 'numeric';
    if (t === 'numeric') return t;
    return 'text';
  }
  if (FLOAT.test(v)) {
    if (t !== null && t !== 'integer' && t !== 'bigint' && t !== 'double precision' && t !== 'numeric') return 'text';
    // a bigint column may hold integers beyond 2^53, which double precision would round
    return t === 'numeric' || t === 'bigint' || beyondFloat8(v) ? 'numeric' : 'double precision';
  }
  if (/^(true|false)$/i.test(v)) return t === null || t === 'boolean' ? 'boolean' : 'text';
  return 'text';
}

/** Imports a CSV file with a header line into a new table, inferring integer, bigint, double precision, numeric, boolean or text columns. */
export async function importCsv(db: Database, file: string, opts: ImportOptions): Promise<ImportResult> {
  const t0 = performance.now();
  const target = tableName(opts.into);
  const delim = opts.delimiter ?? ',';
  if (delim.length !== 1 || delim === '"' || delim === '\n') throw new UsageError(`the delimiter must be one character other than a quote or newline, got ${JSON.stringify(delim)}`);
  try {
    await stat(file);
  } catch {
    throw new UsageError(`cannot read the file ${file}`, 'check the path', 'FILE_NOT_FOUND');
  }
  const existing = await readTableMeta(db.main, target);
  if (existing !== undefined && opts.replace !== true) {
    throw new DatabaseError('TABLE_EXISTS', `the table ${displayName(target)} already exists`, 'choose another name, or pass --replace to overwrite it');
  }
  // pass 1: header and column types
  let header: string[] | null = null;
  let types: (ColType | null)[] = [];
  let rows = 0;
  const p1 = new CsvRecords(delim);
  const onRecord1 = (fields: string[], quoted: boolean[]): void => {
    if (header === null) {
      header = fields.map((f) => f.trim());
      header.forEach((h, i) => {
        if (h.length === 0) throw new UsageError(`column ${i + 1} of the CSV header has no name`, 'every column needs a name in the first line', 'CSV_INVALID');
      });
      if (new Set(header).size !== header.length) throw new UsageError(`the CSV header names a column twice: ${header.join(', ')}`, 'give every column its own name', 'CSV_INVALID');
      types = header.map(() => null);
      return;
    }
    if (fields.length === 1 && fields[0] === '' && !quoted[0]) return; // blank line
    if (fields.length !== header.length) {
      throw new UsageError(`CSV line ${rows + 2} has ${fields.length} fields but the header has ${header.length}`, 'every line needs one value per header column', 'CSV_RAGGED');
    }
    rows++;
    for (let i = 0; i < fields.length; i++) {
      if (fields[i] === '' && !quoted[i]) continue; // NULL
      types[i] = quoted[i] ? 'text' : widen(types[i], fields[i]);
    }
  };
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) p1.push(chunk as string, onRecord1);
  p1.end(onRecord1);
  if (header === null) throw new UsageError(`the CSV file ${file} is empty`, 'it needs a header line naming the columns', 'CSV_EMPTY');
  const cols = (header as string[]).map((name, i) => ({ name, type: types[i] ?? 'text' }));

  // pass 2: COPY the records (not the header), in chunks that end on record boundaries
  const runId = randomUUID();
  const staging: Staging = stagingFor(target, runId);
  try {
    await db.main.exec(`CREATE TABLE ${qident(staging.staging)} (${cols.map((c) => `${ident(c.name)} ${c.type}`).join(', ')})`);
    const enc = new TextEncoder();
    async function* body(): AsyncIterable<Uint8Array> {
      // offsets are absolute positions in the file's text; buf holds the text from bufStart on
      const p2 = new CsvRecords(delim);
      let headerEnd = -1;
      let lastEnd = 0;
      let buf = '';
      let bufStart = 0;
      let seen = 0;
      for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
        const text = chunk as string;
        p2.push(text, (_f, _q, end) => {
          if (headerEnd === -1) headerEnd = seen + end;
          lastEnd = seen + end;
        });
        seen += text.length;
        buf += text;
        const from = Math.max(headerEnd, bufStart);
        if (headerEnd !== -1 && lastEnd > from) {
          yield enc.encode(buf.slice(from - bufStart, lastEnd - bufStart));
          buf = buf.slice(lastEnd - bufStart);
          bufStart = lastEnd;
        }
      }
      const rest = buf.slice(Math.max(headerEnd, bufStart) - bufStart);
      if (headerEnd !== -1 && rest.length > 0) yield enc.encode(rest.endsWith('\n') ? rest : `${rest}\n`);
    }
    await db.main.copyIn(`${qident(staging.staging)} (${cols.map((c) => ident(c.name)).join(', ')})`, 'csv', body());
    await db.main.exec('BEGIN');
    await db.main.exec(`DROP TABLE IF EXISTS ${qident(target)}`);
    await db.main.exec(`ALTER TABLE ${qident(staging.staging)} RENAME TO ${ident(target[target.length - 1])}`);
    await db.main.exec('COMMIT');
  } catch (e) {
    await abandon(db.main, staging, null, e);
    throw e;
  }
  return { table: target, rows, columns: cols, seconds: (performance.now() - t0) / 1000 };
}
