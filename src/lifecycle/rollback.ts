import type { Database } from '../db/connection.js';
import { DatabaseError, UsageError } from '../errors.js';
import { displayName, qident, type QualifiedName } from '../sql/ident.js';
import { statisticsSpec } from '../pipeline/output-table.js';
import { readTableMeta, type TableMeta } from '../pipeline/catalog.js';
import { resolveDialect } from '../pipeline/dialect.js';
import { withRun } from '../pipeline/run.js';
import { type TableRef, tableName } from '../pipeline/source.js';
import { checkKeep, fullVersionKeeper, listVersions, placementLike, stateSource } from './versions.js';

export interface RollbackOptions {
  /** The models table. */
  models: TableRef;
  /** The run whose state to restore (a full id, or a unique prefix of one); default: the state before the latest run. */
  to?: string;
  /** Earlier versions to keep, counting the state this rollback replaces (default 3). */
  keep?: number;
  /** Wait for another run writing the same table (default true), or fail at once with OUTPUT_LOCKED. */
  wait?: boolean;
  signal?: AbortSignal;
  /** 'postgres', 'citus' or 'greenplum'; default: detected from the server. */
  dialect?: 'postgres' | 'citus' | 'greenplum';
}

export interface RollbackResult {
  /** The rollback's own run (in manymodels.runs, kind 'rollback'): the restored state is recorded under it. */
  runId: string;
  table: readonly string[];
  /** The run whose state was restored. */
  restored: string;
  /** The run whose state was replaced (now kept as a version, unless keep is 0). */
  replaced: string;
  groupsOk: number;
  groupsFailed: number;
  seconds: number;
}

/** The models table's metadata, or TABLE_NOT_FOUND / NOT_A_MODELS_TABLE. */
export async function modelsTableMeta(db: Database, target: QualifiedName): Promise<TableMeta> {
  const meta = await readTableMeta(db.main, target);
  if (meta === undefined) throw new DatabaseError('TABLE_NOT_FOUND', `the models table ${displayName(target)} does not exist`, 'train models first: manymodels train ... --into T');
  if (meta === null || meta.manymodels !== 'models') throw new DatabaseError('NOT_A_MODELS_TABLE', `${displayName(target)} is not a models table written by manymodels train`, 'pass the table that manymodels train wrote (--into of train)');
  return meta;
}

/** A run id from a full id or a unique prefix of one, among the runs with a kept state of the table. */
export async function resolveRun(db: Database, target: QualifiedName, given: string): Promise<string> {
  const live = await modelsTableMeta(db, target);
  const ids = [live.runId, ...(await listVersions(db.main, target)).map((v) => v.runId)];
  const want = given.trim().toLowerCase();
  const hits = ids.filter((id) => id === want || (want.length >= 4 && id.startsWith(want)));
  if (hits.length === 1) return hits[0];
  if (hits.length > 1) throw new UsageError(`the run prefix ${JSON.stringify(given)} names several kept states of ${displayName(target)}: ${hits.join(', ')}`, 'give more of the run id', 'INVALID_OPTION');
  throw new DatabaseError(
    'VERSION_NOT_FOUND',
    `run ${JSON.stringify(given)} wrote no state of ${displayName(target)} that is kept`,
    ids.length === 1 ? 'no earlier version is kept (later runs keep them: train --keep N)' : `the kept states are runs ${ids.join(', ')} (the first is the current one); see manymodels runs --models ${displayName(target)}`,
  );
}

/**
 * Restores an earlier state of a models table, in one transaction, as a run of its own: the state
 * is built under a staging name and swapped in as a train's table is (so what is attached to the
 * table stays, and a failed or killed rollback changes nothing); the state it replaces becomes a
 * version in turn, so a rollback can itself be rolled back.
 */
export async function rollback(db: Database, opts: RollbackOptions, version: string): Promise<RollbackResult> {
  const t0 = performance.now();
  const target = tableName(opts.models);
  const keep = checkKeep(opts.keep);
  const live = await modelsTableMeta(db, target);
  let to: string;
  if (opts.to === undefined) {
    const newest = (await listVersions(db.main, target))[0];
    if (newest === undefined) throw new DatabaseError('VERSION_NOT_FOUND', `no earlier version of ${displayName(target)} is kept: there is nothing to roll back to`, 'runs keep the state they replace (train --keep N, default 3); runs with --keep 0 keep none');
    to = newest.runId;
  } else {
    to = await resolveRun(db, target, opts.to);
  }
  if (to === live.runId) throw new UsageError(`run ${to} wrote the current state of ${displayName(target)}: there is nothing to restore`, 'name an earlier run: manymodels runs --models ' + displayName(target), 'INVALID_OPTION');
  const dialect = await resolveDialect(db, opts.dialect);
  const placement = await placementLike(db, dialect, target, live.group);
  const probe = await stateSource(db.main, target, to);
  const fields = (await db.main.query(`SELECT * FROM ${probe.sql} AS v LIMIT 0`)).fields;
  return withRun(
    db,
    {
      target,
      version,
      wait: opts.wait,
      signal: opts.signal,
      output: {
        columns: fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID })),
        primaryKey: probe.meta.group,
        keeper: fullVersionKeeper(dialect, keep, placement),
        analyze: statisticsSpec(dialect, fields.map((f) => f.name)),
      },
      record: {
        kind: 'rollback',
        source: `${displayName(target)} as run ${to} wrote it`,
        groupKey: probe.meta.group,
        features: probe.meta.features.kind === 'columns' ? probe.meta.features.names : [probe.meta.features.name],
        label: probe.meta.label,
        inputForm: probe.meta.form,
        estimator: probe.meta.estimator,
      },
    },
    async ({ runId, staging }) => {
      // read again under the table's lock: another run may have written the table meanwhile
      const now = await modelsTableMeta(db, target);
      const src = await stateSource(db.main, target, to);
      for (const sql of dialect.createTableAs(staging.staging, `SELECT * FROM ${src.sql} AS v`, placement.distributeBy, placement.colocateWith)) await db.main.exec(sql);
      const c = (await db.main.query<{ ok: number; failed: number; used: number; skipped: number }>(
        `SELECT count(*) FILTER (WHERE status = 'ok')::float8 AS ok, count(*) FILTER (WHERE status <> 'ok')::float8 AS failed,
                coalesce(sum(n_rows) FILTER (WHERE status = 'ok'), 0)::float8 AS used, coalesce(sum(n_skipped), 0)::float8 AS skipped FROM ${qident(staging.staging)}`,
      )).rows[0];
      const { runId: _old, ...meta } = src.meta;
      return {
        result: { runId, table: target, restored: to, replaced: now.runId, groupsOk: c.ok, groupsFailed: c.failed, seconds: (performance.now() - t0) / 1000 },
        meta,
        end: { status: 'succeeded', groupsOk: c.ok, groupsFailed: c.failed, rowsUsed: c.used, rowsSkipped: c.skipped },
      };
    },
  );
}
