import { BinaryCopyDecoder, readFloat8, readFloat8Array, readText, readTextArray, type RowFields } from '../copy/binary-decoder.js';
import { BinaryCopyEncoder } from '../copy/binary-encoder.js';
import type { Database } from '../db/connection.js';
import { LogisticRegression } from '../estimators/logistic-regression.js';
import type { Estimator } from '../estimators/registry.js';
import { type Preprocessor, preprocessor } from '../preprocess/preprocessor.js';
import { decodeModel } from '../model-io/document.js';
import { ident, qident, type QualifiedName } from '../sql/ident.js';
import { keyMatch } from '../sql/key-match.js';
import type { RecommendPlan } from './recommend.js';

/** One candidate kept in a group's top k: its source fields, framed for COPY, and its numbers. */
interface Kept {
  score: number;
  probability: number | null;
  prediction: number | string | null;
  fields: Uint8Array;
}

/**
 * The TypeScript engine of recommend: streams the candidate rows ordered by group key, then candidate
 * (the group's model document on its first row), scores each with the core's estimators, keeps the
 * top k of each group by score (ties: the earlier candidate in that order, as the SQL engine's
 * ORDER BY score DESC, candidate), and writes them back with COPY.
 */
export async function streamRecommendations(db: Database, r: RecommendPlan, staging: QualifiedName): Promise<void> {
  const { p } = r;
  const nSrc = p.src.fields.length;
  const keys = p.group.map((g) => `s.${ident(g)}`).join(', ');
  const order = [...p.group, ...r.candidate].map((c) => `s.${ident(c)}`).join(', ');
  const on = keyMatch('m', 's', p.group, p.nullSafeKeys);
  const select = `SELECT s.*, ${p.featuresExpr} AS mm_x, row_number() OVER w = 1 AS mm_first,
    CASE WHEN row_number() OVER w = 1 THEN m.model::text END AS mm_model,
    ${r.valueSql ?? 'NULL::float8'} AS mm_value, ${r.costSql ?? 'NULL::float8'} AS mm_cost${p.categoriesExpr !== null ? `, ${p.categoriesExpr} AS mm_c` : ''}
    FROM ${p.src.fromSql} LEFT JOIN (SELECT * FROM ${qident(p.modelsName)} WHERE status = 'ok') AS m ON ${on}
    WINDOW w AS (PARTITION BY ${keys} ORDER BY ${order}) ORDER BY ${order}`;
  const X = nSrc;
  const decoder = new BinaryCopyDecoder(nSrc + 5 + (p.categoriesExpr !== null ? 1 : 0));
  const encoder = new BinaryCopyEncoder();
  let x = new Float64Array(1024);
  // a model's stored preprocessing (raw input columns → its features), or null
  let prep: Preprocessor | null = null;
  let model: Estimator | null = null;
  let classIndex = -1;
  let top: Kept[] = [];

  const flush = (): void => {
    for (let i = 0; i < top.length; i++) {
      const t = top[i];
      encoder.beginRow(nSrc + 4);
      encoder.framed(t.fields);
      encoder.float8(t.probability);
      if (r.predType === 'text') encoder.text(t.prediction === null ? null : String(t.prediction));
      else encoder.float8(t.prediction as number | null);
      encoder.float8(t.score);
      encoder.int4(i + 1);
    }
    top = [];
  };

  const frame = (row: RowFields): Uint8Array => {
    let size = 0;
    for (let f = 0; f < nSrc; f++) size += 4 + Math.max(row.len[f], 0);
    const out = new Uint8Array(size);
    const view = new DataView(out.buffer);
    let pos = 0;
    for (let f = 0; f < nSrc; f++) {
      view.setInt32(pos, row.len[f]);
      pos += 4;
      if (row.len[f] > 0) {
        out.set(row.buf.subarray(row.start[f], row.start[f] + row.len[f]), pos);
        pos += row.len[f];
      }
    }
    return out;
  };

  const onRow = (row: RowFields): void => {
    if (row.buf[row.start[X + 1]] === 1) {
      flush();
      const doc = row.len[X + 2] >= 0 ? (JSON.parse(readText(row, X + 2)) as unknown) : null;
      model = doc !== null ? decodeModel(doc) : null;
      prep = model !== null ? preprocessor(doc, model.nFeaturesIn_) : null;
      classIndex = -1;
      if (model instanceof LogisticRegression) {
        const cls = model.classes_.map(String);
        classIndex = r.positiveClass === null ? (cls.length === 2 ? 1 : -1) : cls.indexOf(r.positiveClass);
      }
    }
    const m = model as Estimator | null;
    if (m === null || row.len[X] < 0) return;
    let got = readFloat8Array(row, X, x, 0);
    if (prep !== null) {
      const features = prep.apply(x.subarray(0, got.count), got.dims.length === 1, row.len[X + 5] >= 0 && p.categoriesExpr !== null ? readTextArray(row, X + 5).values : null);
      if (features === null) return;
      x = x.length >= features.length ? x : new Float64Array(features.length);
      x.set(features);
      got = { count: features.length, nulls: 0, dims: [features.length] };
    }
    if (got.nulls !== 0 || got.count !== m.nFeaturesIn_ || !x.subarray(0, got.count).every(Number.isFinite)) return;
    const mat = { data: x.subarray(0, got.count), rows: 1, cols: got.count };
    let probability: number | null = null;
    let base: number | null;
    const prediction = m.predictFlat(mat)[0] as number | string;
    if (m instanceof LogisticRegression) {
      probability = classIndex < 0 ? null : m.predictProbaFlat(mat)[classIndex];
      base = probability;
    } else {
      base = prediction as number;
    }
    if (base === null) return;
    let score = base;
    if (r.valueSql !== null) {
      if (row.len[X + 3] < 0) return;
      score = score * readFloat8(row, X + 3);
    }
    if (r.costSql !== null) {
      if (row.len[X + 4] < 0) return;
      score = score - readFloat8(row, X + 4);
    }
    if (Number.isNaN(score)) return;
    // keep the k best, ties to the earlier candidate: insert after every kept score ≥ this one
    if (top.length === r.k && !(score > top[r.k - 1].score)) return;
    let at = top.length;
    while (at > 0 && score > top[at - 1].score) at--;
    top.splice(at, 0, { score, probability, prediction, fields: frame(row) });
    if (top.length > r.k) top.pop();
  };

  const reader = await db.openStream();
  const writer = db.concurrentStreams ? await db.openStream() : null;
  try {
    async function* body(): AsyncIterable<Uint8Array> {
      for await (const chunk of reader.copyOut(`(${select})`, 'binary')) {
        decoder.feed(chunk, onRow);
        if (encoder.size >= 1 << 20) yield encoder.take();
      }
      decoder.finish();
      flush();
      if (encoder.size > 0) yield encoder.take();
    }
    await (writer ?? db.main).copyIn(`${qident(staging)} (${r.outColumns.map(ident).join(', ')})`, 'binary', body());
  } finally {
    if (reader !== db.main) await reader.close();
    if (writer !== null) await writer.close();
  }
}
