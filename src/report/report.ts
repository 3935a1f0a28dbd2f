import { writeFileSync } from 'node:fs';
import type { Database } from '../db/connection.js';
import { type ReportData, type ReportOptions, reportData } from './data.js';
import { renderReport } from './html.js';

export interface ReportResult {
  /** Where the HTML was written. */
  file: string;
  bytes: number;
  /** The charts drawn. */
  charts: number;
  data: ReportData;
}

/** Writes a self-contained HTML report on a models table (and its predictions and recommendations) to `out`. */
export async function writeReport(db: Database, opts: ReportOptions & { out: string }, version: string): Promise<ReportResult> {
  const data = await reportData(db, opts, version);
  const html = renderReport(data);
  writeFileSync(opts.out, html);
  return { file: opts.out, bytes: Buffer.byteLength(html), charts: (html.match(/<figure data-chart=/g) ?? []).length, data };
}
