/**
 * What the database spends turning model documents into jsonb, the models table's `model` column:
 * N real documents (one LogisticRegression fitted per synthetic group of 10 rows × 2 features, written
 * by ModelJsonEncoder as a train writes them) are stored as text, then copied with CREATE TABLE AS
 * three ways, each timed as the median of three runs:
 *
 *   as text (the control: reading, writing, WAL)      SELECT t FROM docs
 *   as jsonb (what a train's COPY into the models table pays on top)   SELECT t::jsonb FROM docs
 *   as jsonb without the "params" object (the same document with its parameters stored elsewhere)
 *
 * and prints the jsonb input per document (jsonb minus text) both ways. It measures what a compact
 * document would save on the server, without changing the format.
 *
 *   npm run bench:jsonb [-- --n 1000000 --db postgres://...]   (default: 100000 documents, in-memory PGlite)
 */
import { open } from 'manymodels';
import { LogisticRegression, ModelJsonEncoder } from 'manymodels/core';

function arg(name: string, def: string | undefined): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : process.argv[i + 1];
}

const N = Number(arg('n', '100000'));
const target = arg('db', undefined);
let s = 12345;
const rand = (): number => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
const est = new LogisticRegression();
const enc = new ModelJsonEncoder(est, ['asktimes', 'askbackoffdays']);
const X = new Float64Array(20);
const y = new Float64Array(10);
const full: string[] = [];
const bare: string[] = [];
for (let g = 0; g < N; g++) {
  const w0 = rand() - 0.3;
  const w1 = rand() * 0.4 - 0.2;
  for (let i = 0; i < 10; i++) {
    X[2 * i] = 1 + Math.floor(rand() * 10);
    X[2 * i + 1] = 1 + Math.floor(rand() * 14);
    y[i] = rand() < 1 / (1 + Math.exp(-(w0 * X[2 * i] + w1 * X[2 * i + 1] - 1))) ? 1 : 0;
  }
  y[0] = 0;
  y[1] = 1;
  const doc = enc.json(est.fit({ data: X, rows: 10, cols: 2 }, y));
  full.push(doc);
  bare.push(doc.replace(/"params":\{[^}]*\},/, ''));
}

const db = await open(target);
try {
  await db.exec('DROP TABLE IF EXISTS mm_jsonb_docs; CREATE TABLE mm_jsonb_docs (t text, tn text)');
  const te = new TextEncoder();
  const csv = (v: string): string => `"${v.replace(/"/g, '""')}"`;
  await db.database.main.copyIn('mm_jsonb_docs (t, tn)', 'csv', (function* () {
    for (let i = 0; i < N; i += 10000) yield te.encode(full.slice(i, i + 10000).map((d, k) => `${csv(d)},${csv(bare[i + k])}\n`).join(''));
  })());
  await db.exec('ANALYZE mm_jsonb_docs');
  const median = async (select: string): Promise<number> => {
    const times: number[] = [];
    for (let r = 0; r < 3; r++) {
      await db.exec('DROP TABLE IF EXISTS mm_jsonb_out');
      const t = performance.now();
      await db.exec(`CREATE TABLE mm_jsonb_out AS ${select}`);
      times.push((performance.now() - t) / 1000);
    }
    await db.exec('DROP TABLE mm_jsonb_out');
    return times.sort((a, b) => a - b)[1];
  };
  const text = await median('SELECT t FROM mm_jsonb_docs');
  const jsonb = await median('SELECT t::jsonb AS m FROM mm_jsonb_docs');
  const jsonbBare = await median('SELECT tn::jsonb AS m FROM mm_jsonb_docs');
  const avg = (a: string[]): number => a.reduce((n, d) => n + d.length, 0) / a.length;
  const us = (sec: number): string => ((sec * 1e6) / N).toFixed(2);
  console.log(`${N} model documents (${avg(full).toFixed(0)} bytes; ${avg(bare).toFixed(0)} without "params"), ${target === undefined ? 'in-memory PGlite' : 'the server given'}; CREATE TABLE AS, median of 3:`);
  console.log(`  as text                       ${text.toFixed(2)} s`);
  console.log(`  as jsonb                      ${jsonb.toFixed(2)} s   jsonb input ${us(jsonb - text)} µs a document`);
  console.log(`  as jsonb without "params"     ${jsonbBare.toFixed(2)} s   jsonb input ${us(jsonbBare - text)} µs a document (${((100 * (jsonbBare - text)) / (jsonb - text)).toFixed(0)}%)`);
  await db.exec('DROP TABLE mm_jsonb_docs');
} finally {
  await db.close();
}
