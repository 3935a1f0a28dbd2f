import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type RecommendPlan, recommendSql } from '../../dist/decide/recommend.js';
import type { PredictPlan } from '../../dist/pipeline/predict.js';
import { DIALECTS } from '../../dist/sql/dialects/index.js';

/**
 * recommend's SQL per dialect, without a connection: one window per group key (so Citus and
 * Greenplum rank where the group's rows live), no subquery fence on Citus, the output distributed
 * by the group key beside the models table.
 */
function plan(multiclass = false): RecommendPlan {
  const fields = ['userid', 'offerid', 'features', 'price'].map((name) => ({ name, dataTypeID: name === 'features' ? 1007 : 23 }));
  const p = {
    group: ['userid'],
    featuresExpr: 's."features"::float8[]',
    featureSql: { kind: 'array', expr: 's."features"::float8[]' },
    featureNames: ['features'],
    labelKind: 'number',
    classifier: true,
    multiclass,
    nFeatures: multiclass ? null : 2,
    meta: { manymodels: 'models', version: 1, runId: 'r', group: ['userid'], features: { kind: 'array', name: 'features' } },
    src: { fromSql: '(SELECT ...) AS s', display: 'offers', columns: new Map(fields.map((f) => [f.name, f])), fields },
    modelsName: ['public', 'models'],
  } as unknown as PredictPlan;
  return {
    p,
    k: 3,
    candidate: ['offerid'],
    by: 'expected-value',
    positiveClass: multiclass ? '2' : null,
    valueSql: 's."price"::float8',
    costSql: `'0.5'::float8`,
    outColumns: [...fields.map((f) => f.name), 'probability', 'prediction', 'score', 'rank'],
    predType: 'float8',
  };
}

describe('recommend SQL per dialect', () => {
  for (const name of Object.keys(DIALECTS) as (keyof typeof DIALECTS)[]) {
    it(`${name}: one row_number() per group key, ordered by score then candidate; the output distributed by the group key`, () => {
      const d = DIALECTS[name];
      for (const multiclass of [false, true]) {
        const sql = recommendSql(plan(multiclass), d.fence, false, d.tableFence);
        const windows = [...sql.matchAll(/OVER \(([^)]*)\)/g)].map((m) => m[1]);
        assert.deepEqual(windows, ['PARTITION BY v."userid" ORDER BY v.mm_score DESC, v."offerid"']);
        assert.match(sql, /WHERE t\."rank" <= 3$/);
        assert.match(sql, /w\.probability \* w\.mm_value - w\.mm_cost AS mm_score/);
        // the inline scoring (binary) fences its per-row subqueries where the dialect can; on Citus not the
        // subquery over the models table (tableFence), which Citus would pull to the coordinator
        if (!multiclass) assert.equal(sql.includes('OFFSET 0'), d.fence === 'OFFSET 0', 'a fence where the dialect has one');
        if (name === 'citus') assert.doesNotMatch(sql, /WHERE status = 'ok' OFFSET 0\)/, 'no fence on the subquery over the models table');
        const stmts = d.createTableAs(['public', 'stage'], sql, ['userid'], ['public', 'models']);
        if (name === 'greenplum') assert.match(stmts[0], /DISTRIBUTED BY \("userid"\)$/);
        if (name === 'citus') assert.ok(stmts.some((s) => /create_distributed_table\('"public"\."stage"', 'userid', colocate_with => '"public"\."models"'\)/.test(s)), stmts.join('\n'));
      }
    });
  }
});
