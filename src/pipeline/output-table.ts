import type { Connection } from '../db/connection.js';
import { DatabaseError } from '../errors.js';
import { statisticsColumns } from '../exec/encode-batch.js';
import type { Dialect } from '../sql/dialect.js';
import { displayName, ident, literal, qident, type QualifiedName } from '../sql/ident.js';
import { byStatementTimeout, redactUrls } from '../db/errors.js';
import { faultPoint } from './fault.js';
import { META_PREFIX, type RunEnd, metaComment, readTableMeta, runEndStatement, tableRecordStatements, type TableMeta } from './catalog.js';
import { checkKeepable, columnNames, type OutputColumn, readOutputTable } from './attached.js';

/**
 * Safe writes: a run builds its table under a staging name beside the target and swaps it in
 * within one transaction, so a failed or interrupted run leaves the previous table as it was,
 * and whatever a user attached to the previous table stays on it (see swapIn).
 */
export interface Staging {
  readonly target: QualifiedName;
  readonly staging: QualifiedName;
}

export function stagingFor(target: QualifiedName, runId: string): Staging {
  const stagingName = `mm_stage_${runId.replaceAll('-', '').slice(0, 16)}`;
  return { target, staging: Object.freeze([...target.slice(0, -1), stagingName]) };
}

/** Refuses to overwrite a table that manymodels did not write, unless replace is set. */
export async function checkTarget(conn: Connection, target: QualifiedName, replace: boolean, what: TableMeta['manymodels']): Promise<void> {
  if (target.length > 1) {
    const schema = target[target.length - 2];
    const r = await conn.query<{ ok: boolean }>(`SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS ok`, [schema]);
    if (!r.rows[0].ok) {
      throw new DatabaseError('SCHEMA_NOT_FOUND', `the schema ${ident(schema)} of the output table ${displayName(target)} does not exist`, `create it first: CREATE SCHEMA ${ident(schema)}`);
    }
  }
  const meta = await readTableMeta(conn, target);
  if (meta === undefined || replace) return;
  if (meta === null || meta.manymodels !== what) {
    throw new DatabaseError(
      'OUTPUT_TABLE_NOT_MANAGED',
      `the output table ${displayName(target)} exists and was not written by manymodels ${what === 'models' ? 'train' : 'predict'}`,
      'choose another name, or pass --replace (replace: true) to overwrite it',
    );
  }
}

/** What the run writes and how the output table is keyed: the swap's inputs besides the staging table. */
export interface SwapSpec {
  /** The output columns (checked against a kept table before any work). */
  columns: readonly OutputColumn[];
  /** The group key: the models table's primary key. Absent for predictions (a row per source row). */
  primaryKey?: readonly string[];
  /** Models tables: keeps the state the swap replaces as a version (lifecycle/versions.ts). */
  keeper?: PreviousKeeper;
  /**
   * Models tables: the columns ANALYZE reads before the swap, so that the table comes with its
   * statistics (see swapIn), or 'all' for the whole table (statisticsSpec); absent, none.
   */
  analyze?: readonly string[] | 'all';
}

/**
 * What keeps the previous state of a table when a run replaces it, inside the swap's transaction
 * (so a failed or killed swap keeps nothing and loses nothing).
 */
export interface PreviousKeeper {
  /**
   * The target exists, is locked, and is about to be replaced: 'rename' when nothing is attached
   * to it (the keeper may move it away with a RENAME, no row copied), 'rows' when it stays and its
   * rows are replaced (the keeper copies what it keeps).
   */
  beforeReplace(conn: Connection, target: QualifiedName, how: 'rename' | 'rows'): Promise<void>;
  /** After the replacement, in the same transaction: record the version, drop those beyond retention. */
  afterReplace(conn: Connection, target: QualifiedName, runId: string): Promise<void>;
}

/** The swap, as --explain shows it. */
export function swapStatements(s: Staging, spec?: SwapSpec): string[] {
  const pk = spec?.primaryKey;
  return [
    `-- the run holds SELECT pg_advisory_lock(hashtext('manymodels.table'), hashtext(${literal(qident(s.target))})) from its start`,
    ...(pk ? ['-- unless the staging table has its primary key already (added with it, above):', `ALTER TABLE ${qident(s.staging)} ADD PRIMARY KEY (${pk.map(ident).join(', ')})`] : []),
    ...(spec?.analyze !== undefined ? [analyzeSql(s.staging, spec.analyze)] : []),
    'BEGIN',
    `LOCK TABLE ${qident(s.target)} IN ACCESS EXCLUSIVE MODE -- when it exists`,
    `-- when nothing is attached to ${qident(s.target)} (indexes, grants, views, ...; see pipeline/attached.ts):`,
    `DROP TABLE IF EXISTS ${qident(s.target)}`,
    `ALTER TABLE ${qident(s.staging)} RENAME TO ${ident(s.target[s.target.length - 1])}`,
    `-- otherwise the table and everything on it is kept:`,
    `TRUNCATE ${qident(s.target)}`,
    `INSERT INTO ${qident(s.target)} (...) SELECT ... FROM ${qident(s.staging)}`,
    `DROP TABLE ${qident(s.staging)}`,
    ...(spec?.analyze !== undefined ? [`${analyzeSql(s.target, spec.analyze)} -- (rows replaced)`] : []),
    `COMMENT ON TABLE ${qident(s.target)} IS '${META_PREFIX}{...}' -- unless a user's comment is on it (kept)`,
    `-- the table is recorded in manymodels.tables; the replaced state of a models table is kept as a version`,
    `UPDATE manymodels.runs SET status = 'succeeded', ... WHERE run_id = $1`,
    'COMMIT',
  ];
}

/**
 * What a models table's ANALYZE reads (SwapSpec.analyze), from all its column names: every column but
 * the documents (statisticsColumns), or the whole table where the engine takes no column list
 * (Dialect.analyzeColumnList).
 */
export function statisticsSpec(dialect: Dialect, names: readonly string[]): readonly string[] | 'all' {
  return dialect.analyzeColumnList === false ? 'all' : statisticsColumns(names);
}

/** The ANALYZE of `table` for a SwapSpec.analyze. */
export function analyzeSql(table: QualifiedName, analyze: readonly string[] | 'all'): string {
  return `ANALYZE ${qident(table)}${analyze === 'all' ? '' : ` (${analyze.map(ident).join(', ')})`}`;
}

/** Before any work (under the output table's lock): fails with OUTPUT_TABLE_DEPENDENCY when what is attached to the target cannot be kept. */
export async function checkSwap(conn: Connection, target: QualifiedName, spec: SwapSpec): Promise<void> {
  checkKeepable(await readOutputTable(conn, target, spec.primaryKey ?? []), target, spec.columns);
}

/**
 * Puts the staging table in the target's place and closes the run, in one transaction. A target
 * with nothing attached is dropped and the staging table renamed (no rows move); a target with
 * indexes, grants, comments, views, policies, triggers ... on it is kept, locked, emptied and
 * filled from the staging table, so every object on it stays as it was. The models table gets a
 * primary key on the group key.
 */
export async function swapIn(conn: Connection, s: Staging, meta: TableMeta, runId: string, end: RunEnd, spec: SwapSpec): Promise<void> {
  const name = s.target[s.target.length - 1];
  const pk = spec.primaryKey;
  if (pk !== undefined && pk.length > 0) {
    const has = await conn.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p'`, [qident(s.staging)]);
    if (has.rows[0].n === 0 && !(await keyHasNull(conn, s.staging, pk))) await conn.exec(`ALTER TABLE ${qident(s.staging)} ADD PRIMARY KEY (${pk.map(ident).join(', ')})`);
  }
  // A models table comes with its statistics: the predict that often follows joins it to the rows,
  // and without them (autovacuum analyzes a new table up to a minute later; PGlite has none)
  // PostgreSQL guesses a few thousand models and sorts every row for a merge join (1M models, 8.9M
  // rows: 11.0-14.5 s against 7.3-8.0 s analyzed). Outside the swap's transaction: the target's lock
  // stays short.
  if (spec.analyze !== undefined) await conn.exec(analyzeSql(s.staging, spec.analyze));
  await conn.exec('BEGIN');
  try {
    const exists = (await conn.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [qident(s.target)])).rows[0].ok;
    if (exists) await conn.exec(`LOCK TABLE ${qident(s.target)} IN ACCESS EXCLUSIVE MODE`);
    // read again under the lock: what was attached during the run counts too
    const state = await readOutputTable(conn, s.target, pk ?? []);
    // a comment a user put on the table stays on it (manymodels' own description is in its catalog)
    const comment = state.oid === null ? null : (await conn.query<{ c: string | null }>(`SELECT obj_description($1::oid, 'pg_class') AS c`, [state.oid])).rows[0]?.c ?? null;
    const userComment = comment !== null && !comment.startsWith(META_PREFIX) ? comment : null;
    // a predictions view (predict --view) at the target is replaced by the table (a view that others depend on stops the DROP)
    const view = (await conn.query<{ v: boolean }>(`SELECT relkind = 'v' AS v FROM pg_class WHERE oid = to_regclass($1)`, [qident(s.target)])).rows[0]?.v === true;
    if (state.oid === null || state.attached.length === 0 || view) {
      if (state.oid !== null && !view) await spec.keeper?.beforeReplace(conn, s.target, 'rename');
      await conn.exec(`DROP ${view ? 'VIEW' : 'TABLE'} IF EXISTS ${qident(s.target)}`);
      await faultPoint('swap:dropped');
      await conn.exec(`ALTER TABLE ${qident(s.staging)} RENAME TO ${ident(name)}`);
      if (pk !== undefined && pk.length > 0) await renamePrimaryKey(conn, s, runId);
      await faultPoint('swap:renamed');
    } else {
      checkKeepable(state, s.target, spec.columns);
      await spec.keeper?.beforeReplace(conn, s.target, 'rows');
      const cols = (await columnNames(conn, s.staging)).map(ident).join(', ');
      await conn.exec(`TRUNCATE ${qident(s.target)}`);
      await faultPoint('swap:dropped');
      await conn.exec(`INSERT INTO ${qident(s.target)} (${cols}) SELECT ${cols} FROM ${qident(s.staging)}`);
      await conn.exec(`DROP TABLE ${qident(s.staging)}`);
      if (pk !== undefined && pk.length > 0 && !state.hasPrimaryKey && !(await keyHasNull(conn, s.target, pk))) await conn.exec(`ALTER TABLE ${qident(s.target)} ADD PRIMARY KEY (${pk.map(ident).join(', ')})`);
      if (spec.analyze !== undefined) await conn.exec(analyzeSql(s.target, spec.analyze));
      await faultPoint('swap:renamed');
    }
    await conn.exec(`COMMENT ON TABLE ${qident(s.target)} IS ${literal(userComment ?? metaComment(meta))}`);
    for (const [sql, params] of tableRecordStatements(s.target, meta)) await conn.query(sql, params);
    await spec.keeper?.afterReplace(conn, s.target, runId);
    const [sql, params] = runEndStatement(runId, end);
    await conn.query(sql, params);
    await faultPoint('swap:catalogued');
    await conn.exec('COMMIT');
    await faultPoint('swap:committed');
  } catch (e) {
    await conn.exec('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** The renamed staging table's primary key index gets the table's name: <table>_pkey, or mm_pkey_<run> where that is taken or too long. */
async function renamePrimaryKey(conn: Connection, s: Staging, runId: string): Promise<void> {
  const name = s.target[s.target.length - 1];
  const r = await conn.query<{ idx: string | null }>(
    `SELECT i.relname AS idx FROM pg_constraint con JOIN pg_class i ON i.oid = con.conindid WHERE con.conrelid = to_regclass($1) AND con.contype = 'p'`,
    [qident(s.target)],
  );
  const idx = r.rows[0]?.idx;
  if (idx === undefined || idx === null) return;
  let want = `${name}_pkey`;
  const at = (n: string) => Object.freeze([...s.target.slice(0, -1), n]);
  const taken = async (n: string) => (await conn.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [qident(at(n))])).rows[0].ok;
  if (new TextEncoder().encode(want).length > 63 || (await taken(want))) want = `mm_pkey_${runId.replaceAll('-', '').slice(0, 16)}`;
  if (want !== idx) await conn.exec(`ALTER INDEX ${qident(at(idx))} RENAME TO ${ident(want)}`);
}

/** After a failure: drop the staging table and mark the run failed (or cancelled); never throws. */
export async function abandon(conn: Connection, s: Staging | null, runId: string | null, error: unknown): Promise<void> {
  await conn.exec('ROLLBACK').catch(() => undefined);
  if (s !== null) {
    for (const t of workTablesOf(s)) await conn.exec(`DROP TABLE IF EXISTS ${qident(t)}`).catch(() => undefined);
  }
  if (runId !== null) {
    const msg = error instanceof Error ? error.message : String(error);
    // cancelled: by the caller (a signal, SIGINT) or a cancel request on the server; the server's own
    // statement_timeout is a failure of the run, with its reason
    const status = (error as { code?: string })?.code === 'CANCELLED' && !byStatementTimeout(msg) ? 'cancelled' : 'failed';
    const [sql, params] = runEndStatement(runId, { status, error: redactUrls(msg) });
    await conn.query(sql, params).catch(() => undefined);
  }
}

/** The staging table and the in-database strategy's work tables beside it (<staging>_d, <staging>_g). */
export function workTablesOf(s: Staging): QualifiedName[] {
  const base = s.staging[s.staging.length - 1];
  const at = (name: string) => Object.freeze([...s.staging.slice(0, -1), name]);
  return [s.staging, at(`${base}_d`), at(`${base}_g`)];
}

/**
 * Whether some row's composite key has a NULL column: (1, NULL) is a group of GROUP BY's and a row
 * of the models table, and a primary key (its columns NOT NULL) cannot hold it; such a table is
 * kept without one (its rows are still one per group, as the group cutter reads them from SQL).
 */
async function keyHasNull(conn: Connection, table: QualifiedName, pk: readonly string[]): Promise<boolean> {
  if (pk.length < 2) return false;
  const r = await conn.query<{ e: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${qident(table)} WHERE ${pk.map((g) => `${ident(g)} IS NULL`).join(' OR ')}) AS e`);
  return r.rows[0].e === true;
}
