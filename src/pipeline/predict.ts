import { BinaryCopyDecoder, readFloat8Array, readText, readTextArray, type RowFields } from '../copy/binary-decoder.js';
import { BinaryCopyEncoder } from '../copy/binary-encoder.js';
import { type Connection, type Database, withLocalSettings } from '../db/connection.js';
import { CancelledError, DatabaseError, ManyModelsError, ModelDocumentError, UsageError } from '../errors.js';
import type { Estimator } from '../estimators/registry.js';
import { LogisticRegression } from '../estimators/logistic-regression.js';
import { decodeModel, encodeModel } from '../model-io/document.js';
import { displayName, ident, literal, qident } from '../sql/ident.js';
import { DERIVED_FENCE, inlineScoringSql, scoringWorkMemKb } from '../sql/predict-sql.js';
import { keyMatch, partlyNullKey } from '../sql/key-match.js';
import { float8Sql } from '../sql/scoring.js';
import { OID } from '../sql/types.js';
import { scoringInputSql } from '../preprocess/plan.js';
import { type Preprocessor, preprocessor } from '../preprocess/preprocessor.js';
import { type RowScore, scoreLinear } from './score-rules.js';
import { CATALOG_SCHEMA, readTableMeta, type TableMeta } from './catalog.js';
import { checkTarget, type Staging } from './output-table.js';
import { withRun } from './run.js';
import { type ProgressListener, ProgressTracker } from './progress.js';
import { column, estimateRows, type ResolvedSource, resolveSource, type SourceRef, type TableRef, tableName } from './source.js';
import { colocationSource, distributeByFor, resolveDialect } from './dialect.js';
import type { Dialect } from '../sql/dialect.js';
import { predictIntoView } from './predict-view.js';

export interface PredictOptions {
  /** A models table written by train. */
  models: TableRef;
  /** Rows to score: they need the group key column(s) and the features. */
  from: SourceRef;
  /** The predictions table to write: the source rows plus probability and prediction. */
  into: TableRef;
  /** Feature column(s) of the source; default: those the models were trained on. */
  features?: string | readonly string[];
  /** Group key column(s); default: the models table's. */
  group?: string | readonly string[];
  /**
   * 'sql' scores in the database with the installed SQL functions (linear models), 'ts' streams
   * the rows through the TypeScript estimators, 'auto' (default) picks 'sql'.
   */
  engine?: 'auto' | 'sql' | 'ts';
  replace?: boolean;
  /** Wait for another run writing the same table (default true), or fail at once with OUTPUT_LOCKED. */
  wait?: boolean;
  /** Cancels the run: nothing is replaced. */
  signal?: AbortSignal;
  /** 'postgres', 'citus' or 'greenplum'; default: detected from the server. */
  dialect?: 'postgres' | 'citus' | 'greenplum';
  onProgress?: ProgressListener;
  /**
   * 'global': rows whose group has no usable model are scored by the global model of a table trained
   * with pool 'global', and the output gets a boolean column `fallback` (true on those rows).
   * Default 'none': such rows get NULL predictions.
   */
  fallback?: 'none' | 'global';
  /**
   * Make `into` a view that scores on read instead of a table scored now (SQL engine only): a
   * query of a few groups scores only their rows, with the models as they are when it runs.
   */
  view?: boolean;
}

export interface PredictResult {
  runId: string;
  table: readonly string[];
  engine: 'sql' | 'ts';
  rows: number;
  /** Rows whose group has no usable model (no row in the models table, or a failed one): NULL predictions. */
  rowsWithoutModel: number;
  /**
   * Rows whose group has a model but that could not be scored: a NULL, NaN or ±Infinity feature, a
   * feature array of the wrong length or shape, or a value with no honest number (a regressor's
   * prediction beyond float8's range, or a score that is NaN). Their prediction is NULL.
   */
  rowsUnscored: number;
  /** With fallback 'global': rows whose group has no usable model, scored by the global model (their `fallback` column is true). */
  rowsFallback?: number;
  seconds: number;
  /** True when `into` was made a view that scores on read: nothing was scored yet, and the counts are 0. */
  view?: boolean;
}

const OUTPUT = ['probability', 'prediction', 'probabilities'] as const;

/** What scoring a source with a models table needs: checked columns, features, model kinds (recommend uses it too). */
export interface PredictPlan {
  /** The engine's dialect (opts.dialect, else detected), resolved once. */
  dialect: Dialect;
  group: string[];
  featuresExpr: string;
  /**
   * Models with stored one-hot preprocessing: the category columns' values as text[] (see
   * preprocess/scoring-sql.ts), passed as the scoring functions' third argument; else null.
   */
  categoriesExpr: string | null;
  /** The models carry preprocessing (meta.preprocess): featuresExpr is the raw input columns, not the model's features. */
  preprocessed: boolean;
  /** The same features for the inline SQL scorer (elements: the raw array column, for an array of integers or floats). */
  featureSql: { kind: 'columns'; exprs: string[] } | { kind: 'array'; expr: string; elements?: string };
  featureNames: string[];
  labelKind: 'number' | 'text';
  classifier: boolean;
  multiclass: boolean;
  /** Features per model when every ok model has the same number, else null. */
  nFeatures: number | null;
  /** Usable models (status 'ok'). */
  models: number;
  meta: TableMeta;
  src: Awaited<ReturnType<typeof resolveSource>>;
  /** The source table when the source is one (Citus co-locates with it). */
  sourceTable?: readonly string[];
  modelsName: readonly string[];
  /** Per key column: some model's composite key is NULL there, so rows are matched NULL-safely on it. */
  nullSafeKeys: boolean[];
  /** fallback 'global': the pooled table's global model, which scores rows of groups without a model. */
  fallback: LogisticRegression | null;
}

/** The catalog entry of a models table written by train, or TABLE_NOT_FOUND / NOT_A_MODELS_TABLE. */
export async function readModelsMeta(conn: Connection, modelsName: readonly string[]): Promise<TableMeta> {
  const meta = await readTableMeta(conn, modelsName);
  if (meta === undefined) throw new DatabaseError('TABLE_NOT_FOUND', `the models table ${displayName(modelsName)} does not exist`, 'train models first: manymodels train ... --into T');
  if (meta === null || meta.manymodels !== 'models') {
    throw new DatabaseError('NOT_A_MODELS_TABLE', `${displayName(modelsName)} is not a models table written by manymodels train`, 'pass the table that manymodels train wrote (--into of train)');
  }
  return meta;
}

/** The scoring engine an option names ('auto' and none mean 'sql'), or a usage error. */
export function scoringEngine(engine: string | undefined): 'sql' | 'ts' {
  if (engine !== undefined && !['auto', 'sql', 'ts'].includes(engine)) throw new UsageError(`unknown engine '${engine}'`, "use 'auto', 'sql' or 'ts'");
  return engine === 'ts' ? 'ts' : 'sql';
}

export async function plan(db: Database, opts: PredictOptions): Promise<PredictPlan> {
  const modelsName = tableName(opts.models);
  const meta = await readModelsMeta(db.main, modelsName);
  const group = opts.group === undefined ? meta.group : typeof opts.group === 'string' ? [opts.group] : [...opts.group];
  const src = await resolveSource(db.main, opts.from, 'scoring source');
  for (const g of group) column(src, g, 'group key');
  await checkKeysJoin(db, modelsName, meta.group, group, src);
  const fallback = fallbackModel(opts.fallback, meta, modelsName);
  const clash = src.fields.find((f) => (OUTPUT as readonly string[]).includes(f.name) || (fallback !== null && f.name === FALLBACK));
  if (clash !== undefined) throw new UsageError(`the scoring source has a column named ${ident(clash.name)}, which predict adds`, 'rename or leave it out in a query');
  let featureNames: string[];
  let featuresExpr: string;
  let featureSql: PredictPlan['featureSql'];
  const given = opts.features === undefined ? undefined : typeof opts.features === 'string' ? [opts.features] : [...opts.features];
  if (given === undefined && meta.features.kind === 'array') {
    featureNames = [meta.features.name];
  } else {
    featureNames = given ?? (meta.features.kind === 'columns' ? meta.features.names : []);
  }
  const cols = featureNames.map((f) => column(src, f, 'feature'));
  const S = ident(CATALOG_SCHEMA);
  let categoriesExpr: string | null = null;
  const preprocessed = meta.preprocess !== undefined;
  if (preprocessed) {
    // the raw input columns: the models' stored preprocessing turns them into features (manymodels.prep_x)
    const input = scoringInputSql(meta, cols, S);
    featuresExpr = input.x;
    categoriesExpr = input.c;
    featureSql = { kind: 'array', expr: featuresExpr };
  } else if (cols.length === 1 && cols[0].kind === 'number[]') {
    featuresExpr = float8Sql(`s.${ident(cols[0].name)}`, cols[0].oid === OID.numericArray ? 'numeric[]' : 'other[]', S);
    // an array of integers or floats: the scorer may also read its elements one by one (each ::float8 is the array cast's)
    featureSql = { kind: 'array', expr: featuresExpr, ...(cols[0].oid === OID.numericArray ? {} : { elements: `s.${ident(cols[0].name)}` }) };
  } else {
    for (const c of cols) {
      if (c.kind !== 'number' && c.kind !== 'boolean') {
        throw new DatabaseError('FEATURES_NOT_NUMERIC', `feature column ${ident(c.name)} is not numeric`, 'features must be numeric or boolean columns, or a single numeric array column');
      }
    }
    const exprs = cols.map((c) => float8Sql(`s.${ident(c.name)}`, c.kind === 'boolean' ? 'boolean' : c.oid === OID.numeric ? 'numeric' : 'other', S));
    featuresExpr = `ARRAY[${exprs.join(', ')}]::float8[]`;
    featureSql = { kind: 'columns', exprs };
  }
  const m = qident(modelsName);
  // the documents checked first: the summary below reads their fields with casts that raise on a bad one
  const dialect = await resolveDialect(db, opts.dialect);
  await validateDocuments(db, modelsName, meta, !dialect.distributed);
  // plain aggregates, which PostgreSQL splits among parallel workers (an array_agg(DISTINCT) is not:
  // 1M models, 0.4-0.6 s in one process); the distinct widths are read only when there are several
  const info = await db.main.query<{ classes: number | null; nfmin: number | null; nfmax: number | null; n: number }>(
    `SELECT max(jsonb_array_length(model->'state'->'classes')) AS classes,
            min((model->'state'->>'nFeatures')::int) AS nfmin, max((model->'state'->>'nFeatures')::int) AS nfmax, count(*)::int AS n
     FROM ${m} WHERE status = 'ok'`,
  );
  const { nfmin, nfmax } = info.rows[0];
  const nf =
    nfmin === null
      ? null
      : nfmin === nfmax
        ? [nfmin]
        : (await db.main.query<{ nf: number[] }>(`SELECT array_agg(DISTINCT (model->'state'->>'nFeatures')::int) AS nf FROM ${m} WHERE status = 'ok'`)).rows[0].nf;
  const row = { classes: info.rows[0].classes, nf, n: info.rows[0].n };
  let nullSafeKeys: boolean[] = [];
  if (group.length > 1) {
    const cols = group.map((g, i) => `coalesce(bool_or(m.${ident(g)} IS NULL), false) AS n${i}`);
    const r = await db.main.query<Record<string, boolean>>(`SELECT ${cols.join(', ')} FROM ${m} AS m WHERE ${partlyNullKey('m', group)}`);
    nullSafeKeys = group.map((_, i) => r.rows[0][`n${i}`] === true);
  }
  const classifier = meta.estimator === 'LogisticRegression';
  // features at predict time must match what the models were trained on
  if (!preprocessed && (cols.length > 1 || (cols.length === 1 && cols[0].kind !== 'number[]'))) {
    const bad = (row.nf ?? []).filter((k) => k !== null && k !== cols.length);
    if (bad.length > 0) {
      throw new DatabaseError(
        'FEATURE_COUNT_MISMATCH',
        `the models were trained on ${bad[0]} features, but ${cols.length} feature column${cols.length === 1 ? ' was' : 's were'} given (${featureNames.join(', ')})`,
        'give the same feature columns, in the same order, as at training time',
      );
    }
  }
  return {
    dialect,
    group,
    featuresExpr,
    categoriesExpr,
    preprocessed,
    featureSql,
    featureNames,
    labelKind: meta.labelKind ?? 'number',
    classifier,
    multiclass: classifier && (row.classes ?? 2) > 2,
    // the inline scorer reads the model's features directly: not for raw input that preprocessing expands
    nFeatures: row.nf !== null && row.nf.length === 1 && !preprocessed ? row.nf[0] : null,
    models: row.n,
    meta,
    src,
    sourceTable: typeof opts.from === 'object' && opts.from !== null && 'query' in opts.from ? undefined : tableName(opts.from as TableRef),
    modelsName,
    nullSafeKeys,
    fallback,
  };
}

/** The output column that marks rows scored by the fallback model. */
const FALLBACK = 'fallback';

/** The global model of a pooled models table, for fallback 'global'; null without a fallback. */
function fallbackModel(fallback: string | undefined, meta: TableMeta, modelsName: readonly string[]): LogisticRegression | null {
  if (fallback === undefined || fallback === 'none') return null;
  if (fallback !== 'global') throw new UsageError(`unknown fallback '${fallback}'`, "use 'global' (the global model of a table trained with pool 'global') or 'none'", 'INVALID_OPTION');
  if (meta.pool === undefined) {
    throw new UsageError(
      `the models table ${displayName(modelsName)} has no global model: it was not trained with partial pooling`,
      'train it with pool: global (--pool global), or predict without fallback',
      'INVALID_OPTION',
    );
  }
  const m = decodeModel(meta.pool.global);
  if (!(m instanceof LogisticRegression) || m.classes_.length !== 2) throw new ModelDocumentError(`the global model of ${displayName(modelsName)} is not a binary LogisticRegression`, 'retrain the models with this version of manymodels');
  return m;
}

/**
 * The group key columns must be columns of the models table too, of types that `=` compares:
 * say so with a code instead of the server's words about LATERAL or a missing operator.
 */
async function checkKeysJoin(db: Database, modelsName: readonly string[], trainedKey: readonly string[], group: readonly string[], src: ResolvedSource): Promise<void> {
  const modelCols = new Map((await db.main.query(`SELECT * FROM ${qident(modelsName)} LIMIT 0`)).fields.map((f) => [f.name, f]));
  for (const g of group) {
    if (!modelCols.has(g)) {
      throw new DatabaseError(
        'COLUMN_NOT_FOUND',
        `group key column ${ident(g)} is not a column of the models table ${displayName(modelsName)}, whose group key is ${trainedKey.map(ident).join(', ')}`,
        `the scoring source needs the models' group key columns, under the same names (rename them in a query: SELECT ${ident(g)} AS ${ident(trainedKey[0])}, ... FROM ...)`,
      );
    }
  }
  for (const g of group) {
    try {
      // the two columns' types compared, not the tables joined: Citus refuses a probe join of two tables
      // distributed on different columns (it would repartition), where predict's INSERT ... SELECT works
      const t = (await db.main.query<{ m: string; s: string }>('SELECT format_type($1::oid, NULL) AS m, format_type($2::oid, NULL) AS s', [modelCols.get(g)?.dataTypeID, src.columns.get(g)?.dataTypeID])).rows[0];
      await db.main.query(`SELECT NULL::${t.m} = NULL::${t.s}`);
    } catch (e) {
      const state = (e as DatabaseError).sqlState;
      if (state !== '42883' && state !== '42804') throw e;
      const types = await db.main.query<{ m: string; s: string }>('SELECT format_type($1::oid, NULL) AS m, format_type($2::oid, NULL) AS s', [
        modelCols.get(g)?.dataTypeID,
        src.columns.get(g)?.dataTypeID,
      ]);
      const { m, s } = types.rows[0];
      throw new DatabaseError(
        'KEY_TYPE_MISMATCH',
        `group key column ${ident(g)} is ${m} in the models table ${displayName(modelsName)} but ${s} in the scoring source ${src.display}: they cannot be compared`,
        `cast it in a query: SELECT ${ident(g)}::${m} AS ${ident(g)}, ... FROM ...`,
        state,
      );
    }
  }
}

/**
 * Checks every usable model document of a models table in SQL before any is used: format,
 * version, estimator, and the shapes and types of the learned state. Documents are data, never
 * code: this only reads them. The TypeScript engine also decodes each one with decodeModel.
 */
async function validateDocuments(db: Database, models: readonly string[], meta: TableMeta, fenced: boolean): Promise<void> {
  const est = meta.estimator ?? '';
  // Fenced (one node): the state object and its arrays are extracted once per document, in derived
  // tables fenced with OFFSET '0' (which PostgreSQL still splits among parallel workers), instead of
  // at each of the ~25 places below (1M documents: 0.68x the CPU). Not on a distributed engine,
  // where Citus would pull a fenced subquery over the models table to the coordinator.
  const doc = fenced ? 'd.model' : 'model';
  const state = fenced ? 'd.mm_st' : `model->'state'`;
  const field = (name: string): string => (fenced && ['coef', 'intercept', 'classes'].includes(name) ? `d.mm_${name}` : `${state}->'${name}'`);
  const nf = `(${state}->>'nFeatures')`;
  // The rows' width is compared with the state's own nFeatures ($ is the state inside the filter),
  // not with a jsonb_build_object of it passed as a variable: building that object per document cost
  // ~0.9 of 4.1 CPU-s at 1M documents. nFeatures is a whole number in int's range by then (the CASE
  // checks it first), so the two comparisons agree.
  // JSON path tests, not EXISTS subqueries over jsonb_array_elements: Citus refuses a correlated
  // subquery over a set-returning function in a query on a distributed table. A path that does not
  // apply (a missing member, a scalar where an array belongs) gives NULL: that is a problem too.
  const bad = (target: string, path: string, vars = `'{}'`) => `coalesce(jsonb_path_exists(${target}, '${path}', ${vars}, true), true)`;
  const numbers = (target: string) => bad(target, 'strict $[*] ? (@.type() != "number")');
  const isnt = (target: string, type: string) => `jsonb_typeof(${target}) IS DISTINCT FROM '${type}'`;
  const coefCheck =
    est === 'LogisticRegression'
      ? `${isnt(field('coef'), 'array')} OR ${isnt(field('intercept'), 'array')} OR ${isnt(field('classes'), 'array')}
         OR jsonb_array_length(${field('classes')}) < 2 OR jsonb_array_length(${field('intercept')}) <> jsonb_array_length(${field('coef')})
         OR ${numbers(field('intercept'))}
         OR ${bad(state, 'strict $.coef[*] ? (@.type() != "array" || @.size() != $.nFeatures)')}
         OR ${bad(field('coef'), 'strict $[*][*] ? (@.type() != "number")')}`
      : `${isnt(field('coef'), 'array')} OR ${isnt(field('intercept'), 'number')} OR jsonb_array_length(${field('coef')}) <> ${nf}::int OR ${numbers(field('coef'))}`;
  const problem = `CASE
    WHEN ${doc} IS NULL OR jsonb_typeof(${doc}) <> 'object' THEN 'it is not a JSON object'
    WHEN ${doc}->>'format' IS DISTINCT FROM 'manymodels.model' THEN 'unknown format ' || coalesce(${doc}->'format', 'null'::jsonb)::text
    WHEN ${doc}->'version' IS DISTINCT FROM '1'::jsonb THEN 'unsupported version ' || coalesce(${doc}->'version', 'null'::jsonb)::text || ' (this manymodels reads version 1)'
    WHEN ${doc}->>'estimator' IS DISTINCT FROM ${literal(est)} THEN 'it is a ' || coalesce(${doc}->>'estimator', 'null') || ' document in a table of ${est} models'
    WHEN jsonb_typeof(${state}) IS DISTINCT FROM 'object' OR jsonb_typeof(${field('nFeatures')}) IS DISTINCT FROM 'number' THEN 'state.nFeatures is missing'
    WHEN ${nf}::numeric <> trunc(${nf}::numeric) OR ${nf}::numeric NOT BETWEEN 0 AND 2147483647 THEN 'state.nFeatures is not a whole number'
    WHEN ${coefCheck} THEN 'its coefficients are missing, of the wrong shape or not numbers'
  END`;
  // the key built by name: Citus returns a distributed subquery's row without its column names
  const key = `jsonb_build_object(${meta.group.map((g, i) => `${literal(g)}, ${fenced ? `d.mm_k${i}` : ident(g)}`).join(', ')})`;
  // the key columns renamed (mm_k0, ...): no name of the key can clash with the extracted fields
  const from = fenced
    ? `(SELECT d1.*, d1.mm_st->'coef' AS mm_coef, d1.mm_st->'intercept' AS mm_intercept, d1.mm_st->'classes' AS mm_classes
        FROM (SELECT ${meta.group.map((g, i) => `${ident(g)} AS mm_k${i}`).join(', ')}, model, model->'state' AS mm_st FROM ${qident(models)} WHERE status = 'ok'${DERIVED_FENCE}) AS d1${DERIVED_FENCE}) AS d`
    : `${qident(models)} WHERE status = 'ok'`;
  // One aggregate over every document, not `... LIMIT 1`: the planner costed the LIMIT as stopping at
  // the first row and read a valid table (every row) in one process; the aggregate is split among
  // parallel workers (1M documents: 0.65x the time, side by side). It reports the smallest bad one.
  const r = await db.main.query<{ bad: string | null }>(
    `SELECT min(jsonb_build_object('key', k.key, 'problem', k.problem)::text) AS bad
     FROM (SELECT ${key} AS key, ${problem} AS problem FROM ${from}) AS k WHERE k.problem IS NOT NULL`,
  );
  const found = r.rows[0]?.bad;
  if (found !== null && found !== undefined) {
    const { key, problem } = JSON.parse(found) as { key: Record<string, unknown>; problem: string };
    throw new ModelDocumentError(`the model of group ${JSON.stringify(key)} in ${displayName(models)} is invalid: ${problem}`, 'retrain the models with this version of manymodels');
  }
}

/** Whether the SQL engine scores with the inline SELECT (linear binary or regression models of one width) or the scoring functions. */
function inlineScoring(p: PredictPlan): boolean {
  return !p.multiclass && p.nFeatures !== null;
}

/**
 * The SQL engine's SELECT: the source rows plus probability and prediction (and probabilities for
 * multiclass models, fallback with a fallback model), scored in SQL. Inline arithmetic where every
 * model has the same number of features and at most two classes (guarded: through
 * manymodels.ieee_dot, which never raises), else the scoring functions. The predictions table is
 * made from it, and a predictions view (predict-view.ts) is it.
 */
export function scoringSelect(p: PredictPlan, o: { fence?: string; tableFence?: string; guarded: boolean; derived?: boolean }): string {
  const S = ident(CATALOG_SCHEMA);
  const fb = p.fallback;
  if (inlineScoring(p)) {
    return inlineScoringSql({
      fromSql: p.src.fromSql,
      models: p.modelsName,
      group: p.group,
      features: p.featureSql,
      nFeatures: p.nFeatures as number,
      kind: p.classifier ? 'binary' : 'regressor',
      labelKind: p.labelKind,
      fence: o.fence,
      nullSafeKeys: p.nullSafeKeys,
      guarded: o.guarded,
      schema: S,
      tableFence: o.tableFence,
      ...(fb === null ? {} : { fallback: { intercept: fb.intercept_[0], coef: fb.coef_[0], classes: [fb.classes_[0], fb.classes_[1]] }, fallbackFlag: FALLBACK }),
      ...(o.derived === true ? { derived: { columns: p.src.fields.map((f) => f.name) } } : {}),
    });
  }
  const on = keyMatch('m', 's', p.group, p.nullSafeKeys);
  const models = `(SELECT * FROM ${qident(p.modelsName)} WHERE status = 'ok') AS m`;
  // the group's model, or (fallback) the global model's document, written in as a literal
  const model = fb === null ? 'm.model' : `coalesce(m.model, ${literal(JSON.stringify(encodeModel(fb)))}::jsonb)`;
  // the functions' input: the features, and the category columns' text for one-hot preprocessing
  const args = p.categoriesExpr !== null ? `${model}, f.x, f.c` : `${model}, f.x`;
  const predExpr = p.classifier && p.labelKind === 'text' ? `${S}.predict_label(${args})` : `${S}.predict_value(${args})`;
  const cols = [`${S}.predict_proba(${args}) AS ${ident('probability')}`, `${predExpr} AS ${ident('prediction')}`];
  if (p.multiclass) cols[0] = `CASE WHEN jsonb_array_length(${model}->'state'->'classes') = 2 THEN ${S}.predict_proba(${args}) ELSE (SELECT max(v) FROM unnest(${S}.predict_proba_all(${args})) AS u(v)) END AS ${ident('probability')}`;
  if (p.multiclass) cols.push(`${S}.predict_proba_all(${args}) AS ${ident('probabilities')}`);
  if (!p.classifier) cols[0] = `NULL::float8 AS ${ident('probability')}`;
  if (fb !== null) cols.push(`(m.model IS NULL) AS ${ident(FALLBACK)}`);
  return `SELECT s.*, ${cols.join(', ')} FROM ${p.src.fromSql} LEFT JOIN ${models} ON ${on} CROSS JOIN LATERAL (SELECT ${p.featuresExpr} AS x${p.categoriesExpr !== null ? `, ${p.categoriesExpr} AS c` : ''}) AS f`;
}

/** Scores the source rows with their group's model and swaps the predictions table in. */
export async function predict(db: Database, opts: PredictOptions, version: string): Promise<PredictResult> {
  if (opts.view === true) return predictIntoView(db, opts, version);
  const t0 = performance.now();
  const p = await plan(db, opts);
  const engine = scoringEngine(opts.engine);
  const target = tableName(opts.into);
  const dialect = p.dialect;
  await checkTarget(db.main, target, opts.replace === true, 'predictions');
  return withRun(
    db,
    {
      target,
      version,
      wait: opts.wait,
      signal: opts.signal,
      record: { kind: 'predict', source: p.src.display, modelsTable: p.modelsName, groupKey: p.group, features: p.featureNames },
      output: { columns: [...p.src.fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID })), ...outputColumns(p).map((c) => ({ name: c, typeOid: null }))] },
    },
    async ({ runId, staging }) => {
    const predType = p.classifier && p.labelKind === 'text' ? 'text' : 'float8';
    const on = keyMatch('m', 's', p.group, p.nullSafeKeys);
    const extra = [`NULL::float8 AS ${ident('probability')}`, `NULL::${predType} AS ${ident('prediction')}`];
    if (p.multiclass) extra.push(`NULL::float8[] AS ${ident('probabilities')}`);
    if (p.fallback !== null) extra.push(`NULL::boolean AS ${ident(FALLBACK)}`);
    const fb = p.fallback;
    const progress = new ProgressTracker('predict', await estimateRows(db, opts.from), opts.onProgress, undefined, opts.signal);
    // the predictions are spread like the source rows: by the group key, co-located with the source where it is distributed on it
    const colocateWith = await colocationSource(db, dialect, p.sourceTable, p.group);
    const by = await distributeByFor(db, dialect, colocateWith, p.src.fromSql, p.group, 'every row', p.src.columns.get(p.group[0])?.dataTypeID ?? 0);
    if (engine === 'sql') {
      // on one node, the inline scorer in its derived form, which runs in parallel workers
      const derived = inlineScoring(p) && !dialect.distributed;
      const select = (guarded: boolean): string => scoringSelect(p, { fence: dialect.fence, tableFence: dialect.tableFence, guarded, derived });
      // for this statement only: the inline scorer's hash of the models in memory (on a distributed
      // engine the join runs on the workers or segments, under their own settings) and, for the
      // derived form, a parallel_tuple_cost that lets the planner choose the parallel plan
      const settings: Record<string, string> = {};
      const workMem = derived ? await scoringWorkMem(db.main, p) : null;
      if (workMem !== null) settings.work_mem = `${workMem}kB`;
      if (derived) Object.assign(settings, PARALLEL_SCORING);
      const create = async (guarded: boolean): Promise<void> => {
        const stmts = dialect.createTableAs(staging.staging, select(guarded), by, colocateWith);
        if (Object.keys(settings).length === 0) {
          for (const sql of stmts) await db.main.exec(sql);
          return;
        }
        await withLocalSettings(db.main, settings, async () => {
          for (const sql of stmts) await db.main.exec(sql);
        });
      };
      try {
        await create(false);
      } catch (e) {
        // PostgreSQL's float8 arithmetic raised on an overflow or underflow (a huge or tiny feature):
        // score again with the IEEE-754 arithmetic of manymodels.ieee_dot, which gives each row its own answer
        if (!(e instanceof DatabaseError && e.sqlState === '22003') || !inlineScoring(p)) throw e;
        await db.main.exec(`DROP TABLE IF EXISTS ${qident(staging.staging)}`);
        await create(true);
      }
    } else {
      for (const sql of dialect.createEmptyTableAs(staging.staging, `SELECT s.*, ${extra.join(', ')} FROM ${p.src.fromSql}`, by, colocateWith)) await db.main.exec(sql);
      await streamScores(db, p, staging, progress, opts.signal);
    }
    if (p.classifier && p.meta.labelType === 'boolean') {
      // the models' classes are 0 and 1; the predictions are of the label's own type
      await db.main.exec(`ALTER TABLE ${qident(staging.staging)} ALTER COLUMN ${ident('prediction')} TYPE boolean USING ${ident('prediction')} <> 0`);
    }
    // rows without a prediction: those whose group has no usable model, and those that had one
    const counts = await db.main.query<{ n: number; missing: number; fallback: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE ${ident('prediction')} IS NULL)::int AS missing,
              ${fb === null ? '0' : `count(*) FILTER (WHERE ${ident(FALLBACK)})::int`} AS fallback FROM ${qident(staging.staging)}`,
    );
    if (counts.rows.length !== 1) {
      // a count(*) always returns one row: the database did not run the statement (an embedded database that crashed)
      throw new DatabaseError('DATABASE_ERROR', `the database returned no result for a count of ${displayName(staging.staging)}`, 'the database is in an unusable state: reopen it and run again');
    }
    const { n, missing } = counts.rows[0];
    const unscored =
      missing === 0
        ? 0
        : (
            await db.main.query<{ k: number }>(
              // a join, not a correlated EXISTS: Citus refuses the latter between a predictions table left on
              // the coordinator (NULL keys) and a distributed models table (one row per group: no duplicates)
              `SELECT count(*)::int AS k FROM ${qident(staging.staging)} AS s
               JOIN (SELECT ${p.group.map(ident).join(', ')} FROM ${qident(p.modelsName)} WHERE status = 'ok') AS m ON ${on}
               WHERE s.${ident('prediction')} IS NULL`,
            )
          ).rows[0].k;
    progress.rowsDone = n;
    progress.finish();
    const meta = { manymodels: 'predictions' as const, version: 1 as const, group: p.group, features: p.meta.features, label: p.meta.label, labelKind: p.labelKind, estimator: p.meta.estimator };
    const result: PredictResult = { runId, table: target, engine, rows: n, rowsWithoutModel: missing - unscored, rowsUnscored: unscored, seconds: (performance.now() - t0) / 1000 };
    if (fb !== null) result.rowsFallback = counts.rows[0].fallback;
    return { result, meta, end: { status: 'succeeded', rowsUsed: n - missing, rowsSkipped: missing } };
    },
  );
}

/**
 * The planner settings of the derived scoring statement (SET LOCAL, for it alone). At the default
 * parallel_tuple_cost (0.1 per row sent from a worker to the leader) PostgreSQL 15 costs the
 * parallel plan of 8.9M rows just above the serial one (it counts the scores' CASE expressions as
 * nearly free), and picks the serial one, which took 1.5-2.5x as long side by side (2 cores, load ~3).
 * max_parallel_workers_per_gather and the other limits stay the server's.
 */
const PARALLEL_SCORING: Readonly<Record<string, string>> = { parallel_tuple_cost: '0.01' };

/**
 * The work_mem (kB) that keeps the inline scorer's hash of the models in one batch (see
 * scoringWorkMemKb), or null when the session's setting already does.
 */
async function scoringWorkMem(conn: Connection, p: PredictPlan): Promise<number | null> {
  const r = await conn.query<{ kb: string }>(`SELECT setting AS kb FROM pg_settings WHERE name = 'work_mem'`);
  const current = Number(r.rows[0]?.kb);
  return Number.isFinite(current) ? scoringWorkMemKb(p.models, p.nFeatures ?? 0, p.group.length, current) : null;
}

/** The columns predict adds: probability, prediction, probabilities (multiclass), fallback (with fallback 'global'). */
export function outputColumns(p: PredictPlan): string[] {
  return [...OUTPUT.slice(0, p.multiclass ? 3 : 2), ...(p.fallback !== null ? [FALLBACK] : [])];
}

/**
 * The TypeScript engine: streams source rows ordered by group, with the group's model document
 * on the first row of each group only, scores them with the core's estimators, and streams the
 * results back with COPY.
 */
async function streamScores(db: Database, p: PredictPlan, staging: Staging, progress: ProgressTracker, signal?: AbortSignal): Promise<void> {
  const nSrc = p.src.fields.length;
  const keys = p.group.map((g) => `s.${ident(g)}`).join(', ');
  const on = keyMatch('m', 's', p.group, p.nullSafeKeys);
  // ordered by the row number too: the model comes on a group's first row, and a distributed engine
  // merging its shards' rows by the key alone (Citus) may put another row of the group first
  const select = `SELECT s.*, ${p.featuresExpr} AS mm_x, row_number() OVER w = 1 AS mm_first,
    CASE WHEN row_number() OVER w = 1 THEN m.model::text END AS mm_model${p.categoriesExpr !== null ? `, ${p.categoriesExpr} AS mm_c` : ''}
    FROM ${p.src.fromSql} LEFT JOIN (SELECT * FROM ${qident(p.modelsName)} WHERE status = 'ok') AS m ON ${on}
    WINDOW w AS (PARTITION BY ${keys}) ORDER BY ${keys}, row_number() OVER w`;
  const decoder = new BinaryCopyDecoder(nSrc + 3 + (p.categoriesExpr !== null ? 1 : 0));
  const encoder = new BinaryCopyEncoder();
  const outFields = nSrc + outputColumns(p).length;
  let model: Estimator | null = null;
  let prep: Preprocessor | null = null;
  let modelError: ManyModelsError | null = null;
  let groups = 0;
  let x = new Float64Array(64);
  const onRow = (row: RowFields): void => {
    if (row.buf[row.start[nSrc + 1]] === 1) {
      model = null;
      prep = null;
      modelError = null;
      if (row.len[nSrc + 2] >= 0) {
        try {
          const doc = JSON.parse(readText(row, nSrc + 2)) as unknown;
          model = decodeModel(doc);
          prep = preprocessor(doc, model.nFeaturesIn_);
        } catch (e) {
          modelError = e as ManyModelsError;
        }
        groups++;
      }
    }
    if (modelError !== null) throw modelError;
    encoder.beginRow(outFields);
    for (let f = 0; f < nSrc; f++) encoder.raw(row.buf, row.start[f], row.len[f]);
    let score: RowScore | null = null;
    const own = model as Estimator | null;
    // a group without a usable model: the global model, where the run asked for it
    const m = own ?? p.fallback;
    if (m !== null && row.len[nSrc] >= 0) {
      let r = readFloat8Array(row, nSrc, x, 0);
      if (r.nulls < 0) {
        x = new Float64Array(Math.max(r.count, 2 * x.length));
        r = readFloat8Array(row, nSrc, x, 0);
      }
      // a NULL element reads as NaN; an array of two or more dimensions is not a feature vector
      if (r.dims.length === 1 && prep === null) score = scoreLinear(m, x.subarray(0, r.count));
      else if (prep !== null) {
        // the raw input columns through the model's stored preprocessing
        const c = row.len[nSrc + 3] >= 0 && p.categoriesExpr !== null ? readTextArray(row, nSrc + 3).values : null;
        const features = prep.apply(x.subarray(0, r.count), r.dims.length === 1, c);
        if (features !== null) score = scoreLinear(m, features);
      }
    }
    encoder.float8(score?.probability ?? null);
    const pred = score?.prediction ?? null;
    if (typeof pred === 'string' || (p.classifier && p.labelKind === 'text')) encoder.text(pred === null ? null : String(pred));
    else encoder.float8(pred);
    if (p.multiclass) {
      const all = score?.probabilities ?? null;
      if (all === null) encoder.null();
      else encoder.float8Array(all);
    }
    if (p.fallback !== null) encoder.bool(own === null);
  };
  const reader = await db.openStream();
  const writer = db.concurrentStreams ? await db.openStream() : null;
  // a cancel request stops both COPY statements on the server (the run then ends as cancelled)
  const onAbort = (): void => {
    void reader.cancel();
    void writer?.cancel();
  };
  signal?.addEventListener('abort', onAbort);
  try {
    async function* body(): AsyncIterable<Uint8Array> {
      for await (const chunk of reader.copyOut(`(${select})`, 'binary')) {
        if (signal?.aborted === true) throw new CancelledError(String(signal.reason ?? 'aborted'));
        const before = decoder.rows;
        const g0 = groups;
        decoder.feed(chunk, onRow);
        progress.add(groups - g0, decoder.rows - before);
        if (encoder.size >= 1 << 20) yield encoder.take();
      }
      decoder.finish();
      if (encoder.size > 0) yield encoder.take();
    }
    const cols = [...p.src.fields.map((f) => f.name), ...outputColumns(p)];
    await (writer ?? db.main).copyIn(`${qident(staging.staging)} (${cols.map(ident).join(', ')})`, 'binary', body());
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (reader !== db.main) await reader.close();
    if (writer !== null) await writer.close();
  }
}
