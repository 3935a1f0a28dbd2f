import type { Database } from '../db/connection.js';
import { DatabaseError, UsageError } from '../errors.js';
import { CATALOG_SCHEMA } from '../pipeline/catalog.js';
import { colocationSource, distributeByFor, resolveDialect } from '../pipeline/dialect.js';
import { checkTarget } from '../pipeline/output-table.js';
import { plan, type PredictPlan, readModelsMeta, scoringEngine } from '../pipeline/predict.js';
import { withRun } from '../pipeline/run.js';
import { column, resolveSource, type SourceRef, type TableRef, tableName } from '../pipeline/source.js';
import { displayName, ident, literal, qident } from '../sql/ident.js';
import { keyMatch } from '../sql/key-match.js';
import { inlineScoringSql } from '../sql/predict-sql.js';
import { streamRecommendations } from './stream.js';

export interface RecommendOptions {
  /** A models table written by train. */
  models: TableRef;
  /**
   * The candidate rows. With the group key column(s) they are each group's own candidates; without
   * them every candidate is offered to every group (of `groups`, by default of the models table).
   */
  candidates: SourceRef;
  /** The recommendations table to write: per group its top `k` candidate rows with probability, prediction, score and rank. */
  into: TableRef;
  /** How many candidates to keep per group (default 1). */
  k?: number;
  /** Column(s) naming a candidate: the tie-breaker (ascending) and the match for `exclude`; default: every candidate column but the group key. */
  candidate?: string | readonly string[];
  /** When the candidates have no group key: the groups to offer them to (a table or query with the group key); default: every group of the models table. */
  groups?: SourceRef;
  /** Classifiers: rank by the probability of this class (as text, e.g. '1'); default: classes_[1] of a binary model. */
  positiveClass?: string;
  /** Rank by expected value: probability × this candidate column − cost (classifiers only). */
  value?: string;
  /** Subtracted from the score: a number, or a candidate column by { column }. */
  cost?: number | { column: string };
  /** A table of (group key, candidate column(s)) pairs already taken: never recommended. */
  exclude?: SourceRef;
  /** Feature column(s) of the candidate rows; default: those the models were trained on. */
  features?: string | readonly string[];
  /** 'sql' ranks in the database (set-based: on Citus / Greenplum on the workers), 'ts' streams the rows through TypeScript; 'auto' (default) is 'sql'. */
  engine?: 'auto' | 'sql' | 'ts';
  replace?: boolean;
  wait?: boolean;
  signal?: AbortSignal;
  dialect?: 'postgres' | 'citus' | 'greenplum';
}

export interface RecommendResult {
  runId: string;
  table: readonly string[];
  engine: 'sql' | 'ts';
  /** What the score is. */
  by: 'probability' | 'expected-value' | 'prediction';
  /** Rows written: at most k per group. */
  rows: number;
  /** Groups that have candidate rows (after exclusion). */
  groups: number;
  /** Groups that got at least one recommendation. */
  groupsRecommended: number;
  /**
   * Groups with candidates but no usable model (none in the models table, or a failed one):
   * skipped. manymodels has no fallback model yet, so they get no recommendation.
   */
  groupsWithoutModel: number;
  /** Candidate rows considered (after exclusion). */
  candidates: number;
  seconds: number;
}

/** The parts of a recommendation both engines share. */
export interface RecommendPlan {
  p: PredictPlan;
  k: number;
  /** Candidate columns: the tie-breaker, in order. */
  candidate: string[];
  by: RecommendResult['by'];
  /** The class whose probability ranks, or null for classes_[1] of binary models (or a regressor). */
  positiveClass: string | null;
  /** SQL (over s) of the candidate's value and cost, or null. */
  valueSql: string | null;
  costSql: string | null;
  /** The output columns, in order. */
  outColumns: string[];
  predType: 'text' | 'float8';
}

const ADDED = ['probability', 'prediction', 'score', 'rank'] as const;

/** Builds the candidate rows as one query: (group key, candidate columns), excluded pairs removed. */
async function candidateQuery(db: Database, opts: RecommendOptions, group: string[], modelsName: readonly string[]): Promise<{ query: string; candidate: string[]; display: string }> {
  const cands = await resolveSource(db.main, opts.candidates, 'candidates');
  const perGroup = group.every((g) => cands.columns.has(g));
  if (!perGroup && group.some((g) => cands.columns.has(g))) {
    throw new UsageError(`the candidates ${cands.display} have some but not all of the group key columns (${group.map(ident).join(', ')})`, 'give every group key column (each group its own candidates) or none (every candidate for every group)');
  }
  const own = cands.fields.map((f) => f.name).filter((n) => !group.includes(n));
  const candidate = opts.candidate === undefined ? own : typeof opts.candidate === 'string' ? [opts.candidate] : [...opts.candidate];
  if (candidate.length === 0) throw new UsageError(`the candidates ${cands.display} have no column besides the group key`, 'add a column that names the candidate');
  for (const c of candidate) {
    column(cands, c, 'candidate');
    if (group.includes(c)) throw new UsageError(`the candidate column ${ident(c)} is a group key column`, 'name the candidate by its own column(s)');
  }
  const clash = cands.fields.find((f) => (ADDED as readonly string[]).includes(f.name));
  if (clash !== undefined) throw new UsageError(`the candidates have a column named ${ident(clash.name)}, which recommend adds`, 'rename or leave it out in a query', 'NAME_CLASH');
  const keys = group.map(ident);
  let query: string;
  if (perGroup) {
    query = `SELECT c.* FROM ${cands.fromSql.replace(/ AS s$/, ' AS c')}`;
  } else {
    let groupsFrom: string;
    if (opts.groups === undefined) {
      groupsFrom = `(SELECT DISTINCT ${keys.join(', ')} FROM ${qident(modelsName)}) AS g`;
    } else {
      const gs = await resolveSource(db.main, opts.groups, 'groups');
      for (const g of group) column(gs, g, 'group key');
      groupsFrom = `(SELECT DISTINCT ${group.map((g) => `s.${ident(g)}`).join(', ')} FROM ${gs.fromSql}) AS g`;
    }
    query = `SELECT ${group.map((g) => `g.${ident(g)}`).join(', ')}, c.* FROM ${groupsFrom} CROSS JOIN ${cands.fromSql.replace(/ AS s$/, ' AS c')}`;
  }
  if (opts.exclude !== undefined) {
    const ex = await resolveSource(db.main, opts.exclude, 'exclude table');
    for (const g of group) column(ex, g, 'group key');
    for (const c of candidate) column(ex, c, 'candidate');
    const on = [...group.map((g) => `e.${ident(g)} = ${perGroup ? 'c' : 'g'}.${ident(g)}`), ...candidate.map((c) => `e.${ident(c)} = c.${ident(c)}`)].join(' AND ');
    query += ` WHERE NOT EXISTS (SELECT 1 FROM ${ex.fromSql.replace(/ AS s$/, ' AS e')} WHERE ${on})`;
  }
  return { query, candidate, display: cands.display };
}

function recommendPlan(opts: RecommendOptions, src: { query: string; candidate: string[] }, p: PredictPlan): RecommendPlan {
  const k = opts.k ?? 1;
  if (!Number.isInteger(k) || k < 1) throw new UsageError(`k must be an integer ≥ 1, got ${JSON.stringify(opts.k)}`, undefined, 'INVALID_OPTION');
  const numeric = (name: string, role: string): string => {
    const c = column(p.src, name, role);
    if (c.kind !== 'number' && c.kind !== 'boolean') throw new DatabaseError('FEATURES_NOT_NUMERIC', `the ${role} column ${ident(name)} is not numeric`, 'give a numeric column');
    return `s.${ident(name)}${c.kind === 'boolean' ? '::int' : ''}::float8`;
  };
  if (opts.value !== undefined && !p.classifier) throw new UsageError('value (expected value) ranks classifiers; a regressor is ranked by its prediction', 'leave out value (a cost is allowed)');
  if (p.multiclass && opts.positiveClass === undefined) throw new UsageError('the models have three or more classes: say whose probability ranks the candidates', 'give positiveClass (--class C)');
  if (opts.positiveClass !== undefined && !p.classifier) throw new UsageError('positiveClass is for classifiers; a regressor is ranked by its prediction');
  let costSql: string | null = null;
  if (typeof opts.cost === 'number') {
    if (!Number.isFinite(opts.cost)) throw new UsageError(`cost must be a finite number, got ${opts.cost}`, undefined, 'INVALID_OPTION');
    costSql = `${literal(String(opts.cost))}::float8`;
  } else if (opts.cost !== undefined) {
    costSql = numeric(opts.cost.column, 'cost');
  }
  return {
    p,
    k,
    candidate: src.candidate,
    by: !p.classifier ? 'prediction' : opts.value !== undefined ? 'expected-value' : 'probability',
    positiveClass: opts.positiveClass ?? null,
    valueSql: opts.value === undefined ? null : numeric(opts.value, 'value'),
    costSql,
    outColumns: [...p.src.fields.map((f) => f.name), ...ADDED],
    predType: p.classifier && p.labelKind === 'text' ? 'text' : 'float8',
  };
}

/**
 * The set-based ranking: the candidate rows scored by the inline scoring SQL of predict (or its SQL
 * functions for multiclass models), a score per row, and row_number() over each group ordered by
 * score, then candidate: every step is per group, so a distributed engine runs it where the group lives.
 */
export function recommendSql(r: RecommendPlan, fence: string, guarded = false, tableFence?: string): string {
  const { p } = r;
  const S = ident(CATALOG_SCHEMA);
  const cls = r.positiveClass === null ? null : literal(r.positiveClass);
  let scored: string;
  let prob: string;
  if (!p.multiclass && p.nFeatures !== null) {
    const extra = ['m.mm_b IS NOT NULL AS mm_has_model'];
    if (p.classifier) extra.push('m.mm_c0::text AS mm_c0', 'm.mm_c1::text AS mm_c1');
    scored = inlineScoringSql({
      fromSql: p.src.fromSql,
      models: p.modelsName,
      group: p.group,
      features: p.featureSql,
      nFeatures: p.nFeatures,
      kind: p.classifier ? 'binary' : 'regressor',
      labelKind: p.labelKind,
      fence,
      tableFence,
      nullSafeKeys: p.nullSafeKeys,
      guarded,
      schema: S,
      extra,
    });
    prob = !p.classifier ? 'NULL::float8' : cls === null ? 'q.probability' : `CASE WHEN q.mm_c1 = ${cls} THEN q.probability WHEN q.mm_c0 = ${cls} THEN 1 - q.probability END`;
  } else {
    const on = keyMatch('m', 's', p.group, p.nullSafeKeys);
    // with one-hot preprocessing the functions also take the category columns' text (f.c)
    const args = p.categoriesExpr !== null ? 'm.model, f.x, f.c' : 'm.model, f.x';
    const predExpr = p.classifier && p.labelKind === 'text' ? `${S}.predict_label(${args})` : `${S}.predict_value(${args})`;
    scored =
      `SELECT s.*, NULL::float8 AS ${ident('probability')}, ${predExpr} AS ${ident('prediction')}, m.model IS NOT NULL AS mm_has_model, ` +
      `${S}.predict_proba_all(${args}) AS mm_all, ARRAY(SELECT jsonb_array_elements_text(m.model->'state'->'classes')) AS mm_classes ` +
      `FROM ${p.src.fromSql} LEFT JOIN (SELECT * FROM ${qident(p.modelsName)} WHERE status = 'ok') AS m ON ${on} ` +
      `CROSS JOIN LATERAL (SELECT ${p.featuresExpr} AS x${p.categoriesExpr !== null ? `, ${p.categoriesExpr} AS c` : ''}) AS f`;
    prob = !p.classifier ? 'NULL::float8' : cls === null ? 'CASE WHEN cardinality(q.mm_all) = 2 THEN q.mm_all[2] END' : `q.mm_all[array_position(q.mm_classes, ${cls})]`;
  }
  const base = p.classifier ? 'w.probability' : 'w.prediction';
  const value = r.valueSql === null ? base : `${base} * w.mm_value`;
  const score = r.costSql === null ? value : `${value} - w.mm_cost`;
  const srcCols = p.src.fields.map((f) => `q.${ident(f.name)}`);
  const withExtra = [
    ...srcCols,
    `${prob} AS ${ident('probability')}`,
    `q.${ident('prediction')}`,
    ...(r.valueSql === null ? [] : [`${r.valueSql.replace(/^s\./, 'q.')} AS mm_value`]),
    ...(r.costSql === null ? [] : [`${r.costSql.replace(/^s\./, 'q.')} AS mm_cost`]),
  ];
  const keys = p.group.map((g) => `v.${ident(g)}`).join(', ');
  const order = ['v.mm_score DESC', ...r.candidate.map((c) => `v.${ident(c)}`)].join(', ');
  const cols = p.src.fields.map((f) => `v.${ident(f.name)}`);
  const ranked =
    `SELECT ${[...cols, `v.${ident('probability')}`, `v.${ident('prediction')}`, `v.mm_score AS ${ident('score')}`, `(row_number() OVER (PARTITION BY ${keys} ORDER BY ${order}))::int AS ${ident('rank')}`].join(', ')} ` +
    `FROM (SELECT w.*, ${score} AS mm_score FROM (SELECT ${withExtra.join(', ')} FROM (${scored}) AS q WHERE q.mm_has_model) AS w) AS v ` +
    `WHERE v.mm_score IS NOT NULL AND v.mm_score <> 'NaN'::float8`;
  return `SELECT ${r.outColumns.map((c) => `t.${ident(c)}`).join(', ')} FROM (${ranked}) AS t WHERE t.${ident('rank')} <= ${r.k}`;
}

/**
 * The class whose probability ranks must be one the models know: a class no model has would rank
 * nothing and write an empty table without a word. A boolean label's classes are stored as 0 and 1,
 * so true / false name them too.
 */
async function checkClass(db: Database, r: RecommendPlan, modelsName: readonly string[]): Promise<RecommendPlan> {
  if (r.positiveClass === null) return r;
  const seen = new Set<string>();
  const rows = await db.main.query<{ c: string }>(`SELECT DISTINCT (m.model->'state'->'classes')::text AS c FROM ${qident(modelsName)} AS m WHERE m.status = 'ok'`);
  for (const row of rows.rows) for (const c of JSON.parse(row.c) as unknown[]) seen.add(String(c));
  const spelled = r.positiveClass;
  const alias = spelled.toLowerCase() === 'true' ? '1' : spelled.toLowerCase() === 'false' ? '0' : null;
  if (seen.has(spelled)) return r;
  if (alias !== null && seen.has(alias) && !seen.has(spelled)) return { ...r, positiveClass: alias };
  throw new UsageError(
    `no model in ${displayName(modelsName)} has the class ${JSON.stringify(spelled)}: nothing could be ranked by its probability`,
    `the models' classes are: ${[...seen].sort().slice(0, 20).join(', ') || '(no fitted model)'}`,
    'INVALID_OPTION',
  );
}

/** Per group, the top k candidate rows by the group's model: written to a recommendations table. */
export async function recommend(db: Database, opts: RecommendOptions, version: string): Promise<RecommendResult> {
  const t0 = performance.now();
  const engine = scoringEngine(opts.engine);
  const modelsName = tableName(opts.models);
  const meta = await readModelsMeta(db.main, modelsName);
  const group = meta.group;
  const src = await candidateQuery(db, opts, group, modelsName);
  const p = await plan(db, { models: modelsName, from: { query: src.query }, into: opts.into, features: opts.features });
  const r = await checkClass(db, recommendPlan(opts, src, p), modelsName);
  const target = tableName(opts.into);
  const dialect = await resolveDialect(db, opts.dialect);
  await checkTarget(db.main, target, opts.replace === true, 'recommendations');
  return withRun(
    db,
    {
      target,
      version,
      wait: opts.wait,
      signal: opts.signal,
      record: { kind: 'recommend', source: src.display, modelsTable: modelsName, groupKey: group, features: p.featureNames },
      // the columns come from the candidates query; a kept table with other columns fails at the swap, rolled back
      output: { columns: [] },
    },
    async ({ runId, staging }) => {
      // spread like predict's output: by the group key, co-located with the models table where Citus distributes it on the key
      const colocateWith = await colocationSource(db, dialect, modelsName, group);
      const by = await distributeByFor(db, dialect, colocateWith, p.src.fromSql, group, 'every row', p.src.columns.get(group[0])?.dataTypeID ?? 0);
      if (engine === 'sql') {
        try {
          for (const sql of dialect.createTableAs(staging.staging, recommendSql(r, dialect.fence, false, dialect.tableFence), by, colocateWith)) await db.main.exec(sql);
        } catch (e) {
          // as predict: PostgreSQL's float8 arithmetic raised on an overflow or underflow; score again
          // with the IEEE-754 arithmetic of manymodels.ieee_dot
          if (!(e instanceof DatabaseError && e.sqlState === '22003')) throw e;
          await db.main.exec(`DROP TABLE IF EXISTS ${qident(staging.staging)}`);
          for (const sql of dialect.createTableAs(staging.staging, recommendSql(r, dialect.fence, true, dialect.tableFence), by, colocateWith)) await db.main.exec(sql);
        }
      } else {
        const empty = `SELECT s.*, NULL::float8 AS ${ident('probability')}, NULL::${r.predType} AS ${ident('prediction')}, NULL::float8 AS ${ident('score')}, NULL::int AS ${ident('rank')} FROM ${p.src.fromSql}`;
        for (const sql of dialect.createEmptyTableAs(staging.staging, empty, by, colocateWith)) await db.main.exec(sql);
        await streamRecommendations(db, r, staging.staging);
      }
      const keys = group.map((g) => `s.${ident(g)}`).join(', ');
      const on = keyMatch('m', 's', group, p.nullSafeKeys);
      const c = await db.main.query<{ groups: number; without: number; candidates: number }>(
        `SELECT count(*)::float8 AS groups, count(*) FILTER (WHERE NOT q.has)::float8 AS without, coalesce(sum(q.n), 0)::float8 AS candidates
         FROM (SELECT ${keys}, count(*) AS n, bool_or(m.ok IS NOT NULL) AS has FROM ${p.src.fromSql}
               LEFT JOIN (SELECT ${group.map(ident).join(', ')}, true AS ok FROM ${qident(modelsName)} WHERE status = 'ok') AS m ON ${on} GROUP BY ${keys}) AS q`,
      );
      const gkeys = group.map(ident).join(', ');
      // two statements, not a subquery in the target list, which Citus cannot push down next to an aggregate
      const w = {
        rows: (await db.main.query<{ n: number }>(`SELECT count(*)::float8 AS n FROM ${qident(staging.staging)}`)).rows[0].n,
        groups: (await db.main.query<{ n: number }>(`SELECT count(*)::float8 AS n FROM (SELECT DISTINCT ${gkeys} FROM ${qident(staging.staging)}) AS d`)).rows[0].n,
      };
      const result: RecommendResult = {
        runId,
        table: target,
        engine,
        by: r.by,
        rows: w.rows,
        groups: c.rows[0].groups,
        groupsRecommended: w.groups,
        groupsWithoutModel: c.rows[0].without,
        candidates: c.rows[0].candidates,
        seconds: 0,
      };
      const outMeta = { manymodels: 'recommendations' as const, version: 1 as const, group, features: p.meta.features, label: p.meta.label, labelKind: p.labelKind, estimator: p.meta.estimator, candidate: r.candidate };
      return { result, meta: outMeta, end: { status: 'succeeded', groupsOk: result.groupsRecommended, groupsFailed: result.groupsWithoutModel, rowsUsed: result.rows } };
    },
  ).then((res) => ({ ...res, seconds: (performance.now() - t0) / 1000 }));
}

