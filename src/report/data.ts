import type { Database } from '../db/connection.js';
import { DatabaseError } from '../errors.js';
import { LogisticRegression } from '../estimators/logistic-regression.js';
import { decodeModel } from '../model-io/document.js';
import { CATALOG_SCHEMA, readTableMeta, type TableMeta } from '../pipeline/catalog.js';
import { resolveSource, type TableRef, tableName } from '../pipeline/source.js';
import { displayName, ident, parseQualifiedName, qident, type QualifiedName } from '../sql/ident.js';

/**
 * Everything the report shows, already aggregated: every list here is bounded (bins, the latest runs,
 * a sample of groups), whatever the number of groups, so the HTML stays small at 100k+ groups.
 */
export interface ReportData {
  title: string;
  generatedAt: string;
  version: string;
  models: {
    table: string;
    estimator: string;
    group: string[];
    features: string[];
    label: string | null;
    groupsOk: number;
    groupsFailed: number;
    rowsUsed: number;
    rowsSkipped: number;
    converged: number;
    notConverged: number;
    runId: string | null;
  };
  /** The latest runs of the catalog, oldest first. */
  runs: RunPoint[];
  failures: { code: string; count: number; example: string }[];
  /**
   * Distributions across groups. `split` says where a metric was measured: 'training' (train_score)
   * today; held-out metrics, when a run records them, are more entries with split 'held-out'.
   */
  distributions: Distribution[];
  /** One distribution per named feature (and the intercept), over the ok models. */
  coefficients: Distribution[];
  calibration: Calibration | null;
  roc: Roc | null;
  response: Response | null;
  recommendations: Recommendations | null;
  /** Why a section is empty, by section. */
  notes: Record<string, string>;
}

export interface RunPoint {
  runId: string;
  kind: string;
  status: string;
  startedAt: string;
  seconds: number | null;
  output: string | null;
  groupsOk: number | null;
  groupsFailed: number | null;
}

export interface Bin {
  x0: number;
  x1: number;
  count: number;
}

export interface Distribution {
  name: string;
  /** 'training' or 'held-out' for metrics; 'shape' for rows and iterations; 'coefficient' for coefficients. */
  split: 'training' | 'held-out' | 'shape' | 'coefficient';
  n: number;
  min: number | null;
  median: number | null;
  mean: number | null;
  max: number | null;
  /** Values outside the 1st–99th percentile range are counted in the end bins (coefficients only). */
  clipped: number;
  bins: Bin[];
}

export interface Calibration {
  source: string;
  rows: number;
  /** Mean squared error of the probability against the 0/1 outcome. */
  brier: number;
  bins: { bin: number; meanPredicted: number; observed: number; count: number }[];
}

export interface Roc {
  source: string;
  positives: number;
  negatives: number;
  /** Exact, from the ranks of all scored rows (Mann–Whitney), ties counted half. */
  auc: number;
  points: { fpr: number; tpr: number; threshold: number }[];
}

export interface Response {
  feature: string;
  /** Where the other features are held: their means over `heldFrom`. */
  heldFrom: string;
  kind: 'probability' | 'prediction';
  curves: { group: string; points: { x: number; y: number }[] }[];
}

export interface Recommendations {
  table: string;
  rows: number;
  groups: number;
  candidate: string[];
  byRank: { rank: number; count: number; meanScore: number }[];
  topPicks: { candidate: string; count: number }[];
  /** Scores of the rank-1 recommendations. */
  scores: Distribution;
}

export interface ReportOptions {
  models: TableRef;
  predictions?: TableRef;
  recommendations?: TableRef;
  /** The feature whose response curves are drawn (default: the first). */
  responseFeature?: string;
  /** How many groups' response curves (default 12). */
  responseGroups?: number;
  title?: string;
}

const BINS = 30;

/** Histogram of a float8 SQL expression over a FROM clause: equal-width bins between the 1st and 99th percentile (or min and max). */
async function distribution(db: Database, name: string, split: Distribution['split'], from: string, expr: string, clip: boolean, integer = false): Promise<Distribution> {
  const s = await db.main.query<{ n: number; min: number | null; max: number | null; mean: number | null; q: number[] | null }>(
    `SELECT count(v)::float8 AS n, min(v) AS min, max(v) AS max, avg(v) AS mean,
            percentile_cont(ARRAY[0.01, 0.5, 0.99]) WITHIN GROUP (ORDER BY v) AS q
     FROM (SELECT (${expr})::float8 AS v FROM ${from}) AS d WHERE v = v AND v NOT IN ('Infinity', '-Infinity')`,
  );
  const r = s.rows[0];
  const out: Distribution = { name, split, n: r.n, min: r.min, median: r.q?.[1] ?? null, mean: r.mean, max: r.max, clipped: 0, bins: [] };
  if (r.n === 0 || r.min === null || r.max === null) return out;
  let lo = clip ? r.q![0] : r.min;
  let hi = clip ? r.q![2] : r.max;
  let nb = BINS;
  if (integer) {
    lo = Math.floor(lo) - 0.5;
    hi = Math.ceil(hi) + 0.5;
    nb = Math.min(BINS, Math.round(hi - lo));
  } else if (hi - lo < 1e-12 * Math.max(1, Math.abs(lo))) {
    lo -= 0.5;
    hi += 0.5;
    nb = 1;
  }
  const w = (hi - lo) / nb;
  const b = await db.main.query<{ b: number; count: number; outside: number }>(
    `SELECT least(greatest(floor((v - $1) / $2), 0), $3 - 1)::int AS b, count(*)::float8 AS count,
            count(*) FILTER (WHERE v < $1 OR v > $1 + $2 * $3)::float8 AS outside
     FROM (SELECT (${expr})::float8 AS v FROM ${from}) AS d WHERE v = v AND v NOT IN ('Infinity', '-Infinity') GROUP BY 1 ORDER BY 1`,
    [lo, w, nb],
  );
  const counts = new Array<number>(nb).fill(0);
  for (const x of b.rows) {
    counts[x.b] = x.count;
    out.clipped += x.outside;
  }
  out.bins = counts.map((count, i) => ({ x0: lo + i * w, x1: lo + (i + 1) * w, count }));
  return out;
}

function keyText(row: Record<string, unknown>, group: readonly string[]): string {
  return group.map((g) => String(row[g])).join(' · ');
}

/** Gathers the report's data from a models table and, optionally, a predictions and a recommendations table. */
export async function reportData(db: Database, opts: ReportOptions, version: string): Promise<ReportData> {
  const modelsName = tableName(opts.models);
  const meta = await readTableMeta(db.main, modelsName);
  if (meta === undefined) throw new DatabaseError('TABLE_NOT_FOUND', `the models table ${displayName(modelsName)} does not exist`, 'train models first: manymodels train ... --into T');
  if (meta === null || meta.manymodels !== 'models') throw new DatabaseError('NOT_A_MODELS_TABLE', `${displayName(modelsName)} is not a models table written by manymodels train`, 'pass the table that manymodels train wrote (--into of train)');
  const M = qident(modelsName);
  const notes: Record<string, string> = {};
  const head = (
    await db.main.query<Record<string, number>>(
      `SELECT count(*) FILTER (WHERE status = 'ok')::float8 AS ok, count(*) FILTER (WHERE status = 'failed')::float8 AS failed,
              coalesce(sum(n_rows) FILTER (WHERE status = 'ok'), 0)::float8 AS used, coalesce(sum(n_skipped), 0)::float8 AS skipped,
              count(*) FILTER (WHERE converged)::float8 AS conv, count(*) FILTER (WHERE status = 'ok' AND NOT converged)::float8 AS notconv,
              coalesce(max((model->'state'->>'nFeatures')::int) FILTER (WHERE status = 'ok'), 0)::int AS nf
       FROM ${M}`,
    )
  ).rows[0];
  const estimator = meta.estimator ?? 'unknown';
  const features = meta.features.kind === 'columns' ? meta.features.names : Array.from({ length: head.nf }, (_, j) => `${(meta.features as { name: string }).name}[${j + 1}]`);

  const runs = await readRuns(db);
  const failures = (
    await db.main.query<{ code: string; count: number; example: string }>(
      `SELECT split_part(error, ':', 1) AS code, count(*)::float8 AS count, min(error) AS example FROM ${M} WHERE status = 'failed' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20`,
    )
  ).rows;

  const ok = `${M} WHERE status = 'ok'`;
  const distributions = [
    await distribution(db, 'rows per group', 'shape', M, 'n_rows', false, true),
    await distribution(db, 'solver iterations', 'shape', ok, 'n_iter', false, true),
    await distribution(db, estimator === 'LogisticRegression' ? 'training accuracy' : 'training R²', 'training', ok, 'train_score', false),
  ];

  const classifier = estimator === 'LogisticRegression';
  const coefficients: Distribution[] = [];
  const shown = features.slice(0, 12);
  if (features.length > shown.length) notes.coefficients = `the first ${shown.length} of ${features.length} features are shown`;
  for (let j = 0; j < shown.length; j++) {
    const from = classifier ? `${M} CROSS JOIN LATERAL jsonb_array_elements(model->'state'->'coef') AS r(c) WHERE status = 'ok'` : ok;
    const expr = classifier ? `r.c->>${j}` : `model->'state'->'coef'->>${j}`;
    coefficients.push(await distribution(db, shown[j], 'coefficient', from, expr, true));
  }
  if (classifier) coefficients.push(await distribution(db, 'intercept', 'coefficient', `${M} CROSS JOIN LATERAL jsonb_array_elements_text(model->'state'->'intercept') AS r(c) WHERE status = 'ok'`, 'r.c', true));
  else coefficients.push(await distribution(db, 'intercept', 'coefficient', ok, `model->'state'->>'intercept'`, true));
  if (classifier && features.length > 0) {
    const multi = await db.main.query<{ k: number }>(`SELECT coalesce(max(jsonb_array_length(model->'state'->'classes')), 0)::int AS k FROM ${ok}`);
    if (multi.rows[0].k > 2) notes.coefficients = `${notes.coefficients ? `${notes.coefficients}; ` : ''}multiclass models: each class's coefficients are pooled`;
  }

  let calibration: Calibration | null = null;
  let roc: Roc | null = null;
  let predMeta: TableMeta | null | undefined;
  if (opts.predictions !== undefined) {
    const pn = tableName(opts.predictions);
    predMeta = await readTableMeta(db.main, pn);
    if (predMeta === undefined) throw new DatabaseError('TABLE_NOT_FOUND', `the predictions table ${displayName(pn)} does not exist`);
    const labelCol = meta.label;
    const cols = await db.main.query(`SELECT * FROM ${qident(pn)} LIMIT 0`);
    const has = (c: string) => cols.fields.some((f) => f.name === c);
    if (!classifier) notes.calibration = 'calibration and ROC are for classifiers';
    else if (labelCol === undefined || !has(labelCol) || !has('probability')) notes.calibration = `${displayName(pn)} has no ${labelCol === undefined ? 'label' : ident(labelCol)} column: score rows with known outcomes (held-out rows) to see calibration and ROC`;
    else {
      const on = meta.group.map((g) => `m.${ident(g)} = p.${ident(g)}`).join(' AND ');
      // y = 1 when the row's label is the class whose probability was predicted (classes_[1] of a binary model)
      const scored = `(SELECT p.probability AS prob, (p.${ident(labelCol)}::text = m.model->'state'->'classes'->>1)::int AS y
         FROM ${qident(pn)} AS p JOIN ${M} AS m ON ${on} AND m.status = 'ok'
         WHERE p.probability IS NOT NULL AND p.${ident(labelCol)} IS NOT NULL AND jsonb_array_length(m.model->'state'->'classes') = 2) AS d`;
      const cal = await db.main.query<{ bin: number; mp: number; obs: number; count: number }>(
        `SELECT least(floor(prob * 10), 9)::int AS bin, avg(prob) AS mp, avg(y)::float8 AS obs, count(*)::float8 AS count FROM ${scored} GROUP BY 1 ORDER BY 1`,
      );
      const tot = await db.main.query<{ n: number; pos: number; brier: number | null }>(`SELECT count(*)::float8 AS n, coalesce(sum(y), 0)::float8 AS pos, avg((prob - y) ^ 2) AS brier FROM ${scored}`);
      const { n, pos, brier } = tot.rows[0];
      if (n === 0) notes.calibration = `${displayName(pn)} has no scored rows with a label`;
      else {
        calibration = { source: displayName(pn), rows: n, brier: brier ?? 0, bins: cal.rows.map((b) => ({ bin: b.bin, meanPredicted: b.mp, observed: b.obs, count: b.count })) };
        const neg = n - pos;
        if (pos > 0 && neg > 0) {
          const auc = await db.main.query<{ auc: number }>(
            `SELECT (sum(r) FILTER (WHERE y = 1) - $1 * ($1 + 1) / 2) / ($1 * $2) AS auc
             FROM (SELECT y, (rank() OVER (ORDER BY prob) + (count(*) OVER (PARTITION BY prob) - 1) / 2.0)::float8 AS r FROM ${scored}) AS q`,
            [pos, neg],
          );
          const th = await db.main.query<{ t: number; p: number; n: number }>(
            `SELECT floor(prob * 200)::int AS t, sum(y)::float8 AS p, (count(*) - sum(y))::float8 AS n FROM ${scored} GROUP BY 1 ORDER BY 1 DESC`,
          );
          const points = [{ fpr: 0, tpr: 0, threshold: 1 }];
          let tp = 0;
          let fp = 0;
          for (const r of th.rows) {
            tp += r.p;
            fp += r.n;
            points.push({ fpr: fp / neg, tpr: tp / pos, threshold: r.t / 200 });
          }
          roc = { source: displayName(pn), positives: pos, negatives: neg, auc: auc.rows[0].auc, points };
        } else notes.roc = 'the labelled rows hold one class only: no ROC curve';
      }
    }
  } else notes.calibration = 'give --predictions (rows scored with known outcomes) to see calibration and ROC';

  const response = await responseCurves(db, opts, meta, modelsName, features, predMeta === undefined ? undefined : tableName(opts.predictions!), notes);
  const recommendations = opts.recommendations === undefined ? null : await recommendationSummary(db, tableName(opts.recommendations), meta.group);
  if (recommendations === null) notes.recommendations = 'give --recommendations (a table written by recommend) to see them here';

  return {
    title: opts.title ?? `manymodels report: ${displayName(modelsName)}`,
    generatedAt: new Date().toISOString(),
    version,
    models: {
      table: displayName(modelsName),
      estimator,
      group: meta.group,
      features,
      label: meta.label ?? null,
      groupsOk: head.ok,
      groupsFailed: head.failed,
      rowsUsed: head.used,
      rowsSkipped: head.skipped,
      converged: head.conv,
      notConverged: head.notconv,
      runId: meta.runId ?? null,
    },
    runs,
    failures,
    distributions,
    coefficients,
    calibration,
    roc,
    response,
    recommendations,
    notes,
  };
}

async function readRuns(db: Database): Promise<RunPoint[]> {
  const exists = await db.main.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [qident([CATALOG_SCHEMA, 'runs'])]);
  if (exists.rows[0].t === null) return [];
  const r = await db.main.query<Record<string, unknown>>(
    `SELECT * FROM (SELECT run_id::text AS run_id, kind, status, started_at, extract(epoch FROM finished_at - started_at)::float8 AS seconds,
            output_table, groups_ok::float8 AS groups_ok, groups_failed::float8 AS groups_failed
     FROM ${qident([CATALOG_SCHEMA, 'runs'])} ORDER BY started_at DESC LIMIT 500) AS r ORDER BY started_at`,
  );
  return r.rows.map((x) => ({
    runId: x.run_id as string,
    kind: x.kind as string,
    status: x.status as string,
    startedAt: (x.started_at as Date).toISOString(),
    seconds: (x.seconds as number | null) ?? null,
    output: (x.output_table as string | null) ?? null,
    groupsOk: (x.groups_ok as number | null) ?? null,
    groupsFailed: (x.groups_failed as number | null) ?? null,
  }));
}

/**
 * Response curves of a sample of groups over one feature, the other features held at their means:
 * over the predictions table when given, else over the training source named in the run catalog.
 */
async function responseCurves(
  db: Database,
  opts: ReportOptions,
  meta: TableMeta,
  modelsName: QualifiedName,
  features: string[],
  predictions: QualifiedName | undefined,
  notes: Record<string, string>,
): Promise<Response | null> {
  if (features.length === 0) return null;
  const j = opts.responseFeature === undefined ? 0 : features.indexOf(opts.responseFeature);
  if (j < 0) {
    notes.response = `no feature named ${opts.responseFeature}; the features are ${features.join(', ')}`;
    return null;
  }
  // where the features' ranges come from
  let from: string | null = null;
  let heldFrom = '';
  if (predictions !== undefined) {
    from = `${qident(predictions)} AS s`;
    heldFrom = displayName(predictions);
  } else {
    const src = await db.main.query<{ source: string | null }>(
      `SELECT source FROM ${qident([CATALOG_SCHEMA, 'runs'])} WHERE run_id::text = $1`,
      [meta.runId],
    ).catch(() => ({ rows: [] as { source: string | null }[] }));
    const name = src.rows[0]?.source;
    if (name && !/\s/.test(name.trim()) && meta.form !== 'packed') {
      try {
        from = (await resolveSource(db.main, parseQualifiedName(name), 'training source')).fromSql;
        heldFrom = name;
      } catch {
        from = null;
      }
    }
  }
  if (from === null) {
    notes.response = 'the feature ranges are unknown: give --predictions to draw response curves';
    return null;
  }
  const exprs = meta.features.kind === 'columns' ? meta.features.names.map((n) => `s.${ident(n)}::float8`) : features.map((_, k) => `s.${ident((meta.features as { name: string }).name)}[${k + 1}]::float8`);
  let stats: { lo: number | null; hi: number | null; means: (number | null)[] };
  try {
    const r = await db.main.query<{ lo: number | null; hi: number | null; means: (number | null)[] }>(
      `SELECT min(${exprs[j]}) AS lo, max(${exprs[j]}) AS hi, ARRAY[${exprs.map((e) => `avg(${e})::float8`).join(', ')}]::float8[] AS means FROM ${from}`,
    );
    stats = r.rows[0];
  } catch {
    notes.response = `the features cannot be read from ${heldFrom}`;
    return null;
  }
  if (stats.lo === null || stats.hi === null) {
    notes.response = `${heldFrom} has no rows with the feature ${features[j]}`;
    return null;
  }
  const lo = stats.lo;
  const hi = stats.hi > stats.lo ? stats.hi : stats.lo + 1;
  const keys = meta.group.map(ident).join(', ');
  const sample = await db.main.query<Record<string, unknown>>(
    `SELECT ${keys}, model::text AS mm_model FROM ${qident(modelsName)} WHERE status = 'ok' ORDER BY md5(concat_ws('|', ${keys})), ${keys} LIMIT $1`,
    [opts.responseGroups ?? 12],
  );
  const classifier = meta.estimator === 'LogisticRegression';
  const curves: Response['curves'] = [];
  const steps = 40;
  for (const row of sample.rows) {
    const model = decodeModel(row.mm_model as string);
    if (model.nFeaturesIn_ !== features.length) continue;
    const data = new Float64Array((steps + 1) * features.length);
    for (let i = 0; i <= steps; i++) {
      for (let k = 0; k < features.length; k++) data[i * features.length + k] = stats.means[k] ?? 0;
      data[i * features.length + j] = lo + ((hi - lo) * i) / steps;
    }
    const mat = { data, rows: steps + 1, cols: features.length };
    let ys: ArrayLike<number>;
    if (model instanceof LogisticRegression) {
      if (model.classes_.length !== 2) continue;
      const pr = model.predictProbaFlat(mat);
      ys = Array.from({ length: steps + 1 }, (_, i) => pr[2 * i + 1]);
    } else ys = model.predictFlat(mat) as Float64Array;
    curves.push({ group: keyText(row, meta.group), points: Array.from({ length: steps + 1 }, (_, i) => ({ x: data[i * features.length + j], y: ys[i] })) });
  }
  return { feature: features[j], heldFrom, kind: classifier ? 'probability' : 'prediction', curves };
}

async function recommendationSummary(db: Database, name: QualifiedName, group: string[]): Promise<Recommendations> {
  const meta = await readTableMeta(db.main, name);
  if (meta === undefined) throw new DatabaseError('TABLE_NOT_FOUND', `the recommendations table ${displayName(name)} does not exist`);
  if (meta === null || meta.manymodels !== 'recommendations') throw new DatabaseError('NOT_A_RECOMMENDATIONS_TABLE', `${displayName(name)} is not a table written by manymodels recommend`, 'pass the --into table of recommend');
  const R = qident(name);
  const candidate = meta.candidate ?? [];
  const keys = group.map(ident).join(', ');
  const head = await db.main.query<{ rows: number; groups: number }>(`SELECT count(*)::float8 AS rows, (SELECT count(*) FROM (SELECT DISTINCT ${keys} FROM ${R}) AS d)::float8 AS groups FROM ${R}`);
  const byRank = await db.main.query<{ rank: number; count: number; meanScore: number }>(
    `SELECT rank, count(*)::float8 AS count, avg(score)::float8 AS "meanScore" FROM ${R} GROUP BY rank ORDER BY rank LIMIT 50`,
  );
  const label = candidate.length === 0 ? `'?'` : `concat_ws(' · ', ${candidate.map((c) => `${ident(c)}::text`).join(', ')})`;
  const top = await db.main.query<{ candidate: string; count: number }>(
    `SELECT ${label} AS candidate, count(*)::float8 AS count FROM ${R} WHERE rank = 1 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 15`,
  );
  return {
    table: displayName(name),
    rows: head.rows[0].rows,
    groups: head.rows[0].groups,
    candidate,
    byRank: byRank.rows,
    topPicks: top.rows,
    scores: await distribution(db, 'score of the top recommendation', 'shape', `${R} WHERE rank = 1`, 'score', false),
  };
}
