/**
 * Issue 9, items 2 and 3: both scoring engines, and the installed SQL functions, give the same answer
 * for every input, and NULL where no honest number exists. The oracle is the closed form computed
 * here from each model document's coefficients, in JavaScript's IEEE-754 arithmetic:
 *
 *   z = b + x₁·w₁ + x₂·w₂ (left to right);  P = 1 / (1 + e^−z);  class = z > 0 ? classes[1] : classes[0]
 *
 * with the rules: a NULL, NaN or ±Infinity feature, or a vector that is not one-dimensional of the
 * model's length, scores NULL; a z that overflows to ±Infinity gives P = 1 / 0 (its limit); a NaN z
 * gives NULL; a regressor whose value overflows gives NULL; multiclass: one +Infinity score takes
 * probability 1, two give NULL. A huge (1e308) or subnormal (5e-324) feature never aborts the run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ManyModels } from 'manymodels';
import { backends } from '../helpers/backends.js';

type Row = Record<string, any>;

function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

/** Two groups of 40 rows with overlapping classes (finite optimum), a continuous target and three classes. */
function trainingRows(): string {
  const r = lcg(7);
  const rows: string[] = [];
  for (const g of [1, 2]) {
    for (let i = 0; i < 40; i++) {
      // features of scale 0.1..1, so that the weights exceed 1 and 1e308 overflows both ways
      const x1 = Math.round((r() * 10 - 5) * 100) / 1000;
      const x2 = Math.round((r() * 6 - 3) * 100) / 1000;
      const y = r() < 1 / (1 + Math.exp(-(8 * x1 - 5 * x2 + (g === 1 ? 0.3 : -0.4)))) ? 1 : 0;
      const v = Math.round((3 + 20 * x1 - 10 * x2 + (r() - 0.5)) * 1000) / 1000;
      const k = x1 < -0.15 ? 'a' : x1 < 0.15 ? 'b' : 'c';
      rows.push(`(${g}, ${x1}, ${x2}, ${i % 7 === 0 ? 1 - y : y}, ${v}, '${i % 9 === 0 ? 'b' : k}')`);
    }
  }
  return rows.join(', ');
}

/** Feature vectors as SQL float8 literals: [x1, x2]. */
const MILD: [string, string][] = [
  ['1', '2'], ['-2.5', '0.75'], ['0', '0'], ['NULL', '1'], ['1', 'NULL'], ["'NaN'", '1'], ["'Infinity'", '1'], ["'-Infinity'", '1'],
  ["'Infinity'", "'-Infinity'"], ['-3.5', '1e10'], ['1e-200', '1'], ['1e150', '-1'],
];
const EXTREME: [string, string][] = [
  ['1e308', '1'], ['-1e308', '1'], ['1e308', '1e308'], ['1e308', '-1e308'], ['-1e308', '1e308'], ['5e-324', '1'], ['5e-324', '5e-324'],
  ['1.7976931348623157e308', '-1.7976931348623157e308'], ['1e-310', '1e-310'], ['1', '1e308'], ['2', '3'],
];
/** Array-only shapes (the columns form cannot express them), with the vector the rules read, or null. */
const SHAPES: [string, number[] | null][] = [
  ["'{{1,2}}'", null], ["'{{1},{2}}'", null], ["'[0:1]={1.5,2}'", [1.5, 2]], ["'[5:6]={-1,3}'", [-1, 3]], ["'{1,2,3}'", null], ["'{1}'", null], ["'{1,NULL}'", null], ["'{}'", null],
];

function num(lit: string): number | null {
  if (lit === 'NULL') return null;
  const t = lit.replace(/'/g, '');
  return t === 'NaN' ? NaN : t === 'Infinity' ? Infinity : t === '-Infinity' ? -Infinity : Number(t);
}

interface Doc {
  coef: number[] | number[][];
  intercept: number | number[];
  classes?: (number | string)[];
}

function z(b: number, w: number[], x: (number | null)[] | null): number | null {
  if (x === null || x.length !== w.length || x.some((v) => v === null || !Number.isFinite(v))) return null;
  let s = b;
  for (let j = 0; j < w.length; j++) s += (x[j] as number) * w[j];
  return s;
}

function sigmoid(v: number): number {
  return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
}

interface Expect {
  probability: number | null;
  prediction: number | string | null;
  probabilities?: number[] | null;
  decision?: number[] | null;
}

function expectBinary(d: Doc, x: (number | null)[] | null): Expect {
  const v = z((d.intercept as number[])[0], (d.coef as number[][])[0], x);
  if (v === null || Number.isNaN(v)) return { probability: null, prediction: null, probabilities: null, decision: null };
  const p = sigmoid(v);
  return { probability: p, prediction: d.classes![v > 0 ? 1 : 0], probabilities: [1 - p, p], decision: [v] };
}

function expectRegressor(d: Doc, x: (number | null)[] | null): Expect {
  const v = z(d.intercept as number, d.coef as number[], x);
  return { probability: null, prediction: v !== null && Number.isFinite(v) ? v : null };
}

function expectMulti(d: Doc, x: (number | null)[] | null): Expect {
  const zs = (d.coef as number[][]).map((w, k) => z((d.intercept as number[])[k], w, x));
  const none = { probability: null, prediction: null, probabilities: null };
  if (zs.some((v) => v === null || Number.isNaN(v))) return none;
  const v = zs as number[];
  const max = Math.max(...v);
  const inf = v.filter((t) => t === Infinity).length;
  if (inf > 1 || max === -Infinity) return none;
  const best = v.indexOf(max);
  const e = v.map((t) => (inf === 1 ? (t === Infinity ? 1 : 0) : Math.exp(t - max)));
  const sum = e.reduce((a, b) => a + b, 0);
  const all = e.map((t) => t / sum);
  return { probability: all[best], prediction: d.classes![best], probabilities: all };
}

function close(actual: number | null, expected: number | null, what: string): void {
  if (expected === null) return assert.equal(actual, null, `${what}: expected NULL, got ${actual}`);
  assert.notEqual(actual, null, `${what}: expected ${expected}, got NULL`);
  if (!Number.isFinite(expected)) return assert.equal(actual, expected, what);
  assert.ok(Math.abs((actual as number) - expected) <= 1e-12 * Math.max(1, Math.abs(expected)), `${what}: expected ${expected}, got ${actual}`);
}

function closeArray(actual: number[] | null, expected: number[] | null | undefined, what: string): void {
  if (expected === undefined) return;
  if (expected === null) return assert.equal(actual, null, `${what}: expected NULL`);
  assert.ok(Array.isArray(actual), `${what}: expected an array, got ${actual}`);
  assert.equal(actual!.length, expected.length, what);
  expected.forEach((e, i) => close(actual![i], e, `${what}[${i}]`));
}

for (const backend of backends) {
  describe(`scoring rules on ${backend.name}: both engines and the SQL functions agree with the closed form`, () => {
    let db: ManyModels;
    const docs = new Map<string, Map<number, Doc>>();
    before(async () => {
      db = await backend.open();
      await db.exec(`CREATE TABLE obs (g int, x1 float8, x2 float8, y int, v float8, k text); INSERT INTO obs VALUES ${trainingRows()};`);
      await db.train({ from: 'obs', group: 'g', features: ['x1', 'x2'], label: 'y', into: 'm_bin', params: { C: 1000 } });
      await db.train({ from: 'obs', group: 'g', features: ['x1', 'x2'], label: 'v', into: 'm_lin', estimator: 'linear' });
      await db.train({ from: 'obs', group: 'g', features: ['x1', 'x2'], label: 'k', into: 'm_multi', params: { C: 1000 } });
      for (const t of ['m_bin', 'm_lin', 'm_multi']) {
        const rows = (await db.sql<{ g: number; model: { state: Doc } }>(`SELECT g, model FROM ${t} WHERE status = 'ok' ORDER BY g`)).rows;
        assert.equal(rows.length, 2, `${t} has both groups`);
        docs.set(t, new Map(rows.map((r) => [r.g, r.model.state])));
      }
      const values = (set: [string, string][], start: number) =>
        [1, 2, 3].flatMap((g, gi) => set.map(([a, b], i) => `(${start + gi * 100 + i}, ${g}, ${a}::float8, ${b}::float8, ARRAY[${a}::float8, ${b}::float8])`)).join(', ');
      await db.exec(`
        CREATE TABLE mild (id int, g int, x1 float8, x2 float8, xa float8[]); INSERT INTO mild VALUES ${values(MILD, 1000)};
        CREATE TABLE extreme (id int, g int, x1 float8, x2 float8, xa float8[]); INSERT INTO extreme VALUES ${values(EXTREME, 2000)};
        CREATE TABLE shapes (id int, g int, xa float8[]); INSERT INTO shapes VALUES ${[1, 2].flatMap((g) => SHAPES.map(([lit], i) => `(${3000 + g * 100 + i}, ${g}, ${lit})`)).join(', ')};
      `);
    });
    after(async () => {
      await db?.close();
    });

    /** The vector each scoring row stands for. */
    function vectors(table: string): Map<number, { g: number; x: (number | null)[] | null }> {
      const out = new Map<number, { g: number; x: (number | null)[] | null }>();
      if (table === 'shapes') {
        for (const g of [1, 2]) SHAPES.forEach(([, x], i) => out.set(3000 + g * 100 + i, { g, x }));
        return out;
      }
      const [set, start] = table === 'mild' ? [MILD, 1000] : [EXTREME, 2000];
      [1, 2, 3].forEach((g, gi) => set.forEach(([a, b], i) => out.set((start as number) + gi * 100 + i, { g, x: [num(a), num(b)] })));
      return out;
    }

    const kinds = [
      { models: 'm_bin', expect: expectBinary },
      { models: 'm_lin', expect: expectRegressor },
      { models: 'm_multi', expect: expectMulti },
    ];

    for (const table of ['mild', 'extreme', 'shapes']) {
      for (const { models, expect } of kinds) {
        for (const engine of ['sql', 'ts'] as const) {
          for (const features of table === 'shapes' ? ['xa'] : [['x1', 'x2'], 'xa']) {
            it(`${engine} engine, ${models}, ${table} rows, features ${JSON.stringify(features)}`, async () => {
              const into = `p_${table}_${models}_${engine}_${Array.isArray(features) ? 'cols' : 'arr'}`;
              const r = await db.predict({ models, from: table, into, engine, features });
              const want = vectors(table);
              const rows = (await db.sql<Row>(`SELECT * FROM ${into} ORDER BY id`)).rows;
              assert.equal(rows.length, want.size, 'one output row per source row');
              let noModel = 0;
              let unscored = 0;
              for (const row of rows) {
                const { g, x } = want.get(row.id)!;
                const d = docs.get(models)!.get(g);
                const e: Expect = d === undefined ? { probability: null, prediction: null, probabilities: null } : expect(d, x);
                if (d === undefined) noModel++;
                else if (e.prediction === null) unscored++;
                const what = `row ${row.id} (group ${g}, x = ${JSON.stringify(x)})`;
                close(row.probability, e.probability, `${what} probability`);
                if (typeof e.prediction === 'string' || e.prediction === null) assert.equal(row.prediction, e.prediction, `${what} prediction`);
                else close(row.prediction, e.prediction, `${what} prediction`);
                if (models === 'm_multi') closeArray(row.probabilities, e.probabilities, `${what} probabilities`);
              }
              assert.equal(r.rowsWithoutModel, noModel, 'rows without a model');
              assert.equal(r.rowsUnscored, unscored, 'rows with a model that could not be scored');
            });
          }
        }
      }

      it(`the installed SQL functions on ${table} rows`, async () => {
        const want = vectors(table);
        const rows = (
          await db.sql<Row>(`
            SELECT s.id,
                   manymodels.predict_proba(b.model, s.xa) AS p, manymodels.predict_label(b.model, s.xa) AS label,
                   manymodels.predict_value(b.model, s.xa) AS bvalue, manymodels.predict_proba_all(b.model, s.xa) AS pall,
                   manymodels.decision_function(b.model, s.xa) AS dec,
                   manymodels.predict_value(l.model, s.xa) AS value,
                   manymodels.predict_proba_all(k.model, s.xa) AS kall, manymodels.predict_label(k.model, s.xa) AS klabel
            FROM ${table} s JOIN m_bin b USING (g) JOIN m_lin l USING (g) JOIN m_multi k USING (g) ORDER BY s.id`)
        ).rows;
        assert.equal(rows.length, [...want.values()].filter((v) => v.g !== 3).length);
        for (const row of rows) {
          const { g, x } = want.get(row.id)!;
          const what = `row ${row.id} (x = ${JSON.stringify(x)})`;
          const eb = expectBinary(docs.get('m_bin')!.get(g)!, x);
          close(row.p, eb.probability, `${what} predict_proba`);
          assert.equal(row.label, eb.prediction === null ? null : String(eb.prediction), `${what} predict_label`);
          close(row.bvalue, eb.prediction as number | null, `${what} predict_value (classifier)`);
          closeArray(row.pall, eb.probabilities, `${what} predict_proba_all`);
          closeArray(row.dec, eb.decision, `${what} decision_function`);
          close(row.value, expectRegressor(docs.get('m_lin')!.get(g)!, x).prediction as number | null, `${what} predict_value (regressor)`);
          const em = expectMulti(docs.get('m_multi')!.get(g)!, x);
          closeArray(row.kall, em.probabilities, `${what} predict_proba_all (multiclass)`);
          assert.equal(row.klabel, em.prediction, `${what} predict_label (multiclass)`);
        }
      });
    }

    it('the extreme rows really reach the limits: some overflow to a certainty, some to NaN (NULL)', async () => {
      for (const models of ['m_bin', 'm_multi']) {
        for (const g of [1, 2]) {
          const d = docs.get(models)!.get(g)!;
          const zs = EXTREME.flatMap(([a, b]) => (d.coef as number[][]).map((w, k) => z((d.intercept as number[])[k], w, [num(a), num(b)])));
          assert.ok(zs.some((v) => v === Infinity || v === -Infinity), `${models} group ${g}: some score overflows`);
          assert.ok(zs.some((v) => Number.isNaN(v)), `${models} group ${g}: some score is NaN`);
        }
      }
      const d = docs.get('m_bin')!.get(1)!;
      const w = (d.coef as number[][])[0];
      const rows = (await db.sql<Row>(`SELECT probability FROM p_extreme_m_bin_sql_cols WHERE id = 2000`)).rows;
      assert.equal(rows[0].probability, w[0] > 0 ? 1 : 0, '1e308 gives the limit');
    });

    it('numeric features beyond float8 (1e400) score NULL in both engines and 1e-400 reads as 0, without aborting', async () => {
      await db.exec(`
        CREATE TABLE big (id int, g int, x1 numeric, x2 numeric, xa numeric[]);
        INSERT INTO big VALUES (1, 1, 1e400, 1, ARRAY[1e400, 1]), (2, 1, 1e-400, 2, ARRAY[1e-400, 2]), (3, 1, -1e400, 0, ARRAY[1, -1e400]), (4, 2, 1.5, 2, ARRAY[1.5, 2]);
      `);
      const d1 = docs.get('m_bin')!.get(1)!;
      const d2 = docs.get('m_bin')!.get(2)!;
      const want = [expectBinary(d1, [Infinity, 1]), expectBinary(d1, [0, 2]), expectBinary(d1, [-Infinity, 0]), expectBinary(d2, [1.5, 2])];
      for (const engine of ['sql', 'ts'] as const) {
        for (const features of [['x1', 'x2'], 'xa']) {
          const into = `p_big_${engine}_${Array.isArray(features) ? 'cols' : 'arr'}`;
          const r = await db.predict({ models: 'm_bin', from: 'big', into, engine, features });
          const rows = (await db.sql<Row>(`SELECT id, probability, prediction FROM ${into} ORDER BY id`)).rows;
          rows.forEach((row, i) => {
            close(row.probability, want[i].probability, `${engine} ${JSON.stringify(features)} row ${row.id}`);
            assert.equal(row.prediction, want[i].prediction);
          });
          assert.equal(r.rowsUnscored, 2);
          assert.equal(r.rowsWithoutModel, 0);
        }
      }
    });
  });
}
