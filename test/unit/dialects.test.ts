import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DIALECTS, dialectByName, dialectFromServer } from '../../dist/sql/dialects/index.js';
import { type InDbSpec, dataTableSql, groupTableSql, inDatabaseStatementsFor } from '../helpers/sql-text.js';
import { inlineScoringSql } from '../../dist/sql/predict-sql.js';

/**
 * SQL text per dialect, compiled without a connection: golden files (test/golden/<dialect>.sql;
 * UPDATE_GOLDEN=1 rewrites them after a deliberate change) and the rules each engine imposes
 * (../shared/DISTRIBUTED.md), checked statement by statement.
 */
function spec(dialect: keyof typeof DIALECTS, estimator: InDbSpec['estimator']): InDbSpec {
  return {
    dialect: DIALECTS[dialect],
    fromSql: '"public"."offer" AS s',
    sourceTable: ['public', 'offer'],
    group: ['userid'],
    features: ['s."asktimes"::float8', 's."askbackoffdays"::float8'],
    label: 's."bought_offer"::float8',
    labelKind: 'number',
    estimator,
    params: estimator === 'LogisticRegression' ? { C: 1, penalty: 'l2', fitIntercept: true, maxIter: 100, tol: 0.0001, classWeight: null, solver: 'auto' } : estimator === 'Ridge' ? { alpha: 1, fitIntercept: true } : { fitIntercept: true },
    minRows: 1,
    runId: '00000000-0000-4000-8000-000000000000',
    dataTable: ['public', 'mm_stage_0000_d'],
    groupTable: ['public', 'mm_stage_0000_g'],
    staging: ['public', 'mm_stage_0000'],
  };
}

function statements(dialect: keyof typeof DIALECTS): string[] {
  const scoring = inlineScoringSql({ fromSql: '"public"."offers_tests" AS s', models: ['public', 'models'], group: ['userid'], features: { kind: 'array', expr: 's."features"::float8[]', elements: 's."features"' }, nFeatures: 2, kind: 'binary', labelKind: 'number', fence: DIALECTS[dialect].fence, tableFence: DIALECTS[dialect].tableFence, ...(DIALECTS[dialect].distributed ? {} : { derived: { columns: ['userid', 'features'] } }) });
  return [
    ...inDatabaseStatementsFor(spec(dialect, 'LogisticRegression')),
    ...inDatabaseStatementsFor(spec(dialect, 'Ridge')),
    ...DIALECTS[dialect].createTableAs(['public', 'offer_predictions_stage'], scoring, ['userid'], ['public', 'offers_tests']),
  ];
}

describe('generated SQL per dialect', () => {
  for (const name of Object.keys(DIALECTS) as (keyof typeof DIALECTS)[]) {
    it(`${name}: matches its golden file`, () => {
      const text = `${statements(name).join(';\n\n')};\n`;
      const file = new URL(`../golden/${name}.sql`, import.meta.url);
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, text);
      // a missing golden file is a failure, never written here: it is checked by hand (and the
      // postgres one by golden-sql.test.ts on real servers) before it is committed
      assert.ok(existsSync(file), `test/golden/${name}.sql is missing: write it with UPDATE_GOLDEN=1 and check it`);
      assert.equal(text, readFileSync(file, 'utf8'));
    });
  }

  it('greenplum: every table manymodels creates is DISTRIBUTED BY the group key', () => {
    const creates = statements('greenplum').filter((s) => s.startsWith('CREATE TABLE'));
    // two data, two group, two staging tables (logistic, ridge) and the scores
    assert.equal(creates.length, 7);
    for (const s of creates) assert.match(s, /DISTRIBUTED BY \("userid"\)$/);
  });

  it('citus: tables are created empty, distributed co-located, then filled with INSERT ... SELECT', () => {
    const all = statements('citus');
    const creates = all.filter((s) => s.startsWith('CREATE TABLE'));
    assert.equal(creates.length, 7);
    for (const s of creates) assert.match(s, / WITH NO DATA$/, 'CREATE TABLE AS would make a local table on the coordinator');
    for (const s of creates) {
      const i = all.indexOf(s);
      const name = /^CREATE TABLE (\S+) AS/.exec(s)![1];
      assert.match(all[i + 1], new RegExp(`^SELECT create_distributed_table\\('${name.replace(/[".]/g, '\\$&')}', 'userid'`));
      assert.match(all[i + 2], new RegExp(`^INSERT INTO ${name.replace(/[".]/g, '\\$&')} SELECT`));
    }
    assert.ok(all.some((s) => s.includes(`colocate_with => '"public"."offer"'`)));
    // Citus pulls a subquery over a distributed table that has an OFFSET to the coordinator, but
    // pushes a fenced LATERAL subquery over no table down with the rest: fences only on those
    let fences = 0;
    for (const s of all) {
      for (let end = s.indexOf(' OFFSET 0)'); end >= 0; end = s.indexOf(' OFFSET 0)', end + 1)) {
        let depth = 0;
        let start = end;
        for (; start >= 0; start--) {
          if (s[start] === ')') depth++;
          if (s[start] === '(' && depth-- === 0) break;
        }
        const sub = s.slice(start, end);
        // a LATERAL subquery, or the inner one of predict's feature vector (FROM (SELECT s.features AS v OFFSET 0) AS v0, inside a LATERAL)
        assert.match(s.slice(0, start), /(CROSS JOIN LATERAL|CROSS JOIN LATERAL \(SELECT [^()]*(\([^()]*\)[^()]*)* FROM) $/, `a fence on a LATERAL subquery only: ${sub}`);
        assert.doesNotMatch(sub, /FROM "/, `a fenced subquery reads no table: ${sub}`);
        fences++;
      }
    }
    assert.ok(fences > 20, `the per-group values are fenced (${fences})`);
    assert.ok(!all.some((s) => s.includes('manymodels.spd_solve(')), 'the written-out solve, fenced');
    for (const s of all) assert.doesNotMatch(s, /DISTRIBUTED BY/);
  });

  it('postgres: plain CREATE TABLE AS, nothing distributed', () => {
    for (const s of statements('postgres')) {
      assert.doesNotMatch(s, /DISTRIBUTED BY|create_distributed_table/);
    }
  });

  it('every join of per-group tables is on the group key, and no statement uses a volatile function', () => {
    for (const name of Object.keys(DIALECTS) as (keyof typeof DIALECTS)[]) {
      for (const s of statements(name)) {
        for (const m of s.matchAll(/ ON ([^()]+?) (CROSS|WHERE|GROUP|LEFT|$)/g)) assert.match(m[1], /^\w+\."userid" = \w+\."userid"$/, `${name}: ${m[1]}`);
        assert.doesNotMatch(s, /random\(|clock_timestamp|nextval/);
      }
    }
  });

  it('the facts of ../shared/DISTRIBUTED.md, as rules on every dialect’s statements', () => {
    for (const name of Object.keys(DIALECTS) as (keyof typeof DIALECTS)[]) {
      const all = statements(name);
      for (const s of all) {
        // Citus: correlated subqueries over a set-returning function are refused
        assert.doesNotMatch(s, /EXISTS \(SELECT[^)]*jsonb_array_elements/, `${name}: ${s.slice(0, 80)}`);
        // Greenplum 7: count(DISTINCT y) FILTER (WHERE ...) in a GROUP BY fails to plan
        assert.doesNotMatch(s, /count\(DISTINCT [^)]*\) FILTER/i, `${name}: ${s.slice(0, 80)}`);
        // Citus: VOLATILE functions in UPDATE on distributed tables fail
        if (s.startsWith('UPDATE')) assert.doesNotMatch(s, /random\(|clock_timestamp|nextval|gen_random_uuid|timeofday/, name);
        // Citus: a NULL distribution value fails; Greenplum: CREATE INDEX CONCURRENTLY is unsupported
        assert.doesNotMatch(s, /CREATE INDEX CONCURRENTLY/);
      }
      // the rows a data table holds have a non-NULL group key (the distribution column)
      const data = all.filter((s) => /^(CREATE TABLE|INSERT INTO) "public"\."mm_stage_0000_d"/.test(s) && / FROM "public"\."offer"/.test(s));
      assert.ok(data.length >= 2, `${name}: the data tables are filled from the source`);
      for (const s of data) assert.match(s, /WHERE \(s\."userid"\) IS NOT NULL/, `${name}: NULL keys never reach a distributed table`);
    }
  });

  it('the group table for a text label compares classes by code point (COLLATE "C")', () => {
    const s = groupTableSql({ ...spec('postgres', 'LogisticRegression'), label: 's."kind"::text', labelKind: 'text' })[0];
    assert.match(s, /min\(y COLLATE "C"\)/);
    assert.match(dataTableSql(spec('postgres', 'LogisticRegression'))[0], /WHERE \(s\."userid"\) IS NOT NULL AND/);
  });

  it('detects the dialect from the server', () => {
    assert.equal(dialectFromServer(true, 'PostgreSQL 15.4').name, 'citus');
    assert.equal(dialectFromServer(false, 'PostgreSQL 12.12 (Greenplum Database 7.0.0 build commit:...)').name, 'greenplum');
    assert.equal(dialectFromServer(false, 'PostgreSQL 14.4 (Apache Cloudberry 1.0.0 build ...)').name, 'greenplum');
    assert.equal(dialectFromServer(false, 'PostgreSQL 15.18 (Debian 15.18-0+deb12u1)').name, 'postgres');
    assert.equal(dialectByName('cloudberry').name, 'greenplum');
    assert.throws(() => dialectByName('oracle'), /unknown dialect 'oracle'/);
  });
});
