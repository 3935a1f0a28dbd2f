import { type Connection, type Database, withLocalWorkMem } from '../db/connection.js';
import { DatabaseError, UsageError } from '../errors.js';
import { createEstimator } from '../estimators/registry.js';
import { AutoFitter } from '../exec/pool.js';
import type { Dialect } from '../sql/dialect.js';
import { ident, literal, qident, type QualifiedName } from '../sql/ident.js';
import { keyMatch } from '../sql/key-match.js';
import { weightSql } from '../preprocess/plan.js';
import { CATALOG_SCHEMA, readTableMeta, runEndStatement, type RunEnd, tableRecordStatements, type TableMeta, META_PREFIX, metaComment } from '../pipeline/catalog.js';
import { columnNames } from '../pipeline/attached.js';
import { faultPoint } from '../pipeline/fault.js';
import { analyzeSql, checkTarget, type Staging, statisticsSpec, type SwapSpec, swapIn, workTablesOf } from '../pipeline/output-table.js';
import { withRun } from '../pipeline/run.js';
import { column, resolveSource, tableName } from '../pipeline/source.js';
import { type IncrementalSummary, keyTooLong, placeTraining, planTraining, runOutcome, tooManyFailed, type TrainOptions, type TrainPlan, type TrainResult } from '../pipeline/train.js';
import { trainStreaming } from '../pipeline/train-streaming.js';
import { fingerprintsSelect } from './fingerprint.js';
import { applyRetention, archiveName, checkKeep, dropVersion, fullVersionKeeper, recordVersion } from './versions.js';

/**
 * `train --incremental`: refits only the groups whose rows changed since the models table was
 * written, and keeps every other group's row as it is (its model, serialized_on and run_id).
 *
 *  1. Every group's fingerprint is computed in SQL where the rows are (fingerprint.ts), into a work
 *     table; a FULL JOIN with the models table's `fingerprint` column gives the groups that
 *     changed, appeared or vanished. No row of an unchanged group leaves the database.
 *     (With changedSince: the groups with a row above the previous run's watermark.)
 *  2. The rows of those groups stream out and are fitted as in a full run, into a staging table.
 *  3. In one transaction: the replaced rows are archived as a 'delta' version, the changed and
 *     vanished groups' rows deleted from the models table and the refitted ones inserted, the run
 *     closed. The table stays (with whatever is attached to it); a failed or killed run leaves it
 *     and its versions as they were.
 *
 * Each group is fitted from scratch, as a full retrain does (the solvers reach the exact optimum,
 * so starting from the stored coefficients could only change the number of iterations, and the
 * last bits of the result: the refitted models are bit-identical to a full retrain's).
 * The first incremental run into a table, or one whose estimator, parameters, features or limits
 * differ from the table's, fits every group (mode 'full') and records the fingerprints.
 */

/** Everything besides the rows that a group's fitted row depends on, as canonical JSON. */
export function fitSignature(plan: TrainPlan, opts: TrainOptions): string {
  const params = createEstimator(plan.fitSpec.estimator, plan.fitSpec.params).getParams() as Record<string, unknown>;
  return canonical({
    estimator: plan.fitSpec.estimator,
    params,
    minRows: plan.fitSpec.minRows,
    inference: plan.fitSpec.inference === true,
    maxGroupRows: opts.maxGroupRows ?? 1_000_000,
    group: plan.group,
    features: plan.meta.features,
    label: plan.meta.label,
    labelKind: plan.meta.labelKind,
    labelType: plan.meta.labelType ?? null,
    form: plan.meta.form,
    layout: plan.layout,
    featureSql: plan.featureSql,
    labelSql: plan.labelSql,
  });
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v as object).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

interface Work {
  /** All groups' fingerprints (fingerprint mode) or the changed groups' (changedSince). */
  fp: QualifiedName;
  /** The groups this run touches: key, fingerprint, in_src (refitted), in_live (the table had it). */
  changed: QualifiedName;
}

export async function trainIncremental(db: Database, opts: TrainOptions, version: string): Promise<TrainResult> {
  const t0 = performance.now();
  if ((opts.strategy ?? 'streaming') !== 'streaming') {
    throw new UsageError('incremental runs use the streaming strategy', 'leave out --strategy in-database with --incremental', 'INVALID_OPTION');
  }
  if (opts.pool !== undefined && opts.pool !== 'none') {
    // a pooled group's model depends on the global model, that is on every group's rows
    throw new UsageError('incremental runs cannot pool: with --pool global every group depends on all rows', 'train without --incremental, or without --pool', 'INVALID_OPTION');
  }
  const vanished = opts.vanished ?? 'drop';
  if (vanished !== 'keep' && vanished !== 'drop') throw new UsageError(`vanished must be 'keep' or 'drop', got ${JSON.stringify(vanished)}`, undefined, 'INVALID_OPTION');
  const keep = checkKeep(opts.keep);
  const planned = await planTraining(db, opts);
  const dialect = planned.dialect;
  const plan = await placeTraining(db, planned, dialect);
  const target = tableName(opts.into);
  await checkTarget(db.main, target, opts.replace === true, 'models');
  let since: { column: string; type: string } | null = null;
  if (opts.changedSince !== undefined) {
    const src = await resolveSource(db.main, opts.from, 'training source');
    const c = column(src, opts.changedSince, 'changed-since');
    const type = (await db.main.query<{ t: string }>(`SELECT format_type($1::oid, NULL) AS t`, [c.oid])).rows[0].t;
    since = { column: c.name, type };
  }
  // the sample weight is part of a row as the model reads it
  let weight: string | undefined;
  if (opts.weight !== undefined) {
    const src = await resolveSource(db.main, opts.from, 'training source');
    weight = weightSql(column(src, opts.weight, 'weight'), ident(CATALOG_SCHEMA));
  }
  const fit = fitSignature(plan, opts);
  const placement = { distributeBy: plan.distributeBy ?? plan.group, colocateWith: plan.sourceTable };
  const group = plan.group;
  const nullSafe = group.map(() => group.length > 1);
  const allNull = group.map((g) => `${ident(g)} IS NULL`).join(' AND ');
  const fitter = opts.fitter ?? new AutoFitter(opts.workers);
  let inPlace: { work: Work; previous: TableMeta } | null = null;
  try {
    return await withRun(
      db,
      {
        target,
        version,
        wait: opts.wait,
        signal: opts.signal,
        output: { ...plan.output, keeper: fullVersionKeeper(dialect, keep, placement) },
        record: {
          kind: 'train',
          source: plan.source,
          groupKey: plan.group,
          features: plan.featureNames,
          label: opts.label,
          inputForm: plan.meta.form,
          estimator: plan.fitSpec.estimator,
          params: plan.fitSpec.params,
        },
        swap: (conn, s, meta, runId, end, spec) => (inPlace === null ? swapIn(conn, s, meta, runId, end, spec) : applyInPlace(conn, dialect, s, meta, runId, end, { ...inPlace, keep, group, placement })),
      },
      async ({ runId, staging }) => {
        const [, d, g] = workTablesOf(staging);
        const work: Work = { fp: g, changed: d };
        const conn = db.main;
        const exec = async (stmts: string[]) => {
          for (const sql of stmts) await conn.exec(sql);
        };
        // under the table's lock: what the table is now
        const live = await readTableMeta(conn, target);
        const reason = await whyFull(conn, target, live, fit, plan);
        let watermark: string | null = null;
        if (since !== null) {
          watermark = (await conn.query<{ w: string | null }>(`SELECT max(s.${ident(since.column)})::text AS w FROM ${plan.fromSql}`)).rows[0].w;
        }
        const prevMark = live?.watermark !== undefined && since !== null && live.watermark.column === since.column ? live.watermark.value : null;
        const detection: IncrementalSummary['detection'] = reason === null && prevMark !== null ? 'changed-since' : 'fingerprint';
        const meta: Omit<TableMeta, 'runId'> = { ...plan.meta, fit, ...(since !== null && watermark !== null ? { watermark: { column: since.column, value: watermark } } : {}) };
        // the fingerprints of every group are one hash aggregate: room for it in memory, for this statement only
        const bigMemory = (stmts: string[]) => withLocalWorkMem(conn, '256MB', () => exec(stmts));
        let nullKeyRows = 0;
        let summary: IncrementalSummary;
        let sub = plan;
        if (reason !== null || detection === 'fingerprint') {
          await bigMemory(dialect.createTableAs(g, fingerprintsSelect(plan, plan.fromSql, weight), placement.distributeBy, placement.colocateWith));
          await faultPoint('fingerprints');
          const r = (await conn.query<{ n: number | null; groups: number }>(`SELECT sum(mm_rows) FILTER (WHERE ${allNull})::float8 AS n, count(*) FILTER (WHERE NOT (${allNull}))::float8 AS groups FROM ${qident(g)}`)).rows[0];
          nullKeyRows = Number(r.n ?? 0);
          if (Number(r.groups) === 0) noGroups(plan.source);
        }
        if (reason !== null) {
          summary = { mode: 'full', reason, refitted: 0, added: 0, unchanged: 0, vanishedDropped: 0, vanishedKept: 0, detection: 'fingerprint' };
        } else {
          const keyOut = group.map((k) => `CASE WHEN f.mm_in THEN f.${ident(k)} ELSE m.${ident(k)} END AS ${ident(k)}`);
          const liveKeys = `(SELECT ${group.map((k) => `m.${ident(k)}`).join(', ')}, m.fingerprint, true AS mm_in FROM ${qident(target)} AS m)`;
          if (detection === 'fingerprint') {
            await exec(dialect.createTableAs(
              d,
              `SELECT ${keyOut.join(', ')}, f.fingerprint, f.mm_in AS in_src, m.mm_in AS in_live
               FROM (SELECT f.*, true AS mm_in FROM ${qident(g)} AS f WHERE NOT (${group.map((k) => `f.${ident(k)} IS NULL`).join(' AND ')})) AS f
               FULL JOIN ${liveKeys} AS m ON ${keyMatch('f', 'm', group, nullSafe)}
               WHERE f.fingerprint IS DISTINCT FROM m.fingerprint${vanished === 'keep' ? ' AND f.mm_in' : ''}`,
              placement.distributeBy,
              placement.colocateWith,
            ));
          } else {
            const newer = `s.${ident((since as { column: string }).column)} > ${literal(prevMark as string)}::${(since as { type: string }).type}`;
            const keys = group.map((k) => `s.${ident(k)}`);
            await exec(dialect.createTableAs(
              d,
              `SELECT ${group.map((k) => `f.${ident(k)}`).join(', ')}, NULL::text AS fingerprint, true AS in_src, m.mm_in AS in_live
               FROM (SELECT DISTINCT ${keys.join(', ')} FROM ${plan.fromSql} WHERE ${newer} AND NOT (${keys.map((k) => `${k} IS NULL`).join(' AND ')})) AS f
               LEFT JOIN ${liveKeys} AS m ON ${keyMatch('f', 'm', group, nullSafe)}`,
              placement.distributeBy,
              placement.colocateWith,
            ));
          }
          await faultPoint('changes-found');
          const c = (await conn.query<{ refit: number; added: number; dropped: number }>(
            `SELECT count(*) FILTER (WHERE in_src)::float8 AS refit, count(*) FILTER (WHERE in_src AND in_live IS NULL)::float8 AS added, count(*) FILTER (WHERE in_src IS NULL)::float8 AS dropped FROM ${qident(d)}`,
          )).rows[0];
          const liveRows = Number((await conn.query<{ n: number }>(`SELECT count(*)::float8 AS n FROM ${qident(target)}`)).rows[0].n);
          const vanishedKept =
            vanished === 'keep' && detection === 'fingerprint'
              ? Number((await conn.query<{ n: number }>(`SELECT count(*)::float8 AS n FROM ${qident(target)} AS m WHERE NOT EXISTS (SELECT 1 FROM ${qident(g)} AS f WHERE ${keyMatch('f', 'm', group, nullSafe)})`)).rows[0].n)
              : 0;
          summary = {
            mode: 'incremental',
            refitted: c.refit,
            added: c.added,
            unchanged: liveRows - (c.refit - c.added) - c.dropped - vanishedKept,
            vanishedDropped: c.dropped,
            vanishedKept,
            detection,
          };
          // only the changed groups' rows are read. A source the work tables are not co-located with
          // (a local table, a query, a table spread by another column on Citus, which refuses to join
          // those with a distributed table directly) joins the changed keys as a result computed once
          // (the dialect's fence); a co-located source joins them where both are.
          const changedKeys =
            plan.sourceTable === undefined
              ? `JOIN (SELECT ${group.map((k) => `d.${ident(k)}`).join(', ')} FROM ${qident(d)} AS d WHERE d.in_src ${dialect.fence}) AS d ON ${keyMatch('s', 'd', group, nullSafe)}`
              : `WHERE EXISTS (SELECT 1 FROM ${qident(d)} AS d WHERE d.in_src AND ${keyMatch('s', 'd', group, nullSafe)})`;
          const from = `(SELECT s.* FROM ${plan.fromSql} ${changedKeys}) AS s`;
          const marker = ` FROM ${plan.fromSql} ORDER BY `;
          if (!plan.selectSql.includes(marker)) throw new Error('internal: the training query has an unexpected shape');
          sub = { ...plan, fromSql: from, selectSql: plan.selectSql.replace(marker, ` FROM ${from} ORDER BY `) };
          inPlace = { work, previous: live as TableMeta };
        }
        const { totals, failures, notes, nullKeyRows: cutNulls } = await trainStreaming(db, sub, staging, runId, { ...opts, from: reason === null ? { query: 'changed groups' } : opts.from }, fitter, dialect);
        if (reason !== null) {
          nullKeyRows = cutNulls;
          summary.refitted = totals.ok + totals.failed;
          summary.added = summary.refitted;
        }
        // the fitted groups' fingerprints
        const fpOf = reason === null && detection === 'changed-since' ? `(${fingerprintsSelect(plan, sub.fromSql, weight)})` : qident(g);
        await conn.exec(`UPDATE ${qident(staging.staging)} AS st SET fingerprint = f.fingerprint FROM ${fpOf} AS f WHERE ${keyMatch('st', 'f', group, nullSafe)}`);
        await faultPoint('fingerprints-written');
        if (reason !== null) for (const t of [d, g]) await conn.exec(`DROP TABLE IF EXISTS ${qident(t)}`);
        if (reason !== null && totals.ok + totals.failed === 0) noGroups(plan.source);
        const mff = opts.maxFailedFraction;
        if (mff !== undefined) {
          // the fraction of the table the run leaves: the groups it fitted, and those it keeps as they were
          let failed = totals.failed;
          let all = totals.ok + totals.failed;
          if (reason === null) {
            const kept = (await conn.query<{ failed: number; n: number }>(
              `SELECT count(*) FILTER (WHERE m.status <> 'ok')::float8 AS failed, count(*)::float8 AS n FROM ${qident(target)} AS m WHERE NOT EXISTS (SELECT 1 FROM ${qident(d)} AS d WHERE ${keyMatch('m', 'd', group, nullSafe)})`,
            )).rows[0];
            failed += Number(kept.failed);
            all += Number(kept.n);
          }
          if (failed > mff * all) {
            throw tooManyFailed(`${failed} of ${all} groups would be failed after this run`, failures, mff, 'failed groups kept from earlier runs');
          }
        }
        const { result, end } = runOutcome(runId, target, totals, nullKeyRows, failures, notes, t0);
        result.incremental = summary;
        return { result, meta, end };
      },
    );
  } catch (e) {
    throw keyTooLong(e);
  } finally {
    if (opts.fitter === undefined) await fitter.close();
  }
}

function noGroups(source: string): never {
  throw new DatabaseError(
    'NO_GROUPS',
    `the training source ${source} has no rows with a group key: there is nothing to train`,
    'check the source (and its WHERE clause, for a query); rows whose group key is NULL are skipped',
  );
}

/** Why this run must fit every group (null: it can refit only the changed ones). */
async function whyFull(conn: Connection, target: QualifiedName, live: TableMeta | null | undefined, fit: string, plan: TrainPlan): Promise<string | null> {
  if (live === undefined) return 'the models table does not exist yet';
  if (live === null || live.manymodels !== 'models') return 'the table was not written by manymodels train';
  if (live.fit === undefined) return 'the models table was not written by an incremental run (it has no fingerprints)';
  if (live.fit !== fit) return 'the estimator, its parameters, the features, the label or the limits differ from those the models table was fitted with';
  const cols = new Set(await columnNames(conn, target));
  const missing = plan.output.columns.find((c) => !cols.has(c.name));
  if (missing !== undefined) return `the models table has no column ${ident(missing.name)}`;
  return null;
}

/**
 * The incremental swap, in one transaction: archive the replaced rows (a 'delta' version), delete
 * the rows of the changed and vanished groups, insert the refitted ones, record and close the run.
 */
async function applyInPlace(
  conn: Connection,
  dialect: Dialect,
  s: Staging,
  meta: TableMeta,
  runId: string,
  end: RunEnd,
  o: { work: Work; previous: TableMeta; keep: number; group: readonly string[]; placement: { distributeBy: readonly string[]; colocateWith?: QualifiedName } },
): Promise<void> {
  const t = qident(s.target);
  const d = qident(o.work.changed);
  const nullSafe = o.group.map(() => o.group.length > 1);
  let cols: string[] = [];
  let analyze = false;
  await conn.exec('BEGIN');
  try {
    await conn.exec(`LOCK TABLE ${t} IN ACCESS EXCLUSIVE MODE`);
    cols = await columnNames(conn, s.target);
    const comment = (await conn.query<{ c: string | null }>(`SELECT obj_description(to_regclass($1)::oid, 'pg_class') AS c`, [t])).rows[0]?.c ?? null;
    let archive: QualifiedName | null = null;
    if (o.keep > 0) {
      archive = archiveName(s.target, o.previous.runId);
      await dropVersion(conn, o.previous.runId);
      const keys = new Set(o.group);
      const select = `SELECT ${cols.map((c) => (keys.has(c) ? `d.${ident(c)}` : `t.${ident(c)}`)).join(', ')}, coalesce(t.mm_present, false) AS mm_present
        FROM ${d} AS d LEFT JOIN (SELECT t.*, true AS mm_present FROM ${t} AS t) AS t ON ${keyMatch('d', 't', o.group, nullSafe)}`;
      for (const sql of dialect.createTableAs(archive, select, o.placement.distributeBy, o.placement.colocateWith)) await conn.exec(sql);
    }
    await conn.exec(`DELETE FROM ${t} AS t USING ${d} AS d WHERE ${keyMatch('t', 'd', o.group, nullSafe)}`);
    await faultPoint('swap:dropped');
    const written = (await columnNames(conn, s.staging)).map(ident).join(', ');
    // autovacuum's rule (50 rows + 10% of the table, deleted and inserted rows alike) for analyzing
    // after the commit: a few changed groups leave the statistics as they are; many new or vanished
    // ones (or a table never analyzed) do not
    const size = (await conn.query<{ n: number; t: number }>(
      `SELECT (SELECT count(*)::float8 FROM ${qident(s.staging)}) + (SELECT count(*)::float8 FROM ${d}) AS n, (SELECT reltuples::float8 FROM pg_class WHERE oid = to_regclass($1)) AS t`,
      [t],
    )).rows[0];
    analyze = size.t < 0 || size.n > 50 + 0.1 * size.t;
    await conn.exec(`INSERT INTO ${t} (${written}) SELECT ${written} FROM ${qident(s.staging)}`);
    for (const w of workTablesOf(s)) await conn.exec(`DROP TABLE IF EXISTS ${qident(w)}`);
    await faultPoint('swap:renamed');
    await conn.exec(`COMMENT ON TABLE ${t} IS ${literal(comment !== null && !comment.startsWith(META_PREFIX) ? comment : metaComment(meta))}`);
    for (const [sql, params] of tableRecordStatements(s.target, meta)) await conn.query(sql, params);
    if (archive !== null) await recordVersion(conn, s.target, o.previous.runId, 'delta', archive, runId, o.previous);
    await applyRetention(conn, s.target, o.keep);
    const [sql, params] = runEndStatement(runId, end);
    await conn.query(sql, params);
    await faultPoint('swap:catalogued');
    await conn.exec('COMMIT');
    await faultPoint('swap:committed');
  } catch (e) {
    await conn.exec('ROLLBACK').catch(() => undefined);
    throw e;
  }
  // after the commit, so best effort: the run has succeeded whatever happens to it (a lock_timeout
  // behind a VACUUM, a statement_timeout); autovacuum analyzes the table later on a server
  if (analyze) await conn.exec(analyzeSql(s.target, statisticsSpec(dialect, cols))).catch(() => undefined);
}

export type { SwapSpec };
