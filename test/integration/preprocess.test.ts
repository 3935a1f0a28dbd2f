import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { type ManyModels, ManyModelsError, open, type TrainOptions } from 'manymodels';
import { backends, freshDatabaseUrl } from '../helpers/backends.js';
import { rng } from '../helpers/random.js';

/**
 * Preprocessing stored with the model (standardize, impute, one-hot, sample weights) against its
 * oracle, scikit-learn 1.2.1's own Pipeline([ColumnTransformer([SimpleImputer → StandardScaler per
 * number column, OneHotEncoder(handle_unknown='ignore') per category column]), estimator]) fitted on
 * each group with estimator__sample_weight (test/helpers/sklearn_pipeline.py, run by Debian's
 * /usr/bin/python3), on generated data with NULL numbers, an all-NULL column in one group, a
 * constant column, text categories (with NULL, non-ASCII and astral ones), a boolean category and
 * weights. Compared: the stored statistics and categories, the coefficients (scikit-learn solved
 * with newton-cg to tol 1e-10, so both sides are at the optimum: 1e-6), and the predictions of both
 * scoring engines and of the installed SQL functions on rows with unseen categories and NULLs.
 */
const PY = '/usr/bin/python3';
const ORACLE = new URL('../helpers/sklearn_pipeline.py', import.meta.url).pathname;
const probe = spawnSync(PY, ['-c', 'import sklearn'], { encoding: 'utf8' });
const noSklearn = probe.status === 0 ? false : `no scikit-learn under ${PY} (apt-get install python3-sklearn): the scikit-learn comparisons are skipped`;
if (noSklearn) process.stderr.write(`preprocess.test.ts: ${noSklearn}\n`);

const COLORS = ['red', 'green', 'blue', 'Äpfel', '😀', 'ｙ'];
const FEATURES = ['a', 'b', 'k', 'c', 'flag'];
const KINDS = ['number', 'number', 'number', 'category', 'category'] as const;

type Cell = number | string | boolean | null;
interface Row {
  id: number;
  g: number;
  a: number | null;
  b: number | null;
  k: number;
  c: string | null;
  flag: boolean | null;
  w: number;
  y: number;
  v: number;
}

/** Six groups of 24–60 rows; group 6 has no value of b at all; k is constant in each group. */
function trainingRows(): Row[] {
  const r = rng(20261202);
  const out: Row[] = [];
  let id = 0;
  for (let g = 1; g <= 6; g++) {
    const n = 24 + Math.floor(r() * 37);
    const colors = COLORS.filter((_, i) => (i + g) % 4 !== 0);
    for (let i = 0; i < n; i++) {
      const a = r() < 0.1 ? null : Math.round((r() * 6 - 3 + g) * 1000) / 1000;
      const b = g === 6 || r() < 0.12 ? null : Math.floor(r() * 21);
      const c = r() < 0.08 ? null : colors[Math.floor(r() * colors.length)];
      const flag = r() < 0.05 ? null : r() < 0.5;
      const z = 0.8 * ((a ?? g) - g) - 0.1 * ((b ?? 10) - 10) + (c === 'red' ? 1 : c === null ? -0.5 : 0) + (flag ? 0.7 : 0) + (r() * 2 - 1);
      out.push({ id: id++, g, a, b, k: g * 1.5, c, flag, w: Math.round((0.25 + r() * 2.75) * 100) / 100, y: z > 0 ? 1 : 0, v: Math.round((2 * z + r()) * 1e4) / 1e4 });
    }
  }
  return out;
}

/** Rows to score: groups 1–6 and 7 (no model), with unseen categories ('purple', a NULL where a group had none), NULL numbers. */
function scoringRows(): Row[] {
  const r = rng(7);
  const out: Row[] = [];
  let id = 0;
  for (let g = 1; g <= 7; g++) {
    for (let i = 0; i < 12; i++) {
      const a = i % 5 === 0 ? null : Math.round((r() * 6 - 3 + g) * 1000) / 1000;
      const b = i % 4 === 1 ? null : Math.floor(r() * 21);
      const c = i % 6 === 2 ? 'purple' : i % 6 === 3 ? null : COLORS[i % COLORS.length];
      const flag = i % 7 === 4 ? null : i % 2 === 0;
      out.push({ id: id++, g, a, b, k: g * 1.5, c, flag, w: 1, y: 0, v: 0 });
    }
  }
  return out;
}

const lit = (v: Cell): string => (v === null ? 'NULL' : typeof v === 'string' ? `'${v.replaceAll("'", "''")}'` : String(v));
const tableSql = (name: string, rows: Row[]): string =>
  `CREATE TABLE ${name} (id int, g int, a float8, b int, k float8, c text, flag boolean, w float8, y int, v float8);
   INSERT INTO ${name} VALUES ${rows.map((x) => `(${[x.id, x.g, x.a, x.b, x.k, x.c, x.flag, x.w, x.y, x.v].map(lit).join(', ')})`).join(', ')};`;

interface OracleGroup {
  key: number;
  coef: number[];
  intercept: number;
  columns: { fill?: number; mean?: number; scale?: number; categories?: (string | null)[] }[];
  pred: (number | null)[];
}

interface Case {
  name: string;
  estimator: 'logistic' | 'ridge' | 'linear';
  params: Record<string, number>;
  options: Pick<TrainOptions, 'standardize' | 'impute' | 'weight' | 'categorical'>;
  label: 'y' | 'v';
  /** Coefficients and predictions: logistic at the optimum of an iterative solve, the others closed form. */
  tol: number;
}

const CASES: Case[] = [
  { name: 'logistic, standardize, impute mean, weights', estimator: 'logistic', params: { C: 0.7 }, options: { standardize: true, impute: 'mean', weight: 'w', categorical: ['flag'] }, label: 'y', tol: 1e-6 },
  { name: 'ridge, standardize, impute median, weights', estimator: 'ridge', params: { alpha: 2 }, options: { standardize: true, impute: 'median', weight: 'w', categorical: 'flag' }, label: 'v', tol: 1e-8 },
  { name: 'linear (one-hot columns collinear with the intercept: the minimum-norm solution), standardize, impute zero, weights', estimator: 'linear', params: {}, options: { standardize: true, impute: 'zero', weight: 'w', categorical: ['flag'] }, label: 'v', tol: 1e-8 },
  { name: 'logistic, impute zero, no scaler, no weights', estimator: 'logistic', params: { C: 3 }, options: { impute: 'zero', categorical: ['flag'] }, label: 'y', tol: 1e-6 },
  { name: 'logistic, standardize, no imputer (NULL rows skipped, NULL features unscored)', estimator: 'logistic', params: { C: 1 }, options: { standardize: true, weight: 'w', categorical: ['flag'] }, label: 'y', tol: 1e-6 },
];

function oracle(c: Case, train: Row[], score: Row[]): OracleGroup[] {
  const cells = (x: Row): Cell[] => [x.a, x.b, x.k, x.c, x.flag];
  // without an imputer a row with a NULL number is skipped, as manymodels documents (not scikit-learn's business)
  const usable = (x: Row): boolean => c.options.impute !== undefined || (x.a !== null && x.b !== null);
  const groups = [...new Set(train.map((x) => x.g))]
    .map((g) => ({ g, rows: train.filter((x) => x.g === g && usable(x)) }))
    .filter((t) => t.rows.length > 0)
    .map(({ g, rows }) => ({
      key: g,
      X: rows.map(cells),
      y: rows.map((x) => x[c.label]),
      w: c.options.weight === undefined ? null : rows.map((x) => x.w),
      score: score.filter((x) => x.g === g).map(cells),
    }));
  const input = JSON.stringify({ estimator: c.estimator, params: c.params, impute: c.options.impute ?? null, standardize: c.options.standardize === true, kinds: KINDS, groups });
  const res = spawnSync(PY, [ORACLE], { input, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (res.status !== 0) throw new Error(`the scikit-learn oracle failed: ${res.stderr}`);
  return JSON.parse(res.stdout) as OracleGroup[];
}

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs scikit-learn ${expected} (tolerance ${tol})`);
}

for (const backend of backends) {
  describe(`preprocessing stored with the model on ${backend.name}`, () => {
    let db: ManyModels;
    const train = trainingRows();
    const score = scoringRows();
    before(async () => {
      db = await backend.open();
      await db.exec(tableSql('tr', train) + tableSql('sc', score));
    });
    after(async () => {
      await db?.close();
    });

    for (const [n, c] of CASES.entries()) {
      it(`${c.name}: the same as scikit-learn's Pipeline per group, in both engines and the SQL functions`, { skip: noSklearn }, async () => {
        const into = `m${n}`;
        const r = await db.train({ from: 'tr', group: 'g', features: FEATURES, label: c.label, into, estimator: c.estimator, params: c.params, ...c.options });
        // without an imputer, group 6 (no value of b at all) has no usable row
        assert.equal(r.groupsFailed, c.options.impute === undefined ? 1 : 0, JSON.stringify(r.failures));
        if (c.options.impute === undefined) assert.equal(r.failures[0].code, 'TOO_FEW_ROWS');
        const skipped = c.options.impute === undefined ? train.filter((x) => x.a === null || x.b === null).length : 0;
        assert.equal(r.rowsSkipped, skipped, 'rows skipped: those with a NULL number when there is no imputer');
        const expected = oracle(c, train, score);
        const models = (await db.sql<{ g: number; model: any }>(`SELECT g, model FROM ${into} WHERE status = 'ok' ORDER BY g`)).rows;
        assert.deepEqual(models.map((m) => m.g), expected.map((e) => e.key));
        for (const [i, e] of expected.entries()) {
          const doc = models[i].model;
          const cols = doc.preprocess.columns;
          assert.deepEqual(cols.map((x: any) => x.name), FEATURES);
          for (const [j, col] of e.columns.entries()) {
            if (KINDS[j] === 'category') {
              assert.deepEqual(cols[j].categories, col.categories, `group ${e.key}: categories of ${FEATURES[j]}`);
              continue;
            }
            for (const stat of ['fill', 'mean', 'scale'] as const) {
              if (col[stat] === undefined) assert.equal(cols[j][stat], undefined, `group ${e.key}: no ${stat} for ${FEATURES[j]}`);
              else close(cols[j][stat], col[stat] as number, 1e-12, `group ${e.key}: ${stat} of ${FEATURES[j]}`);
            }
          }
          const coef = [doc.state.coef].flat(2) as number[];
          const intercept = [doc.state.intercept].flat()[0] as number;
          assert.equal(coef.length, e.coef.length, `group ${e.key}: number of coefficients`);
          coef.forEach((v, j) => close(v, e.coef[j], c.tol, `group ${e.key}: coefficient ${j}`));
          close(intercept, e.intercept, c.tol, `group ${e.key}: intercept`);
        }
        // the scoring rows: every engine against scikit-learn's pipeline.predict(_proba), row by row
        const col = c.estimator === 'logistic' ? 'probability' : 'prediction';
        const results: Record<string, (number | null)[]> = {};
        for (const engine of ['sql', 'ts'] as const) {
          const p = await db.predict({ models: into, from: 'sc', into: `${into}_${engine}`, engine });
          assert.equal(p.rows, score.length);
          assert.equal(p.rowsWithoutModel, 12 * (8 - models.length - 1), 'rows of groups without a model (7; and 6 without an imputer)');
          results[engine] = (await db.sql(`SELECT ${col} AS p FROM ${into}_${engine} ORDER BY id`)).rows.map((x) => x.p as number | null);
        }
        // the installed functions, called by hand with the raw columns: numbers, then the categories' text
        const fn = c.estimator === 'logistic' ? 'predict_proba' : 'predict_value';
        results.functions = (
          await db.sql(
            `SELECT manymodels.${fn}(m.model, ARRAY[s.a, s.b, s.k, NULL, NULL]::float8[], ARRAY[NULL, NULL, NULL, s.c, s.flag::text]) AS p
             FROM sc AS s LEFT JOIN ${into} AS m ON m.g = s.g ORDER BY s.id`,
          )
        ).rows.map((x) => x.p as number | null);
        let unscored = 0;
        for (const [engine, got] of Object.entries(results)) {
          let k = 0;
          for (const [i, x] of score.entries()) {
            if (!expected.some((o) => o.key === x.g)) {
              assert.equal(got[i], null, `${engine}: row ${x.id} has no model`);
              continue;
            }
            const e = expected.find((o) => o.key === x.g) as OracleGroup;
            const want = e.pred[score.filter((s) => s.g === x.g).indexOf(x)];
            k++;
            if (want === null) {
              assert.equal(got[i], null, `${engine}: row ${x.id} has a NULL number and no imputer: not scored`);
              if (engine === 'sql') unscored++;
            } else close(got[i] as number, want, c.tol, `${engine}: row ${x.id} (c = ${x.c}, flag = ${x.flag}, a = ${x.a}, b = ${x.b})`);
          }
          assert.ok(k > 0);
        }
        if (c.options.impute === undefined) assert.ok(unscored > 0, 'some rows were left unscored');
        // the two engines: the same numbers (up to exp()'s last bit between two math libraries)
        results.sql.forEach((v, i) => assert.ok(v === results.ts[i] || Math.abs((v as number) - (results.ts[i] as number)) <= 1e-12, `row ${i}: sql ${v} ts ${results.ts[i]}`));
      });
    }

    it('a model of numbers only is scored by the 2-argument functions, its scaler applied', async () => {
      await db.train({ from: 'tr', group: 'g', features: ['a', 'k'], label: 'y', into: 'num_only', standardize: true, impute: 'mean' });
      await db.predict({ models: 'num_only', from: 'sc', into: 'num_only_p', engine: 'ts' });
      const rows = (
        await db.sql<{ ts: number; fn: number; fn3: number }>(`SELECT p.probability AS ts, manymodels.predict_proba(m.model, ARRAY[s.a, s.k]) AS fn, manymodels.predict_proba(m.model, ARRAY[s.a, s.k], NULL) AS fn3
                      FROM sc AS s JOIN num_only AS m ON m.g = s.g JOIN num_only_p AS p ON p.g = m.g AND p.id = s.id ORDER BY s.id`)
      ).rows;
      assert.ok(rows.length > 0);
      for (const r of rows) {
        assert.ok(Math.abs(r.ts - r.fn) <= 1e-12 && r.fn === r.fn3, JSON.stringify(r));
      }
      // the stored scaler: a real one for a, 1 for k (constant within each group, as StandardScaler)
      const doc = (await db.sql<{ model: any }>(`SELECT model FROM num_only WHERE g = 1`)).rows[0].model;
      assert.ok(doc.preprocess.columns[0].scale !== 1 && doc.preprocess.columns[1].scale === 1, 'k is constant in a group: scale 1, as StandardScaler');
    });

    it('the two engines agree on extreme inputs through a stored scaler (NaN, ±Infinity, beyond float8 after scaling, subnormals)', async () => {
      // group 1: a tiny scale (~1e-150), so a large input overflows once divided; groups 2 and 3: a large scale
      // (group 3 centred on 0), so a tiny input's quotient is subnormal or rounds to 0 (where PostgreSQL's / would raise)
      await db.exec(`CREATE TABLE ext_tr AS SELECT g, (CASE WHEN g = 1 THEN i * 1e-150 WHEN g = 2 THEN i * 1e150 ELSE (CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END) * ceil(i / 2.0) * 1e150 END)::float8 AS a,
                     (i % 3)::float8 AS b, (i % 2) AS y FROM generate_series(1, 3) g, generate_series(1, 8) i`);
      await db.exec(`CREATE TABLE ext_sc AS SELECT g * 100 + k AS id, g, v AS a, 1::float8 AS b
                     FROM generate_series(1, 3) g, unnest(ARRAY[NULL, 'NaN', 'Infinity', '-Infinity', 1.7e308, -1.7e308, 1e-310, -5e-324, 0, 4e-200, 1e150, 1e200, 3]::float8[]) WITH ORDINALITY AS u(v, k)`);
      await db.train({ from: 'ext_tr', group: 'g', features: ['a', 'b'], label: 'y', into: 'ext_m', standardize: true, impute: 'mean' });
      const got: Record<string, (number | null)[]> = {};
      for (const engine of ['sql', 'ts'] as const) {
        await db.predict({ models: 'ext_m', from: 'ext_sc', into: `ext_p_${engine}`, engine });
        got[engine] = (await db.sql<{ p: number | null }>(`SELECT probability AS p FROM ext_p_${engine} ORDER BY id`)).rows.map((r) => r.p);
      }
      assert.equal(got.sql.length, 39);
      got.sql.forEach((v, i) => assert.ok(v === got.ts[i] || (v !== null && got.ts[i] !== null && Math.abs(v - (got.ts[i] as number)) <= 1e-12), `row ${i + 1}: sql ${v} ts ${got.ts[i]}`));
      // NULL and NaN are imputed (scored); ±Infinity are not; ±1.7e308 / 1e-150 overflows (not scored) in group 1
      for (const g of [0, 13, 26]) {
        assert.notEqual(got.ts[g], null, `group ${g / 13 + 1}: NULL imputed`);
        assert.notEqual(got.ts[g + 1], null, `group ${g / 13 + 1}: NaN imputed`);
        assert.deepEqual([got.ts[g + 2], got.ts[g + 3]], [null, null], `group ${g / 13 + 1}: ±Infinity not scored`);
      }
      assert.deepEqual([got.ts[4], got.ts[5]], [null, null], 'group 1: ±1.7e308 overflows once scaled');
      assert.ok(got.ts.slice(26).filter((v) => v !== null).length === 11, 'group 3: tiny inputs scored');
    });

    it('a model with one-hot columns called without its categories scores NULL, never a guess', async () => {
      const r = await db.sql(`SELECT manymodels.predict_proba(model, ARRAY[1, 2, 3, NULL, NULL]::float8[]) AS p FROM m0 WHERE g = 1`);
      assert.equal(r.rows[0].p, null);
    });

    it('recommend applies the stored preprocessing in both engines', async () => {
      const out: number[][] = [];
      for (const engine of ['sql', 'ts'] as const) {
        await db.recommend({ models: 'm0', candidates: 'sc', candidate: 'id', into: `rec_${engine}`, k: 2, engine });
        out.push((await db.sql<{ id: number; probability: number }>(`SELECT id, probability FROM rec_${engine} ORDER BY g, rank`)).rows.flatMap((x) => [x.id, x.probability]));
      }
      assert.ok(out[0].length > 0);
      assert.equal(out[0].length, out[1].length);
      out[0].forEach((v, i) => assert.ok(Math.abs(v - out[1][i]) <= 1e-12, `${i}: ${v} vs ${out[1][i]}`));
      const p = (await db.sql(`SELECT s.id, s.probability FROM m0_sql AS s JOIN rec_sql AS r USING (g, id) ORDER BY s.id`)).rows;
      const rec = (await db.sql(`SELECT id, probability FROM rec_sql ORDER BY id`)).rows;
      assert.deepEqual(rec, p, 'the recommended candidates carry predict’s probabilities');
    });

    it('bad options: a clear error with a code, nothing written', async () => {
      const base = { from: 'tr', group: 'g', features: FEATURES, label: 'y', into: 'bad' };
      const cases: [Partial<TrainOptions>, string, RegExp][] = [
        [{ impute: 'mode' as never }, 'INVALID_OPTION', /impute must be one of mean, median, zero, got "mode"/],
        [{ categorical: ['b'] }, 'INVALID_OPTION', /categorical column "b" is not a text or boolean column/],
        [{ categorical: ['nope'] }, 'INVALID_OPTION', /categorical column "nope" is not one of the features/],
        [{ weight: 'c', features: ['a', 'b'] }, 'FEATURES_NOT_NUMERIC', /weight column "c" is not numeric/],
        [{ weight: 'a', features: ['a', 'b'] }, 'NAME_CLASH', /column "a" is both the weight and a feature/],
        [{ standardize: true, strategy: 'in-database', features: ['a', 'b'] }, 'INVALID_OPTION', /the in-database strategy does not preprocess features or weight rows \(standardize given\)/],
        [{ standardize: true, pool: 'global', features: ['a', 'b'] }, 'INVALID_OPTION', /partial pooling \(pool global\) does not combine with preprocessing or sample weights/],
        [{ pool: 'global' }, 'INVALID_OPTION', /partial pooling \(pool global\) needs number features, but "c" is one-hot encoded per group/],
        [{ inference: true, weight: 'w' }, 'INVALID_OPTION', /inference statistics are not computed for a weighted fit/],
        [{ strategy: 'in-database' }, 'FEATURES_NOT_NUMERIC', /the in-database strategy needs number features, but "c" is one-hot encoded/],
      ];
      for (const [opts, code, message] of cases) {
        await assert.rejects(
          () => db.train({ ...base, ...opts } as TrainOptions),
          (e: unknown) => e instanceof ManyModelsError && e.code === code && message.test(e.message) && e.hint !== undefined,
          JSON.stringify(opts),
        );
      }
      assert.equal((await db.sql(`SELECT to_regclass('bad') AS t`)).rows[0].t, null);
    });
  });
}

describe('preprocessing on the command line', () => {
  const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;
  it('train --standardize --impute --categorical --weight stores the preprocessing; predict applies it', async () => {
    const url = await freshDatabaseUrl();
    const db = await open(url);
    try {
      await db.exec(tableSql('tr', trainingRows()) + tableSql('sc', scoringRows()));
      const run = (args: string[]) => spawnSync(process.execPath, [CLI, '--db', url, '--quiet', ...args], { encoding: 'utf8', timeout: 120_000 });
      const t = run(['train', '--from', 'tr', '--group', 'g', '--features', 'a,b,k,c,flag', '--label', 'y', '--into', 'cli_m', '--standardize', '--impute', 'median', '--categorical', 'flag', '--weight', 'w']);
      assert.equal(t.status, 0, t.stderr);
      assert.match(t.stdout, /groups: 6 ok, 0 failed/);
      const doc = (await db.sql<{ model: any }>(`SELECT model FROM cli_m WHERE g = 1`)).rows[0].model;
      assert.deepEqual(doc.preprocess.columns.map((c: any) => [c.name, c.kind, 'fill' in c, 'scale' in c]), [
        ['a', 'number', true, true],
        ['b', 'number', true, true],
        ['k', 'number', true, true],
        ['c', 'category', false, false],
        ['flag', 'category', false, false],
      ]);
      const p = run(['predict', '--models', 'cli_m', '--from', 'sc', '--into', 'cli_p']);
      assert.equal(p.status, 0, p.stderr);
      const n = (await db.sql<{ n: number }>(`SELECT count(probability)::int AS n FROM cli_p`)).rows[0].n;
      assert.equal(n, 72, 'every row of groups 1–6 scored (NULL numbers imputed, unseen categories all zeros)');
    } finally {
      await db.close();
    }
  });
});
