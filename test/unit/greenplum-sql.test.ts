import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DIALECTS } from '../../dist/sql/dialects/index.js';
import { type InDbSpec, inDatabaseStatementsFor } from '../helpers/sql-text.js';

/**
 * The SQL shapes Greenplum 7 needs (docs/distributed.md; checked on a real cluster by
 * test/integration/greenplum-pushdown.test.ts in the Greenplum pass):
 * - no DISTINCT aggregate with a FILTER clause: both of its planners fail on
 *   `count(DISTINCT y) FILTER (WHERE u)` in a GROUP BY ("variable not found in subplan target list");
 * - the per-group solve is one fenced call of manymodels.spd_solve: its planner spends minutes on
 *   the written-out Cholesky's chain of LATERAL subqueries (measured: 80 s for one Newton
 *   statement, 2 features + intercept, against 20 ms with the call).
 */
function spec(dialect: keyof typeof DIALECTS, estimator: InDbSpec['estimator'], nFeatures = 2): InDbSpec {
  return {
    dialect: DIALECTS[dialect],
    fromSql: '"public"."offer" AS s',
    sourceTable: ['public', 'offer'],
    group: ['userid'],
    features: Array.from({ length: nFeatures }, (_, j) => `s."f${j}"::float8`),
    label: 's."y"::float8',
    labelKind: 'number',
    estimator,
    params: estimator === 'LogisticRegression' ? { C: 1, penalty: 'l2', fitIntercept: true, maxIter: 100, tol: 0.0001, classWeight: null, solver: 'auto' } : { alpha: 1, fitIntercept: true },
    minRows: 1,
    runId: '00000000-0000-4000-8000-000000000000',
    dataTable: ['public', 'st_d'],
    groupTable: ['public', 'st_g'],
    staging: ['public', 'st'],
  };
}

const count = (text: string, re: RegExp): number => (text.match(re) ?? []).length;

describe('in-database SQL for Greenplum', () => {
  it('no statement of any dialect has a DISTINCT aggregate with a FILTER', () => {
    for (const d of Object.keys(DIALECTS) as (keyof typeof DIALECTS)[]) {
      for (const est of ['LogisticRegression', 'Ridge'] as const) {
        for (const s of inDatabaseStatementsFor(spec(d, est))) assert.doesNotMatch(s, /\(DISTINCT[^()]*(\([^()]*\))*[^()]*\)\s*FILTER/i, `${d} ${est}: ${s}`);
      }
    }
  });

  for (const est of ['LogisticRegression', 'Ridge'] as const) {
    it(`${est}: the solve is one fenced spd_solve call per group, whatever the number of features`, () => {
      for (const nf of [1, 2, 5, 9]) {
        const solve = inDatabaseStatementsFor(spec('greenplum', est, nf)).filter((s) => s.includes('spd_solve'));
        assert.equal(solve.length, 1, `${nf} features: one statement solves`);
        assert.equal(count(solve[0], /spd_solve\(/g), 1, `${nf} features: one call`);
        assert.match(solve[0], /\(SELECT manymodels\.spd_solve\([^]*\) AS v OFFSET 0\) AS xv/);
        // no written-out factorisation left: its lateral subqueries are named xl0, xy0, xu0, ...
        assert.doesNotMatch(solve[0], /\) AS x[lyu]\d/);
        // the statement stays small: it grows with the matrix, not exponentially
        assert.ok(solve[0].length < 4000 + 600 * (nf + 1) ** 2, `${nf} features: ${solve[0].length} characters`);
      }
    });
  }

  it('postgres keeps the written-out solve (fast to plan there, no function call per group)', () => {
    const all = inDatabaseStatementsFor(spec('postgres', 'LogisticRegression')).join('\n');
    assert.equal(count(all, /spd_solve/g), 0);
    assert.match(all, /\) AS xl0 /);
  });
});
