import { open, type ManyModels } from '../api.js';
import { UsageError } from '../errors.js';
import type { SourceRef } from '../pipeline/source.js';
import { parseQualifiedName } from '../sql/ident.js';

/** Where commands keep their embedded database when --db is not given. */
export const DEFAULT_DB_DIR = '.manymodels/db';

export interface GlobalOptions {
  db?: string;
  quiet?: boolean;
}

/**
 * The database a command works on: --db, else $MANYMODELS_DB, else $DATABASE_URL (so a password
 * need not be typed on the command line), else ./.manymodels/db.
 */
export function databaseTarget(g: GlobalOptions): string {
  for (const v of [g.db, process.env.MANYMODELS_DB, process.env.DATABASE_URL]) if (v !== undefined && v !== '') return v;
  return DEFAULT_DB_DIR;
}

/**
 * Opens the command's database. Only commands that write data (import, train, demo) pass
 * `create`; the others report DATABASE_NOT_FOUND for a directory that holds no embedded database.
 */
export async function openFromOptions(g: GlobalOptions, opts: { create?: boolean } = {}): Promise<ManyModels> {
  return open(databaseTarget(g), { create: opts.create === true });
}

/** --from: a query when it starts like one (SELECT, WITH, VALUES, TABLE), else a table name as SQL reads it. */
export function parseSource(text: string): SourceRef {
  if (/^\s*\(?\s*(select|with|values|table)\b/i.test(text)) return { query: text };
  return parseQualifiedName(text);
}

/** --param NAME=VALUE: numbers, true, false, null and JSON objects are parsed, the rest stays text. */
export function parseParams(items: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param ${JSON.stringify(item)} is not NAME=VALUE`, 'for example --param C=0.5');
    const name = item.slice(0, eq).trim();
    const raw = item.slice(eq + 1).trim();
    let value: unknown = raw;
    if (/^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)$/.test(raw) || /^[[{]/.test(raw)) {
      try {
        value = JSON.parse(raw);
      } catch {
        throw new UsageError(`--param ${name}: ${JSON.stringify(raw)} is not valid JSON`);
      }
    }
    out[name] = value;
  }
  return out;
}

/** A whole-number flag (--min-rows 5): the flag is named in the error, as the user typed it. */
export function intOption(flag: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\s*[+-]?\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag} must be a whole number ≥ ${min}, got ${JSON.stringify(text)}`, undefined, 'INVALID_OPTION');
  return n;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** --format of the commands that print a summary: text (default) or json. */
export function outputFormat(v: string | undefined): 'text' | 'json' {
  if (v === undefined || v === 'text' || v === 'json') return v ?? 'text';
  throw new UsageError(`--format must be text or json, got ${JSON.stringify(v)}`);
}

/**
 * A command's result as one JSON object on stdout: numbers as JavaScript's shortest round-trip
 * form (every bit of a float8), dates as ISO 8601 text, a bigint as its decimal text.
 */
let jsonPrinted = false;

/** Whether this process has printed its JSON result (main then prints an error as JSON only when it has not). */
export function printedJson(): boolean {
  return jsonPrinted;
}

export function printJson(value: unknown): void {
  jsonPrinted = true;
  process.stdout.write(`${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
}

/** A fraction flag (--holdout 0.2): strictly between 0 and 1. */
export function fractionOption(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = /^\s*\d*\.?\d+([eE][+-]?\d+)?\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!(v > 0 && v < 1)) throw new UsageError(`${flag} must be a fraction between 0 and 1 (exclusive), got ${JSON.stringify(text)}`, 'for example --holdout 0.2', 'INVALID_OPTION');
  return v;
}

/**
 * --param-grid NAME=V1,V2,...: each value read as --param reads one (numbers, true, false, null and
 * JSON objects parsed, the rest text); commas inside {...}, [...] or "..." do not split.
 */
export function parseParamGrid(items: readonly string[]): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param-grid ${JSON.stringify(item)} is not NAME=V1,V2,...`, 'for example --param-grid C=0.01,0.1,1,10');
    const name = item.slice(0, eq).trim();
    const parts: string[] = [];
    let depth = 0;
    let quoted = false;
    let cur = '';
    for (const ch of item.slice(eq + 1)) {
      if (ch === '"') quoted = !quoted;
      else if (!quoted && (ch === '{' || ch === '[')) depth++;
      else if (!quoted && (ch === '}' || ch === ']')) depth--;
      if (ch === ',' && depth === 0 && !quoted) {
        parts.push(cur);
        cur = '';
      } else cur += ch;
    }
    parts.push(cur);
    if (parts.some((p) => p.trim() === '')) throw new UsageError(`--param-grid ${name}: an empty value in ${JSON.stringify(item.slice(eq + 1))}`, 'separate the values with single commas');
    if (name in out) throw new UsageError(`--param-grid ${name} is given twice`, 'give all its values in one flag: --param-grid C=0.1,1,10', 'INVALID_OPTION');
    out[name] = parts.map((p) => parseParams([`${name}=${p}`])[name]);
  }
  return out;
}
