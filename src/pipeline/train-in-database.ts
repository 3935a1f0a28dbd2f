import type { Connection, Database } from '../db/connection.js';
import { UsageError } from '../errors.js';
import { partlyNullKey } from '../sql/key-match.js';
import { estimatorEntry } from '../estimators/registry.js';
import type { Dialect } from '../sql/dialect.js';
import {
  dataTableSql,
  groupTableSql,
  type InDbSpec,
  inDatabaseMaxFeatures,
  leastSquaresSolveSql,
  logisticStepSql,
  modelsTableSql,
  nullKeyCountSql,
  trainScoreSql,
  unfinishedCountSql,
} from '../sql/in-database.js';
import { literal, qident, type QualifiedName } from '../sql/ident.js';
import type { Staging } from './output-table.js';
import { workTablesOf } from './output-table.js';
import { featureNames } from '../model-io/document.js';
import { faultPoint } from './fault.js';
import { ProgressTracker } from './progress.js';
import { estimateRows } from './source.js';
import type { TrainOptions, TrainOutcome, TrainPlan } from './train.js';
import { type FailureTally, REASON_NUMBER } from '../exec/failure-tally.js';

/** Checks that the in-database strategy can do what is asked, and settles its SQL. */
export async function inDatabaseSpec(db: Database, plan: TrainPlan, dialect: Dialect, staging: Staging, runId: string): Promise<InDbSpec> {
  const entry = estimatorEntry(plan.fitSpec.estimator);
  const params = entry.create(plan.fitSpec.params).getParams() as Record<string, unknown>;
  if (entry.name === 'LogisticRegression' && params.classWeight !== null) {
    throw new UsageError('the in-database strategy does not support classWeight', 'use the streaming strategy (the default), which supports classWeight');
  }
  if (plan.fitSpec.inference === true) {
    throw new UsageError('the in-database strategy does not compute inference statistics', 'use the streaming strategy (the default), which stores them with inference: true (--inference)', 'INVALID_OPTION');
  }
  if (plan.group.length > 1) {
    // its work tables are joined on the key with plain equality (co-located on Citus), which never matches NULL
    const partly = await db.main.query<{ e: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${plan.fromSql} WHERE ${partlyNullKey('s', plan.group)}) AS e`);
    if (partly.rows[0].e === true) {
      throw new UsageError(
        `some rows have a group key with NULL in some of its columns (such as (1, NULL)), which GROUP BY makes a group of its own; the in-database strategy cannot fit those groups`,
        'use the streaming strategy, or replace the NULLs with a value in a query (coalesce)',
        'KEY_PARTLY_NULL',
      );
    }
  }
  let features: string[];
  const f = plan.layout.features;
  if (f.kind === 'packed') {
    throw new UsageError('the in-database strategy reads the long form (one row per observation), not packed arrays', 'give it the rows, or use the streaming strategy');
  } else if (f.kind === 'array') {
    const col = plan.featureSql[0];
    const r = await db.main.query<{ lo: number | null; hi: number | null }>(`SELECT min(array_length(${col}, 1)) AS lo, max(array_length(${col}, 1)) AS hi FROM ${plan.fromSql}`);
    const { lo, hi } = r.rows[0];
    if (lo === null || hi === null) throw new UsageError('the feature arrays are all NULL or empty');
    if (lo !== hi) throw new UsageError(`the feature arrays have ${lo} to ${hi} elements; the in-database strategy needs one length`, 'use the streaming strategy, which fails only the groups with unequal arrays');
    features = Array.from({ length: hi }, (_, j) => `(${col})[${j + 1}]::float8`);
  } else {
    features = plan.featureSql;
  }
  const max = inDatabaseMaxFeatures(entry.name, params.fitIntercept !== false, plan.group.length);
  if (features.length > max) {
    throw new UsageError(
      `the in-database strategy fits at most ${max} features for ${entry.name} with ${plan.group.length === 1 ? 'one group key column' : `${plan.group.length} group key columns`}, got ${features.length}: its per-group sums are one row of float8 columns, and PostgreSQL limits a row to 1,664 columns and 8 kB`,
      'use the streaming strategy (no width limit), or fewer features',
      'TOO_MANY_FEATURES',
    );
  }
  return forRun({
    dialect,
    fromSql: plan.fromSql,
    sourceTable: plan.sourceTable,
    distributeBy: plan.distributeBy,
    group: plan.group,
    features,
    featureNames: plan.fitSpec.features === undefined ? undefined : featureNames(plan.fitSpec.features, features.length),
    label: plan.labelSql,
    labelKind: plan.layout.label === 'text' ? 'text' : 'number',
    bigintLabel: plan.layout.label === 'int8',
    estimator: entry.name,
    params,
    minRows: plan.fitSpec.minRows,
  }, staging, runId);
}

type RunFields = 'runId' | 'staging' | 'dataTable' | 'groupTable';

/** The spec for one run: its id and its staging and work tables (<staging>_d, <staging>_g). */
export function forRun(spec: Omit<InDbSpec, RunFields>, staging: Staging, runId: string): InDbSpec {
  const [table, dataTable, groupTable] = workTablesOf(staging);
  return { ...spec, runId, staging: table, dataTable, groupTable };
}

/** Every statement of an in-database run, in order (the iteration shown once), for --explain. */
export function inDatabaseStatements(o: InDbSpec): string[] {
  const out = [...dataTableSql(o), ...groupTableSql(o)];
  if (o.estimator === 'LogisticRegression') {
    out.push(`-- Newton iteration, repeated until every group is done (at most maxIter accepted steps):`, logisticStepSql(o), unfinishedCountSql(o));
  } else {
    out.push(leastSquaresSolveSql(o));
  }
  out.push(trainScoreSql(o), ...modelsTableSql(o), `DROP TABLE ${qident(o.dataTable)}`, `DROP TABLE ${qident(o.groupTable)}`);
  return out;
}

/** The in-database strategy: every statement runs inside the engine; see sql/in-database.ts. */
export async function trainInDatabase(db: Database, o: InDbSpec, opts: TrainOptions, checkCancelled: () => void): Promise<TrainOutcome> {
  const conn = db.main;
  const progress = new ProgressTracker('train', await estimateRows(db, opts.from), opts.onProgress, undefined, opts.signal);
  // a cancel request (SIGINT) stops the statement running on the server
  const onAbort = (): void => void conn.cancel?.();
  opts.signal?.addEventListener('abort', onAbort);
  try {
    return await run();
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }

  async function run(): Promise<TrainOutcome> {
  for (const sql of dataTableSql(o)) await conn.exec(sql);
  await faultPoint('indb:data');
  checkCancelled();
  for (const sql of groupTableSql(o)) await conn.exec(sql);
  await faultPoint('indb:groups');
  const count = async (sql: string): Promise<number> => Number((await conn.query<{ n: number }>(sql)).rows[0].n);
  const total = await count(`SELECT count(*)::float8 AS n FROM ${qident(o.groupTable)}`);
  if (o.estimator === 'LogisticRegression') {
    const maxIter = Number(o.params.maxIter ?? 100);
    // each pass either accepts a Newton step or halves one: bounded like the streaming solver
    const maxPasses = maxIter * 4 + 64;
    let left = await count(unfinishedCountSql(o));
    for (let pass = 0; left > 0 && pass < maxPasses; pass++) {
      checkCancelled();
      await conn.exec(logisticStepSql(o));
      await faultPoint(`indb:iter:${pass + 1}`);
      const now = await count(unfinishedCountSql(o));
      progress.add(left - now, 0);
      left = now;
    }
    if (left > 0) {
      await conn.exec(`UPDATE ${qident(o.groupTable)} SET done = true, converged = false, ${Array.from({ length: o.features.length + (o.params.fitIntercept !== false ? 1 : 0) }, (_, j) => `w_${j} = a_${j}`).join(', ')} WHERE NOT done`);
    }
  } else {
    await conn.exec(leastSquaresSolveSql(o));
  }
  checkCancelled();
  await conn.exec(trainScoreSql(o));
  for (const sql of modelsTableSql(o)) await conn.exec(sql);
  await faultPoint('indb:models');
  const t = (await conn.query<Record<string, number>>(
    `SELECT count(*) FILTER (WHERE error IS NULL)::float8 AS ok, count(*) FILTER (WHERE error IS NOT NULL)::float8 AS failed,
            coalesce(sum(n) FILTER (WHERE error IS NULL), 0)::float8 AS used, coalesce(sum(n_skipped), 0)::float8 AS skipped,
            count(*) FILTER (WHERE error IS NULL AND NOT converged)::float8 AS not_converged, coalesce(sum(n + n_skipped), 0)::float8 AS rows
     FROM ${qident(o.groupTable)}`,
  )).rows[0];
  const failures = await tallyOf(conn, o.groupTable, 'error', 'error IS NOT NULL');
  const notes = await tallyOf(conn, o.groupTable, 'note', 'error IS NULL AND note IS NOT NULL');
  const nullKeyRows = await count(nullKeyCountSql(o));
  await conn.exec(`DROP TABLE ${qident(o.dataTable)}`);
  await conn.exec(`DROP TABLE ${qident(o.groupTable)}`);
  progress.groupsDone = total;
  progress.rowsDone = Number(t.rows);
  progress.finish();
  return {
    totals: { ok: Number(t.ok), failed: Number(t.failed), used: Number(t.used), skipped: Number(t.skipped), notConverged: Number(t.not_converged) },
    failures,
    notes,
    nullKeyRows,
  };
  }
}

/** Failures (or notes) of the group table by code and kind of reason. */
async function tallyOf(conn: Connection, table: QualifiedName, column: 'error' | 'note', where: string): Promise<FailureTally> {
  const t: FailureTally = {};
  for (const r of (await conn.query<{ code: string; kind: string; count: number; example: string }>(
    `SELECT split_part(${column}, ':', 1) AS code, regexp_replace(${column}, ${literal(REASON_NUMBER)}, '#', 'g') AS kind, count(*)::float8 AS count, min(${column}) AS example
     FROM ${qident(table)} WHERE ${where} GROUP BY 1, 2`,
  )).rows) {
    const f = (t[r.code] ??= { count: 0, example: r.example, kinds: {} });
    f.count += Number(r.count);
    f.kinds[r.kind] = { example: r.example, count: Number(r.count) };
  }
  return t;
}
