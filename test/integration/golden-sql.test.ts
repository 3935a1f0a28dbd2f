import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { type LogisticRegression, decodeModel } from 'manymodels';
import { backends } from '../helpers/backends.js';
import { OFFER_SQL } from '../helpers/offers.js';

/**
 * The golden SQL of the postgres dialect (test/golden/postgres.sql) is the generator's own output;
 * this checks it from outside: PostgreSQL (and PGlite) run it as written, and the models and
 * predictions it makes are the streaming strategy's and the TypeScript scorer's.
 */
type Row = Record<string, any>;

function goldenStatements(): string[] {
  const text = readFileSync(new URL('../golden/postgres.sql', import.meta.url), 'utf8');
  return text.split(/;\n\n/).map((s) => s.replace(/;\n$/, '').trim()).filter((s) => s !== '');
}

for (const backend of backends) {
  describe(`the postgres golden SQL on ${backend.name}`, () => {
    it('runs as written and fits the models, and scores the rows, that manymodels does', async () => {
      const db = await backend.open();
      try {
        await db.exec(`${OFFER_SQL(30, { singleClass: [4] })}
          CREATE TABLE offers_tests AS SELECT u AS userid, ARRAY[k, 15 - k] AS features FROM generate_series(1, 31) u, generate_series(1, 9) k;`);
        const stmts = goldenStatements();
        const made: string[] = [];
        for (let i = 0; i < stmts.length; i++) {
          const s = stmts[i];
          if (s.startsWith('-- Newton iteration')) {
            // the iteration and its check, repeated until every group is done
            const [step, check] = [stmts[i + 1], stmts[i + 2]];
            assert.match(check, /^SELECT count\(\*\)::float8 AS n FROM .* WHERE NOT done$/);
            let passes = 0;
            for (;;) {
              await db.exec(step);
              passes++;
              if ((await db.sql<Row>(check)).rows[0].n === 0) break;
              assert.ok(passes < 200, 'the iteration ends');
            }
            i += 2;
            continue;
          }
          await db.exec(s);
          if (s.startsWith('CREATE TABLE "public"."mm_stage_0000" AS')) {
            // the staging table a run would swap in: keep it under a name of its own
            const name = `golden_${made.length}`;
            await db.exec(`ALTER TABLE "public"."mm_stage_0000" RENAME TO ${name}`);
            made.push(name);
          }
          if (s.startsWith('DROP TABLE "public"."mm_stage_0000_g"') && made.length === 1) {
            // the scoring statement at the end reads public.models: the logistic models just made
            await db.exec(`CREATE TABLE models AS SELECT * FROM ${made[0]}`);
          }
        }
        assert.equal(made.length, 2, 'a LogisticRegression and a Ridge models table');
        const base = { from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'] };
        await db.train({ ...base, label: 'bought_offer', into: 'lr_streaming' });
        await db.train({ ...base, label: 'bought_offer', into: 'ridge_streaming', estimator: 'ridge', params: { alpha: 1 } });
        for (const [golden, streaming] of [[made[0], 'lr_streaming'], [made[1], 'ridge_streaming']]) {
          const a = (await db.sql<Row>(`SELECT userid, status, error, model FROM ${golden} ORDER BY userid`)).rows;
          const b = (await db.sql<Row>(`SELECT userid, status, error, model FROM ${streaming} ORDER BY userid`)).rows;
          assert.deepEqual(a.map((r) => [r.userid, r.status, r.error]), b.map((r) => [r.userid, r.status, r.error]), golden);
          for (let k = 0; k < a.length; k++) {
            if (a[k].status !== 'ok') continue;
            const ma = decodeModel(a[k].model);
            const mb = decodeModel(b[k].model);
            const X = [[1, 1], [4, 9], [10, 14], [7, 2]];
            const pa = golden === made[0] ? (ma as LogisticRegression).predictProba(X).map((p) => p[1]) : (ma.predict(X) as number[]);
            const pb = golden === made[0] ? (mb as LogisticRegression).predictProba(X).map((p) => p[1]) : (mb.predict(X) as number[]);
            pa.forEach((p, r) => assert.ok(Math.abs(p - pb[r]) <= 1e-12 * (1 + Math.abs(pb[r])), `${golden} user ${a[k].userid}: ${p} vs ${pb[r]}`));
          }
        }
        // the scoring statement against the TypeScript scorer
        // (models is a copy of the golden logistic table, which agrees with lr_streaming to 1e-12)
        await db.predict({ models: 'lr_streaming', from: 'offers_tests', into: 'scores_ts', features: 'features', engine: 'ts' });
        const d = (await db.sql<Row>(`SELECT count(*)::int AS n, max(abs(a.probability - b.probability)) AS d,
            count(*) FILTER (WHERE (a.probability IS NULL) <> (b.probability IS NULL))::int AS nulls
          FROM offer_predictions_stage a JOIN scores_ts b ON a.userid = b.userid AND a.features = b.features`)).rows[0];
        assert.equal(d.n, 31 * 9);
        assert.equal(d.nulls, 0);
        assert.ok(d.d <= 1e-12, `SQL and TypeScript scores differ by ${d.d}`);
      } finally {
        await db.close();
      }
    });
  });
}
