import type { Field, TextSink, TextValue } from '../index.js';

/**
 * Writers for `manymodels sql`: rows arrive a batch at a time as PostgreSQL's text output and leave
 * as soon as they are formatted, waiting whenever stdout is full, so memory stays bounded.
 */
export type Format = 'table' | 'csv' | 'json';

export interface ResultWriter extends TextSink {
  /** After the last batch: the closing lines (a row count, a bracket). */
  end(): Promise<void>;
}

/** The reader of the output went away (`manymodels sql ... | head`): stop, quietly. */
export class OutputClosedError extends Error {
  constructor(cause: unknown) {
    super('the output was closed', { cause });
  }
}

/**
 * Writes text, waiting for the stream to drain when it says it is full. Once the stream fails
 * (EPIPE: the reader closed the pipe) every write rejects with OutputClosedError.
 */
export function writerTo(stream: NodeJS.WritableStream): (text: string) => Promise<void> {
  let failed: unknown = null;
  stream.on('error', (e: unknown) => {
    failed = e;
  });
  return (text) =>
    new Promise<void>((resolve, reject) => {
      if (failed !== null) return reject(new OutputClosedError(failed));
      const fail = (e: unknown): void => {
        stream.off('drain', drained);
        reject(new OutputClosedError(e));
      };
      const drained = (): void => {
        stream.off('error', fail);
        resolve();
      };
      if (stream.write(text)) return resolve();
      stream.once('drain', drained);
      stream.once('error', fail);
    });
}

export function resultWriter(format: Format, write: (text: string) => Promise<void>): ResultWriter {
  return format === 'csv' ? csvWriter(write) : format === 'json' ? jsonWriter(write) : tableWriter(write);
}

// ---- type OIDs (pg_type.oid) ----
const NUMERIC_OIDS = new Set([20, 21, 23, 26, 700, 701, 790, 1700]);
const BOOL = 16;
const JSON_OIDS = new Set([114, 3802]);
/** Arrays whose elements JSON can hold as they are: array OID → element OID. */
const ARRAY_ELEMENT: Record<number, number> = {
  1000: 16, 1005: 21, 1007: 23, 1016: 20, 1021: 700, 1022: 701, 1231: 1700, 1028: 26,
  1009: 25, 1015: 1043, 1014: 1042, 199: 114, 3807: 3802,
};

// ---- table: psql's aligned format ----

/**
 * psql's aligned format. Column widths come from the header and the first batch; a later value
 * that is wider widens its own line only (as psql does with FETCH_COUNT). NULL prints as nothing.
 */
function tableWriter(write: (text: string) => Promise<void>): ResultWriter {
  let fields: readonly Field[] = [];
  let width: number[] = [];
  let right: boolean[] = [];
  let count = 0;
  let started = false;
  const line = (cells: readonly string[]): string =>
    ` ${cells.map((c, i) => (right[i] ? c.padStart(width[i]) : c.padEnd(width[i]))).join(' | ')}`.trimEnd();
  const cells = (row: readonly TextValue[]): string[] => row.map((v) => v ?? '');
  const header = async (rows: readonly (readonly TextValue[])[]): Promise<void> => {
    started = true;
    const names = fields.map((f) => f.name);
    width = names.map((n, i) => Math.max(n.length, ...rows.map((r) => (r[i] ?? '').length)));
    right = fields.map((f) => NUMERIC_OIDS.has(f.dataTypeID));
    const head = ` ${names.map((n, i) => n.padStart(Math.floor((width[i] + n.length) / 2)).padEnd(width[i])).join(' | ')}`.trimEnd();
    await write(`${head}\n${width.map((w) => '-'.repeat(w + 2)).join('+')}\n`);
  };
  return {
    fields(f) {
      fields = f;
    },
    async rows(rows) {
      if (!started) await header(rows);
      count += rows.length;
      await write(rows.map((r) => `${line(cells(r))}\n`).join(''));
    },
    async end() {
      if (!started) await header([]);
      await write(`(${count} row${count === 1 ? '' : 's'})\n`);
    },
  };
}

// ---- csv: PostgreSQL's CSV convention (COPY ... WITH (FORMAT csv, HEADER)) ----

/**
 * NULL is an unquoted empty field, the empty string a quoted one (""); quotes where PostgreSQL
 * quotes: a delimiter, quote or line break, and `\.` alone on a line (a one-column result).
 */
export function csvField(v: TextValue, singleColumn = false): string {
  if (v === null) return '';
  if (v === '' || (singleColumn && v === '\\.') || /[",\n\r]/.test(v)) return `"${v.replaceAll('"', '""')}"`;
  return v;
}

function csvWriter(write: (text: string) => Promise<void>): ResultWriter {
  let single = false;
  return {
    async fields(f) {
      single = f.length === 1;
      await write(`${f.map((x) => csvField(x.name, single)).join(',')}\n`);
    },
    async rows(rows) {
      await write(rows.map((r) => `${r.map((v) => csvField(v, single)).join(',')}\n`).join(''));
    },
    async end() {},
  };
}

// ---- json: an array of objects, one line per row ----

const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * One value as JSON text: numbers with every digit PostgreSQL printed (a bigint above 2^53 stays
 * exact; NaN and ±Infinity become strings), booleans, json and jsonb as they are, arrays of those
 * as JSON arrays, everything else as its text.
 */
export function jsonValue(v: TextValue, oid: number): string {
  if (v === null) return 'null';
  if (NUMERIC_OIDS.has(oid) && oid !== 790) {
    if (JSON_NUMBER.test(v)) return v;
    const trimmed = v.replace(/^(-?)0+(?=\d)/, '$1').replace(/^(-?)\./, '$10.').replace(/\.(?=$|[eE])/, '');
    return JSON_NUMBER.test(trimmed) ? trimmed : JSON.stringify(v);
  }
  if (oid === BOOL) return v === 't' ? 'true' : v === 'f' ? 'false' : JSON.stringify(v);
  if (JSON_OIDS.has(oid)) return v;
  const element = ARRAY_ELEMENT[oid];
  if (element !== undefined && v.startsWith('{')) {
    const parsed = parseArrayLiteral(v);
    if (parsed !== null) return arrayJson(parsed, element);
  }
  return JSON.stringify(v);
}

type ArrayItem = TextValue | ArrayItem[];

function arrayJson(items: ArrayItem[], element: number): string {
  return `[${items.map((x) => (Array.isArray(x) ? arrayJson(x, element) : jsonValue(x, element))).join(',')}]`;
}

/**
 * PostgreSQL's array output (`{1,2}`, `{{"a b",NULL},{"\"",c}}`) as nested arrays of element
 * texts, an unquoted NULL as null; null when the text is not in that form.
 */
export function parseArrayLiteral(text: string): ArrayItem[] | null {
  let i = 0;
  const parse = (): ArrayItem[] | null => {
    if (text[i] !== '{') return null;
    i++;
    const out: ArrayItem[] = [];
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      if (text[i] === '{') {
        const inner = parse();
        if (inner === null) return null;
        out.push(inner);
      } else if (text[i] === '"') {
        i++;
        let s = '';
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\') i++;
          s += text[i++];
        }
        if (text[i] !== '"') return null;
        i++;
        out.push(s);
      } else {
        const start = i;
        while (i < text.length && text[i] !== ',' && text[i] !== '}') i++;
        const s = text.slice(start, i);
        out.push(s === 'NULL' ? null : s);
      }
      if (text[i] === ',') i++;
      else if (text[i] === '}') {
        i++;
        return out;
      } else return null;
    }
  };
  const r = parse();
  return r !== null && i === text.length ? r : null;
}

/** Keys for a row object: a name that repeats gets _2, _3, ... (a name not already taken). */
export function uniqueKeys(names: readonly string[]): string[] {
  const taken = new Set(names);
  const seen = new Set<string>();
  return names.map((n) => {
    if (!seen.has(n)) {
      seen.add(n);
      return n;
    }
    let k = 2;
    while (taken.has(`${n}_${k}`)) k++;
    const key = `${n}_${k}`;
    taken.add(key);
    seen.add(key);
    return key;
  });
}

function jsonWriter(write: (text: string) => Promise<void>): ResultWriter {
  let keys: string[] = [];
  let oids: number[] = [];
  let first = true;
  return {
    fields(f) {
      keys = uniqueKeys(f.map((x) => x.name)).map((k) => JSON.stringify(k));
      oids = f.map((x) => x.dataTypeID);
    },
    async rows(rows) {
      let text = '';
      for (const r of rows) {
        text += `${first ? '[\n' : ',\n'}  {${r.map((v, i) => `${keys[i]}: ${jsonValue(v, oids[i])}`).join(', ')}}`;
        first = false;
      }
      await write(text);
    },
    async end() {
      await write(first ? '[]\n' : '\n]\n');
    },
  };
}
