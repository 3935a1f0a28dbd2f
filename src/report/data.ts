import type { Database } from '../db/connection.js';
import { DatabaseError } from '../errors.js';
import { LogisticRegression } from '../estimators/logistic-regression.js';
import { decodeModel } from '../model-io/document.js';
import { preprocessor } from '../preprocess/preprocessor.js';
import { CATALOG_SCHEMA, readTableMeta, type TableMeta } from '../pipeline/catalog.js';
import { readModelsMeta } from '../pipeline/predict.js';
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

interface DistSpec {
  name: string;
  split: Distribution['split'];
  /** Bins between the 1st and 99th percentile (outliers in the end bins) rather than min and max. */
  clip: boolean;
  /** Whole numbers: one bin per value (up to BINS). */
  integer?: boolean;
}

/**
 * Histograms of several variables in two passes over `from`, which yields (j, v): j the 0-based index
 * of the variable in `specs`, v a float8 value (NULL, NaN and ±Infinity are left out). The first pass
 * gives each variable's count, min, max, mean and percentiles; the second counts equal-width bins.
 */
async function distributions(db: Database, from: string, specs: readonly DistSpec[]): Promise<Distribution[]> {
  const finite = `v = v AND v NOT IN ('Infinity', '-Infinity')`;
  const st = await db.main.query<{ j: number; n: number; min: number; max: number; mean: number; q: number[] }>(
    `SELECT j, count(v)::float8 AS n, min(v) AS min, max(v) AS max, avg(v) AS mean,
            percentile_cont(ARRAY[0.01, 0.5, 0.99]) WITHIN GROUP (ORDER BY v) AS q
     FROM ${from} WHERE ${finite} GROUP BY j`,
  );
  const out: Distribution[] = specs.map((sp) => ({ name: sp.name, split: sp.split, n: 0, min: null, median: null, mean: null, max: null, clipped: 0, bins: [] }));
  const lo = specs.map(() => 0);
  const w = specs.map(() => 1);
  const nb = specs.map(() => 0);
  for (const r of st.rows) {
    const d = out[r.j];
    const sp = specs[r.j];
    Object.assign(d, { n: r.n, min: r.min, max: r.max, mean: r.mean, median: r.q[1] });
    let a = sp.clip ? r.q[0] : r.min;
    let b = sp.clip ? r.q[2] : r.max;
    let k = BINS;
    if (sp.integer) {
      a = Math.floor(a) - 0.5;
      b = Math.ceil(b) + 0.5;
      k = Math.min(BINS, Math.round(b - a));
    } else if (b - a < 1e-12 * Math.max(1, Math.abs(a))) {
      a -= 0.5;
      b += 0.5;
      k = 1;
    }
    lo[r.j] = a;
    w[r.j] = (b - a) / k;
    nb[r.j] = k;
  }
  const b = await db.main.query<{ j: number; b: number; count: number; outside: number }>(
    `SELECT j, least(greatest(floor((v - ($1::float8[])[j + 1]) / ($2::float8[])[j + 1]), 0), ($3::int[])[j + 1] - 1)::int AS b, count(*)::float8 AS count,
            count(*) FILTER (WHERE v < ($1::float8[])[j + 1] OR v > ($1::float8[])[j + 1] + ($2::float8[])[j + 1] * ($3::int[])[j + 1])::float8 AS outside
     FROM ${from} WHERE ${finite} GROUP BY 1, 2 ORDER BY 1, 2`,
    [lo, w, nb],
  );
  const counts = nb.map((k) => new Array<number>(k).fill(0));
  for (const x of b.rows) {
    counts[x.j][x.b] = x.count;
    out[x.j].clipped += x.outside;
  }
  out.forEach((d, j) => {
    if (d.n > 0) d.bins = counts[j].map((count, i) => ({ x0: lo[j] + i * w[j], x1: lo[j] + (i + 1) * w[j], count }));
  });
  return out;
}

function keyText(row: Record<string, unknown>, group: readonly string[]): string {
  return group.map((g) => String(row[g])).join(' · ');
}

/** Gathers the report's data from a models table and, optionally, a predictions and a recommendations table. */
export async function reportData(db: Database, opts: ReportOptions, version: string): Promise<ReportData> {
  const modelsName = tableName(opts.models);
  const meta = await readModelsMeta(db.main, modelsName);
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

  const runs = await readRuns(db, M);
  const failures = (
    await db.main.query<{ code: string; count: number; example: string }>(
      `SELECT split_part(error, ':', 1) AS code, count(*)::float8 AS count, min(error) AS example FROM ${M} WHERE status = 'failed' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20`,
    )
  ).rows;

  const classifier = estimator === 'LogisticRegression';
  const distributionsOf = await distributions(
    db,
    `(SELECT k.j, k.v FROM ${M} CROSS JOIN LATERAL (VALUES (0, n_rows::float8), (1, CASE WHEN status = 'ok' THEN n_iter::float8 END), (2, CASE WHEN status = 'ok' THEN train_score::float8 END)) AS k(j, v)) AS d`,
    [
      { name: 'rows per group', split: 'shape', clip: false, integer: true },
      { name: 'solver iterations', split: 'shape', clip: false, integer: true },
      { name: classifier ? 'training accuracy' : 'training R²', split: 'training', clip: false },
    ],
  );

  const shown = features.slice(0, 12);
  if (features.length > shown.length) notes.coefficients = `the first ${shown.length} of ${features.length} features are shown`;
  // one row per coefficient row of a model (one for binary classifiers and regressors, one per class for multiclass)
  const rows = classifier
    ? `CROSS JOIN LATERAL jsonb_array_elements(model->'state'->'coef') WITH ORDINALITY AS r(c, i)`
    : `CROSS JOIN LATERAL (SELECT model->'state'->'coef' AS c, 1 AS i) AS r`;
  const intercept = classifier ? `(model->'state'->'intercept'->>(r.i::int - 1))::float8` : `(model->'state'->>'intercept')::float8`;
  const values = [...shown.map((_, j) => `(${j}, (r.c->>${j})::float8)`), `(${shown.length}, ${intercept})`];
  const coefficients = await distributions(
    db,
    `(SELECT k.j, k.v FROM ${M} ${rows} CROSS JOIN LATERAL (VALUES ${values.join(', ')}) AS k(j, v) WHERE status = 'ok') AS d`,
    [...shown.map((name) => ({ name, split: 'coefficient' as const, clip: true })), { name: 'intercept', split: 'coefficient', clip: true }],
  );
  if (classifier && features.length > 0) {
    const multi = await db.main.query<{ k: number }>(`SELECT coalesce(max(jsonb_array_length(model->'state'->'classes')), 0)::int AS k FROM ${M} WHERE status = 'ok'`);
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
      // compared as numbers for a numeric or boolean label (1.0 = 1, true = 1), as text otherwise
      const labelOid = cols.fields.find((f) => f.name === labelCol)?.dataTypeID;
      const cls = `m.model->'state'->'classes'->>1`;
      const isPositive =
        labelOid === 16
          ? `p.${ident(labelCol)}::int::float8 = (${cls})::float8`
          : labelOid !== undefined && [20, 21, 23, 700, 701, 1700].includes(labelOid)
            ? `p.${ident(labelCol)}::float8 = (${cls})::float8`
            : `p.${ident(labelCol)}::text = ${cls}`;
      const scored = `(SELECT p.probability AS prob, (${isPositive})::int AS y
         FROM ${qident(pn)} AS p JOIN ${M} AS m ON ${on} AND m.status = 'ok'
         WHERE p.probability IS NOT NULL AND p.${ident(labelCol)} IS NOT NULL AND jsonb_array_length(m.model->'state'->'classes') = 2) AS d`;
      // one pass: positives and negatives per distinct probability (g); from it the exact AUC (each
      // positive beats the negatives below it, ties count half) and bins of 0.1 and 0.005
      const r = await db.main.query<{ b10: number; t: number; pos: number; neg: number; sp: number; sq: number; u: number | null }>(
        `WITH g AS MATERIALIZED (SELECT prob, sum(y)::float8 AS pos, (count(*) - sum(y))::float8 AS neg FROM ${scored} GROUP BY prob),
              a AS (SELECT sum(pos * (coalesce(below, 0) + neg / 2)) AS u
                    FROM (SELECT pos, neg, sum(neg) OVER (ORDER BY prob ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS below FROM g) AS w)
         SELECT least(floor(prob * 10), 9)::int AS b10, floor(prob * 200)::int AS t, sum(pos) AS pos, sum(neg) AS neg,
                sum(prob * (pos + neg)) AS sp, sum(pos * (1 - prob) ^ 2 + neg * prob ^ 2) AS sq, (SELECT u FROM a) AS u
         FROM g GROUP BY 1, 2 ORDER BY 2, 1`,
      );
      const cal = new Map<number, { bin: number; meanPredicted: number; observed: number; count: number }>();
      let n = 0;
      let pos = 0;
      let sq = 0;
      for (const x of r.rows) {
        const c = cal.get(x.b10) ?? { bin: x.b10, meanPredicted: 0, observed: 0, count: 0 };
        c.meanPredicted += x.sp;
        c.observed += x.pos;
        c.count += x.pos + x.neg;
        cal.set(x.b10, c);
        n += x.pos + x.neg;
        pos += x.pos;
        sq += x.sq;
      }
      if (n === 0) notes.calibration = `${displayName(pn)} has no scored rows with a label`;
      else {
        const bins = [...cal.values()].sort((a, b) => a.bin - b.bin).map((c) => ({ ...c, meanPredicted: c.meanPredicted / c.count, observed: c.observed / c.count }));
        calibration = { source: displayName(pn), rows: n, brier: sq / n, bins };
        const neg = n - pos;
        if (pos > 0 && neg > 0) {
          const points = [{ fpr: 0, tpr: 0, threshold: 1 }];
          let tp = 0;
          let fp = 0;
          for (let i = r.rows.length - 1; i >= 0; i--) {
            const x = r.rows[i];
            tp += x.pos;
            fp += x.neg;
            if (i === 0 || r.rows[i - 1].t !== x.t) points.push({ fpr: fp / neg, tpr: tp / pos, threshold: x.t / 200 });
          }
          roc = { source: displayName(pn), positives: pos, negatives: neg, auc: (r.rows[0].u ?? 0) / (pos * neg), points };
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
    distributions: distributionsOf,
    coefficients,
    calibration,
    roc,
    response,
    recommendations,
    notes,
  };
}

/** The runs that wrote the models table (train) or read it (predict, recommend), the latest 500. */
async function readRuns(db: Database, models: string): Promise<RunPoint[]> {
  const exists = await db.main.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [qident([CATALOG_SCHEMA, 'runs'])]);
  if (exists.rows[0].t === null) return [];
  const r = await db.main.query<Record<string, unknown>>(
    `SELECT * FROM (SELECT run_id::text AS run_id, kind, status, started_at, extract(epoch FROM finished_at - started_at)::float8 AS seconds,
            output_table, groups_ok::float8 AS groups_ok, groups_failed::float8 AS groups_failed
     FROM ${qident([CATALOG_SCHEMA, 'runs'])}
     WHERE output_table = $1 OR models_table = $1 OR to_regclass(output_table) = to_regclass($1) OR to_regclass(models_table) = to_regclass($1)
     ORDER BY started_at DESC LIMIT 500) AS r ORDER BY started_at`,
    [models],
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
    const doc = JSON.parse(row.mm_model as string) as unknown;
    const model = decodeModel(doc);
    // a model with stored preprocessing reads the raw columns through it (one-hot columns have no mean to hold)
    const prep = preprocessor(doc, model.nFeaturesIn_);
    if (prep !== null ? prep.doc.columns.length !== features.length || prep.doc.columns.some((c) => c.kind === 'category') : model.nFeaturesIn_ !== features.length) continue;
    const data = new Float64Array((steps + 1) * features.length);
    for (let i = 0; i <= steps; i++) {
      for (let k = 0; k < features.length; k++) data[i * features.length + k] = stats.means[k] ?? 0;
      data[i * features.length + j] = lo + ((hi - lo) * i) / steps;
    }
    let mat = { data, rows: steps + 1, cols: features.length };
    if (prep !== null) {
      const out = new Float64Array((steps + 1) * model.nFeaturesIn_);
      for (let i = 0; i <= steps; i++) out.set(prep.apply(data.subarray(i * features.length, (i + 1) * features.length), true, null) ?? new Float64Array(model.nFeaturesIn_).fill(NaN), i * model.nFeaturesIn_);
      mat = { data: out, rows: steps + 1, cols: model.nFeaturesIn_ };
    }
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
    scores: (await distributions(db, `(SELECT 0 AS j, score AS v FROM ${R} WHERE rank = 1) AS d`, [{ name: 'score of the top recommendation', split: 'shape', clip: false }]))[0],
  };
}
