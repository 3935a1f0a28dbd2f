import type { Database } from '../db/connection.js';
import { readTableMeta } from '../pipeline/catalog.js';
import { listRuns, type RunRecord } from '../pipeline/runs.js';
import { type TableRef, tableName } from '../pipeline/source.js';
import { listVersions } from './versions.js';

export interface HistoryEntry extends RunRecord {
  /** What is left of the state the run wrote: 'current' (the table), 'kept' (a version), 'gone' (dropped by retention, or never written). */
  state: 'current' | 'kept' | 'gone';
  /** For a kept version: 'full' (every row archived) or 'delta' (the rows the next run replaced). */
  versionKind: 'full' | 'delta' | null;
}

/** The runs that wrote a models table, newest first, each with what is left of the state it wrote. */
export async function modelsHistory(db: Database, models: TableRef, limit = 50): Promise<HistoryEntry[]> {
  const target = tableName(models);
  const runs = await listRuns(db, limit, target);
  const live = await readTableMeta(db.main, target);
  const versions = new Map((await listVersions(db.main, target)).map((v) => [v.runId, v.kind]));
  return runs.map((r) => {
    const kept = versions.get(r.runId);
    return { ...r, state: live?.runId === r.runId ? 'current' : kept !== undefined ? 'kept' : 'gone', versionKind: kept ?? null };
  });
}
