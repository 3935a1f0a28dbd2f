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
  const scoring = inlineScoringSql({ fromSql: '"public"."offers_tests" AS s', models: ['public', 'models'], group: ['userid'], features: { kind: 'array', expr: 's."features"::float8[]' }, nFeatures: 2, kind: 'binary', labelKind: 'number', fence: DIALECTS[dialect].fence, tableFence: DIALECTS[dialect].tableFence });
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
      if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) writeFileSync(file, text);
      assert.equal(text, readFileSync(file, 'utf8'));
    });
  }

  it('greenplum: every table manymodels creates is DISTRIBUTED BY the group key', () => {
    const creates = statements('greenplum').filter((s) => s.startsWith('CREATE TABLE'));
    assert.ok(creates.length >= 5);
    for (const s of creates) assert.match(s, /DISTRIBUTED BY \("userid"\)$/);
  });

  it('citus: tables are created empty, distributed co-located, then filled with INSERT ... SELECT', () => {
    const all = statements('citus');
    const creates = all.filter((s) => s.startsWith('CREATE TABLE'));
    assert.ok(creates.length >= 5);
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
        assert.match(s.slice(0, start), /CROSS JOIN LATERAL $/, `a fence on a LATERAL subquery only: ${sub}`);
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
