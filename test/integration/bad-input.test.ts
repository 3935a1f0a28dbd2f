import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ManyModels, ManyModelsError, open } from 'manymodels';
import { backends, freshDatabaseUrl } from '../helpers/backends.js';
import { OFFER_SQL } from '../helpers/offers.js';
import { snapshot } from '../helpers/snapshot.js';

/**
 * The catalogue of bad input (docs/errors.md): every case gets a typed error with a stable code
 * and a message that says what is wrong and what to do, and leaves the database exactly as it
 * was: existing tables unchanged, no staging table left behind.
 */
const dir = mkdtempSync(join(tmpdir(), 'manymodels-bad-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const csv = (name: string, text: string): string => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

const base = { from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'models' };

interface Case {
  name: string;
  code: string;
  message: RegExp;
  run(db: ManyModels): Promise<unknown>;
}

const CASES: Case[] = [
  { name: 'missing source table', code: 'TABLE_NOT_FOUND', message: /training source nosuch does not exist/, run: (db) => db.train({ ...base, from: 'nosuch' }) },
  { name: 'missing schema of the source', code: 'TABLE_NOT_FOUND', message: /training source nope\.offer does not exist/, run: (db) => db.train({ ...base, from: ['nope', 'offer'] }) },
  { name: 'missing schema of the output', code: 'SCHEMA_NOT_FOUND', message: /schema "nope" of the output table nope\.models does not exist[\s\S]*CREATE SCHEMA/, run: (db) => db.train({ ...base, into: ['nope', 'models'] }) },
  { name: 'missing group column', code: 'COLUMN_NOT_FOUND', message: /group key column "user" does not exist in offer[\s\S]*its columns are/, run: (db) => db.train({ ...base, group: 'user' }) },
  { name: 'missing feature column, with a case hint', code: 'COLUMN_NOT_FOUND', message: /feature column "AskTimes" does not exist[\s\S]*did you mean "asktimes"/, run: (db) => db.train({ ...base, features: ['AskTimes'] }) },
  { name: 'missing label column', code: 'COLUMN_NOT_FOUND', message: /label column "bought" does not exist/, run: (db) => db.train({ ...base, label: 'bought' }) },
  // (a text feature column is one-hot encoded: test/integration/preprocess.test.ts)
  { name: 'a feature column of another type', code: 'FEATURES_NOT_NUMERIC', message: /feature column "seen" is not numeric[\s\S]*cast or encode/, run: (db) => db.train({ ...base, from: { query: `SELECT *, date '2026-01-01' AS seen FROM offer` }, features: ['asktimes', 'seen'] }) },
  { name: 'a numeric array mixed with columns', code: 'FEATURES_NOT_NUMERIC', message: /an array column must be the only feature/, run: (db) => db.train({ ...base, from: 'vec', features: ['features', 'asktimes'] }) },
  { name: 'a text label for a regressor', code: 'LABEL_NOT_NUMERIC', message: /LinearRegression needs a numeric label, but "note" is text/, run: (db) => db.train({ ...base, label: 'note', estimator: 'linear' }) },
  { name: 'a label of an unusable type', code: 'LABEL_NOT_USABLE', message: /label column "seen" has a type manymodels cannot read/, run: (db) => db.train({ ...base, label: 'seen' }) },
  { name: 'an empty source', code: 'NO_GROUPS', message: /has no rows with a group key: there is nothing to train/, run: (db) => db.train({ ...base, from: 'empty' }) },
  { name: 'only NULL group keys', code: 'NO_GROUPS', message: /rows whose group key is NULL are skipped/, run: (db) => db.train({ ...base, from: { query: 'SELECT NULL::int AS userid, asktimes, askbackoffdays, bought_offer FROM offer' } }) },
  { name: 'an output table not written by manymodels', code: 'OUTPUT_TABLE_NOT_MANAGED', message: /precious exists and was not written by manymodels[\s\S]*--replace/, run: (db) => db.train({ ...base, into: 'precious' }) },
  { name: 'a group key named like an output column', code: 'NAME_CLASH', message: /group key column "status" has the name of an output column/, run: (db) => db.train({ ...base, from: { query: 'SELECT userid AS status, asktimes, askbackoffdays, bought_offer FROM offer' }, group: 'status' }) },
  { name: 'a feature that is also the label', code: 'NAME_CLASH', message: /"bought_offer" is both a feature and the label/, run: (db) => db.train({ ...base, features: ['asktimes', 'bought_offer'] }) },
  { name: 'a column named twice', code: 'USAGE', message: /a feature column is named twice/, run: (db) => db.train({ ...base, features: ['asktimes', 'asktimes'] }) },
  { name: 'no feature columns', code: 'USAGE', message: /no feature given/, run: (db) => db.train({ ...base, features: [] }) },
  { name: 'an unknown estimator', code: 'UNKNOWN_ESTIMATOR', message: /unknown estimator 'svm'[\s\S]*logistic \(LogisticRegression\)/, run: (db) => db.train({ ...base, estimator: 'svm' as never }) },
  { name: 'an unknown parameter', code: 'INVALID_PARAMETER', message: /LogisticRegression has no parameter 'gamma'[\s\S]*its parameters are: C, penalty/, run: (db) => db.train({ ...base, params: { gamma: 1 } }) },
  { name: 'a parameter out of range', code: 'INVALID_PARAMETER', message: /'C' must be a finite number > 0, got -1/, run: (db) => db.train({ ...base, params: { C: -1 } }) },
  { name: 'a parameter of the wrong type', code: 'INVALID_PARAMETER', message: /'maxIter' must be an integer ≥ 1, got "many"/, run: (db) => db.train({ ...base, params: { maxIter: 'many' } }) },
  { name: 'an invalid option', code: 'INVALID_OPTION', message: /minRows must be an integer ≥ 1, got 0/, run: (db) => db.train({ ...base, minRows: 0 }) },
  { name: 'an unknown strategy', code: 'USAGE', message: /unknown strategy 'gpu'/, run: (db) => db.train({ ...base, strategy: 'gpu' as never }) },
  { name: 'an unknown dialect', code: 'UNKNOWN_DIALECT', message: /unknown dialect 'oracle'/, run: (db) => db.train({ ...base, dialect: 'oracle' as never }) },
  { name: 'a query with a syntax error', code: 'SQL_SYNTAX_ERROR', message: /training source .* cannot be read: syntax error/, run: (db) => db.train({ ...base, from: { query: 'SELECT userid, FROM offer' } }) },
  { name: 'a failure while the rows stream (division by zero)', code: 'DATABASE_ERROR', message: /division by zero/, run: (db) => db.train({ ...base, from: { query: 'SELECT userid, asktimes, askbackoffdays, bought_offer / (userid - 3) AS bought_offer FROM offer' } }) },
  { name: 'the in-database strategy on packed arrays', code: 'USAGE', message: /reads the long form/, run: (db) => db.train({ ...base, from: 'packed', features: 'features', label: 'results', strategy: 'in-database' }) },
  { name: 'predict: a missing models table', code: 'TABLE_NOT_FOUND', message: /models table nomodels does not exist[\s\S]*train models first/, run: (db) => db.predict({ models: 'nomodels', from: 'offer', into: 'scores' }) },
  { name: 'predict: a table that is not a models table', code: 'NOT_A_MODELS_TABLE', message: /precious is not a models table/, run: (db) => db.predict({ models: 'precious', from: 'offer', into: 'scores' }) },
  { name: 'predict: corrupt model documents', code: 'INVALID_MODEL_DOCUMENT', message: /model of group \{"userid":2\} in corrupt is invalid: its coefficients are missing/, run: (db) => db.predict({ models: 'corrupt', from: 'offer', into: 'scores' }) },
  { name: 'predict: a model document of an unknown version', code: 'INVALID_MODEL_DOCUMENT', message: /unsupported version 2 \(this manymodels reads version 1\)[\s\S]*retrain/, run: (db) => db.predict({ models: 'future', from: 'offer', into: 'scores' }) },
  { name: 'predict: a model document of another estimator', code: 'INVALID_MODEL_DOCUMENT', message: /it is a Ridge document in a table of LogisticRegression models/, run: (db) => db.predict({ models: 'mixed', from: 'offer', into: 'scores', engine: 'ts' }) },
  { name: 'predict: features whose count differs from the model’s', code: 'FEATURE_COUNT_MISMATCH', message: /trained on 2 features, but 1 feature column was given \(asktimes\)/, run: (db) => db.predict({ models: 'models', from: 'offer', into: 'scores', features: ['asktimes'] }) },
  { name: 'predict: a source without the group key', code: 'COLUMN_NOT_FOUND', message: /group key column "userid" does not exist in vec_nokey/, run: (db) => db.predict({ models: 'models', from: 'vec_nokey', into: 'scores', features: 'features' }) },
  { name: 'predict: a source with a probability column', code: 'USAGE', message: /has a column named "probability", which predict adds/, run: (db) => db.predict({ models: 'models', from: { query: 'SELECT userid, asktimes, askbackoffdays, 1 AS probability FROM offer' }, into: 'scores' }) },
  { name: 'import: a missing file', code: 'FILE_NOT_FOUND', message: /cannot read the file/, run: (db) => db.importCsv(join(dir, 'nope.csv'), { into: 'imported' }) },
  { name: 'import: an empty file', code: 'CSV_EMPTY', message: /is empty[\s\S]*header line/, run: (db) => db.importCsv(csv('empty.csv', ''), { into: 'imported' }) },
  { name: 'import: a ragged line', code: 'CSV_RAGGED', message: /CSV line 3 has 2 fields but the header has 3/, run: (db) => db.importCsv(csv('ragged.csv', 'a,b,c\n1,2,3\n4,5\n'), { into: 'imported' }) },
  { name: 'import: a header naming a column twice', code: 'CSV_INVALID', message: /names a column twice/, run: (db) => db.importCsv(csv('dup.csv', 'a,a\n1,2\n'), { into: 'imported' }) },
  { name: 'import: into an existing table', code: 'TABLE_EXISTS', message: /the table precious already exists[\s\S]*--replace/, run: (db) => db.importCsv(csv('ok.csv', 'a\n1\n'), { into: 'precious' }) },
];

const SETUP = `
${OFFER_SQL(6)}
CREATE TABLE empty (LIKE offer);
CREATE TABLE precious (a int); INSERT INTO precious VALUES (1), (2);
CREATE TABLE vec AS SELECT userid, ARRAY[asktimes, askbackoffdays] AS features, asktimes, bought_offer FROM offer;
CREATE TABLE vec_nokey AS SELECT offerid, ARRAY[asktimes, askbackoffdays] AS features FROM offer;
CREATE TABLE packed AS SELECT userid, array_agg(ARRAY[asktimes, askbackoffdays]) AS features, array_agg(bought_offer) AS results FROM offer GROUP BY userid;
`;

for (const backend of backends) {
  describe(`bad input on ${backend.name}: ${CASES.length} cases`, () => {
    let db: ManyModels;
    before(async () => {
      db = await backend.open();
      await db.exec(SETUP);
      await db.train(base);
      for (const t of ['corrupt', 'future', 'mixed']) await db.train({ ...base, into: t });
      await db.exec(`
        UPDATE corrupt SET model = jsonb_set(model, '{state,coef}', '[["x", 1]]') WHERE userid = 2;
        UPDATE future SET model = jsonb_set(model, '{version}', '2') WHERE userid = 3;
        UPDATE mixed SET model = jsonb_set(model, '{estimator}', '"Ridge"') WHERE userid = 4;`);
    });
    after(async () => {
      await db?.close();
    });
    for (const c of CASES) {
      it(c.name, async () => {
        const before = await snapshot(db);
        await assert.rejects(c.run(db), (e: unknown) => {
          assert.ok(e instanceof ManyModelsError, `not a ManyModelsError: ${e}`);
          assert.equal(e.code, c.code, e.message);
          assert.match(e.message, c.message);
          return true;
        });
        assert.deepEqual(await snapshot(db), before, 'the database is exactly as it was');
      });
    }
  });
}

describe('bad input on the command line: a non-zero exit and the message', () => {
  const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;
  it('exits 1 for data and database problems, 2 for malformed commands, with the code in the message', async () => {
    const url = await freshDatabaseUrl();
    const db = await open(url);
    await db.exec(SETUP);
    await db.close();
    const run = (args: string[]) => spawnSync(process.execPath, [CLI, '--db', url, '--quiet', ...args], { encoding: 'utf8' });
    const t = ['train', '--from', 'offer', '--group', 'userid', '--label', 'bought_offer', '--into', 'm'];
    const cases: [string[], number, RegExp][] = [
      [[...t, '--features', 'nope'], 1, /error \[COLUMN_NOT_FOUND\]: feature column "nope" does not exist in offer/],
      [[...t, '--features', 'asktimes', '--impute', 'mode'], 2, /error \[INVALID_OPTION\]: impute must be one of mean, median, zero, got "mode"/],
      [[...t, '--features', 'asktimes', '--estimator', 'svm'], 2, /error \[UNKNOWN_ESTIMATOR\]: unknown estimator 'svm'/],
      [[...t, '--features', 'asktimes', '--param', 'C'], 2, /error \[USAGE\]: --param "C" is not NAME=VALUE/],
      [[...t, '--features', 'asktimes', '--param', 'C=-2'], 1, /error \[INVALID_PARAMETER\]: .*'C' must be a finite number > 0, got -2/],
      [[...t, '--features', 'asktimes', '--into', 'precious'], 1, /error \[OUTPUT_TABLE_NOT_MANAGED\]: the output table precious exists/],
      [['predict', '--models', 'precious', '--from', 'offer', '--into', 'x'], 1, /error \[NOT_A_MODELS_TABLE\]: precious is not a models table/],
      [['import', join(dir, 'nope.csv'), '--into', 'x'], 2, /error \[FILE_NOT_FOUND\]: cannot read the file/],
      [['sql', 'SELEC 1'], 1, /error \[SQL_SYNTAX_ERROR\]: .*syntax error at or near "SELEC"/],
    ];
    for (const [args, code, message] of cases) {
      const r = run(args);
      assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  it('keeps passwords out of messages and the run catalog, where the URL would otherwise appear', async () => {
    // the server's own message quotes the value, a URL with a password; so would the catalog row
    const url = await freshDatabaseUrl();
    const db = await open(url);
    try {
      await db.exec(SETUP);
      const r = spawnSync(process.execPath, [CLI, '--db', url, '--quiet', 'train', '--from', "SELECT userid, asktimes, ('postgres://alice:s3cret-pw@db.example/x' || userid)::int AS y FROM offer",
        '--group', 'userid', '--features', 'asktimes', '--label', 'y', '--into', 'm'], { encoding: 'utf8' });
      assert.equal(r.status, 1, r.stderr);
      // (x1 on one node; on a cluster whichever segment fails first names its own row)
      assert.match(r.stderr, /error \[INVALID_VALUE\]: .*postgres:\/\/alice:\*\*\*@db\.example\/x\d+/, 'the message quotes the URL, redacted');
      assert.ok(!r.stderr.includes('s3cret-pw'), r.stderr);
      // (the run's source column keeps the query as the user wrote it; its error is the message)
      const runs = (await db.sql<{ t: string }>(`SELECT error AS t FROM manymodels.runs WHERE status = 'failed'`)).rows.map((x) => x.t).join('\n');
      assert.match(runs, /alice:\*\*\*@/, `the catalog records the error, redacted: ${runs}`);
      assert.ok(!runs.includes('s3cret-pw'), runs);
      // and the URL given with --db, when the server cannot be reached
      const c = spawnSync(process.execPath, [CLI, '--db', 'postgres://bob:db-s3cret@127.0.0.1:1/x', 'sql', 'SELECT 1'], { encoding: 'utf8' });
      assert.equal(c.status, 1);
      assert.match(c.stderr, /error \[CONNECTION_FAILED\]: connecting to postgres:\/\/bob:\*\*\*@127\.0\.0\.1:1\/x/);
      assert.ok(!c.stderr.includes('db-s3cret'));
    } finally {
      await db.close();
    }
  });

  it('an unreachable server: CONNECTION_FAILED, the URL in the message without its password', async () => {
    const bad = await open('postgres://someone:s3cret-pw@127.0.0.1:1/x').catch((e: ManyModelsError) => e);
    assert.ok(bad instanceof ManyModelsError);
    assert.equal(bad.code, 'CONNECTION_FAILED');
    assert.match(bad.message, /connecting to postgres:\/\/someone:\*\*\*@127\.0\.0\.1:1\/x: the database connection failed: connect ECONNREFUSED/);
    assert.ok(!bad.message.includes('s3cret-pw'), bad.message);
    // a wrong password: error-code-pins.test.ts (AUTHENTICATION_FAILED)
  });
});
