import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ManyModels, LogisticRegression } from 'manymodels';
import { backends } from '../helpers/backends.js';

/**
 * Class labels as scikit-learn reads them: classes sorted by code point, a continuous target
 * refused (type_of_target 'continuous'), bigint labels never merged by a float cast, boolean labels
 * predicted as booleans; and data with no finite optimum (separable, no penalty) said so.
 */
const STRATEGIES = ['streaming', 'in-database'] as const;

/** 16 rows of one group: x, and a class from `pick(i)`, overlapping so an optimum exists. */
function rows(pick: (i: number) => string, key = 1): string {
  return Array.from({ length: 16 }, (_, i) => `(${key}, ${(i * 7) % 5}, ${pick(i)})`).join(', ');
}

for (const backend of backends) {
  describe(`class labels on ${backend.name}`, () => {
    let db: ManyModels;
    before(async () => {
      db = await backend.open();
    });
    after(async () => {
      await db?.close();
    });

    it("text classes sorted by code point ('ｙ' U+FF59 before '😀' U+1F600), as scikit-learn and the in-database strategy", async () => {
      await db.exec(`CREATE TABLE emo (g int, x float8, y text); INSERT INTO emo VALUES ${rows((i) => (i % 3 === 0 ? `'😀'` : `'ｙ'`))}`);
      const probs: number[][] = [];
      for (const strategy of STRATEGIES) {
        await db.train({ from: 'emo', group: 'g', features: ['x'], label: 'y', into: `emo_${strategy === 'streaming' ? 's' : 'd'}`, strategy });
        const m = (await db.sql(`SELECT model->'state'->'classes' AS c FROM emo_${strategy === 'streaming' ? 's' : 'd'}`)).rows[0];
        assert.deepEqual(m.c, ['ｙ', '😀'], strategy);
        const p = await db.predict({ models: `emo_${strategy === 'streaming' ? 's' : 'd'}`, from: 'emo', into: 'emo_p', replace: true });
        assert.equal(p.rows, 16);
        probs.push((await db.sql(`SELECT probability FROM emo_p ORDER BY x`)).rows.map((r) => r.probability as number));
      }
      for (let i = 0; i < probs[0].length; i++) assert.ok(Math.abs(probs[0][i] - probs[1][i]) < 1e-6, `row ${i}: ${probs[0][i]} vs ${probs[1][i]}`);
      // the oracle: the probability is of classes_[1] = '😀', the rarer class
      const avg = probs[0].reduce((a, b) => a + b, 0) / probs[0].length;
      assert.ok(avg < 0.5, `mean P('😀') ${avg}`);
    });

    it('a continuous label is refused for a classifier with CONTINUOUS_LABEL; whole-number floats are classes', async () => {
      await db.exec(`CREATE TABLE cont (g int, x float8, y float8); INSERT INTO cont VALUES ${rows((i) => String(i / 10))}, ${rows((i) => String((i % 2) * 2.0), 2)}`);
      for (const strategy of STRATEGIES) {
        const into = `cont_${strategy === 'streaming' ? 's' : 'd'}`;
        const r = await db.train({ from: 'cont', group: 'g', features: ['x'], label: 'y', into, strategy });
        assert.equal(r.groupsOk, 1, strategy);
        assert.equal(r.groupsFailed, 1, strategy);
        const failed = (await db.sql(`SELECT g, error FROM ${into} WHERE status = 'failed'`)).rows;
        assert.equal(failed[0].g, 1);
        assert.match(failed[0].error as string, /^CONTINUOUS_LABEL: /, strategy);
      }
      assert.throws(() => new LogisticRegression().fit([[1], [2], [3]], [0.5, 1, 1.5]), { code: 'CONTINUOUS_LABEL' });
    });

    it('bigint labels beyond 2^53 are not merged by a float cast: the group fails and says why', async () => {
      // 2^53 + 1 rounds to 2^53 as a float8: the two classes would become one
      await db.exec(`CREATE TABLE big (g int, x float8, y bigint); INSERT INTO big VALUES ${rows((i) => (i % 2 === 0 ? '9007199254740993' : '9007199254740992'))}, ${rows((i) => (i % 2 === 0 ? '-5' : '9007199254740991'), 2)}`);
      for (const strategy of STRATEGIES) {
        const into = `big_${strategy === 'streaming' ? 's' : 'd'}`;
        const r = await db.train({ from: 'big', group: 'g', features: ['x'], label: 'y', into, strategy });
        const got = (await db.sql(`SELECT g, status, error, model->'state'->'classes' AS c FROM ${into} ORDER BY g`)).rows;
        assert.equal(got[0].status, 'failed', strategy);
        assert.match(got[0].error as string, /^INVALID_GROUP: a bigint label is beyond ±2\^53/, strategy);
        assert.equal(got[1].status, 'ok', `${strategy}: ${got[1].error}`);
        assert.deepEqual(got[1].c, [-5, 9007199254740991], strategy);
        assert.equal(r.groupsOk, 1);
      }
    });

    it('boolean labels are predicted as booleans, by both engines', async () => {
      await db.exec(`CREATE TABLE bl (g int, x float8, y boolean); INSERT INTO bl VALUES ${rows((i) => (i % 3 === 0 ? 'true' : 'false'))}`);
      await db.train({ from: 'bl', group: 'g', features: ['x'], label: 'y', into: 'bl_m' });
      for (const engine of ['sql', 'ts'] as const) {
        await db.predict({ models: 'bl_m', from: 'bl', into: 'bl_p', engine, replace: true });
        const type = (await db.sql(`SELECT format_type(atttypid, NULL) AS t FROM pg_attribute WHERE attrelid = 'bl_p'::regclass AND attname = 'prediction'`)).rows[0].t;
        assert.equal(type, 'boolean', engine);
        const vals = (await db.sql(`SELECT DISTINCT prediction FROM bl_p ORDER BY 1`)).rows.map((r) => r.prediction);
        assert.ok(vals.every((v) => typeof v === 'boolean'), `${engine}: ${JSON.stringify(vals)}`);
      }
    });

    it('separable classes with no penalty: converged = false and PERFECT_SEPARATION in the row, not an arbitrary optimum', async () => {
      // group 1: x < 2.5 is class 0, above class 1 (separable); group 2 overlaps
      const sep = Array.from({ length: 12 }, (_, i) => `(1, ${i % 6}, ${i % 6 >= 3 ? 1 : 0})`);
      const mix = Array.from({ length: 12 }, (_, i) => `(2, ${i % 6}, ${(i * 5) % 7 > 3 ? 1 : 0})`);
      await db.exec(`CREATE TABLE sep (g int, x float8, y int); INSERT INTO sep VALUES ${[...sep, ...mix].join(', ')}`);
      for (const strategy of STRATEGIES) {
        const into = `sep_${strategy === 'streaming' ? 's' : 'd'}`;
        const r = await db.train({ from: 'sep', group: 'g', features: ['x'], label: 'y', into, strategy, params: { penalty: null } });
        assert.equal(r.groupsOk, 2, strategy);
        assert.deepEqual(r.notes.map((n) => [n.code, n.count]), [['PERFECT_SEPARATION', 1]], strategy);
        const got = (await db.sql(`SELECT g, status, converged, error, (model->'state'->>'converged')::boolean AS doc_converged FROM ${into} ORDER BY g`)).rows;
        assert.equal(got[0].status, 'ok');
        assert.equal(got[0].converged, false, strategy);
        assert.equal(got[0].doc_converged, false, strategy);
        assert.match(String(got[0].error ?? ''), /^PERFECT_SEPARATION: /, strategy);
        assert.equal(got[1].converged, true, strategy);
        assert.equal(got[1].error, null, strategy);
      }
      // with the L2 penalty there is an optimum
      const r = await db.train({ from: 'sep', group: 'g', features: ['x'], label: 'y', into: 'sep_l2' });
      assert.equal(r.notConverged, 0);
      assert.deepEqual(r.notes, []);
      assert.equal((await db.sql(`SELECT count(*)::int AS n FROM sep_l2 WHERE error IS NOT NULL`)).rows[0].n, 0);
    });
  });
}
