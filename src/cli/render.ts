import type { QueryResult } from '../db/connection.js';

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return `{${v.map((x) => (Array.isArray(x) ? cell(x) : x === null ? 'NULL' : String(x))).join(',')}}`;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Renders rows of objects (the demo's, the run catalog's) the way psql's aligned format does, with a row count. */
export function renderTable(res: Pick<QueryResult, 'rows' | 'fields'>): string {
  const names = res.fields.map((f) => f.name);
  const rows = res.rows.map((r) => names.map((n) => cell((r as Record<string, unknown>)[n])));
  const width = names.map((n, i) => Math.max(n.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[], right: boolean[]) => ` ${cells.map((c, i) => (right[i] ? c.padStart(width[i]) : c.padEnd(width[i]))).join(' | ')}`.trimEnd();
  const numeric = names.map((_, i) => rows.length > 0 && rows.every((r) => r[i] === '' || /^-?[\d.e+-]+$/i.test(r[i])));
  const out = [line(names.map((n, i) => n.padStart(Math.floor((width[i] + n.length) / 2)).padEnd(width[i])), names.map(() => false))];
  out.push(width.map((w) => '-'.repeat(w + 2)).join('+').replace(/^-/, '-'));
  for (const r of rows) out.push(line(r, numeric));
  out.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  return out.join('\n');
}
