import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { type ManyModels, ManyModelsError, open } from 'manymodels';
import { backends, freshDatabaseUrl } from '../helpers/backends.js';
import { clearFaults, doAt } from '../helpers/faults.js';
import { OFFER_SQL } from '../helpers/offers.js';
import { snapshot } from '../helpers/snapshot.js';

/**
 * Every code of docs/errors.md pinned by a test that accepts that code and no other. The codes
 * that bad-input.test.ts (its CASES) and the fault tests already pin are mapped to their file at
 * the end; the rest are pinned here, one test named after each code.
 */
type Row = Record<string, any>;
const base = { from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'models' };
const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;

/** Rejects with exactly `code`, message matching `message`, and leaves the database as it was. */
async function pinned(db: ManyModels, code: string, message: RegExp, run: () => Promise<unknown>): Promise<void> {
  const before = await snapshot(db);
  await assert.rejects(run(), (e: unknown) => {
    assert.ok(e instanceof ManyModelsError, `not a ManyModelsError: ${e}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  });
  assert.deepEqual(await snapshot(db), before, 'the database is exactly as it was');
}

/** Group failures of a run, as SQL sees them in the models table: code → groups. */
async function failedGroups(db: ManyModels, table: string): Promise<Record<string, number[]>> {
  const rows = (await db.sql<Row>(`SELECT split_part(error, ':', 1) AS code, array_agg(userid ORDER BY userid) AS g FROM ${table} WHERE status = 'failed' GROUP BY 1 ORDER BY 1`)).rows;
  return Object.fromEntries(rows.map((r) => [r.code, r.g]));
}

for (const backend of backends) {
  describe(`error codes on ${backend.name}`, () => {
    let db: ManyModels;
    before(async () => {
      db = await backend.open();
      await db.exec(OFFER_SQL(60));
    });
    after(async () => {
      clearFaults();
      await db?.close();
    });

    for (const strategy of ['streaming', 'in-database'] as const) {
      it(`TOO_FEW_ROWS: groups with fewer usable rows than minRows fail alone (${strategy}), as SQL counts them`, async () => {
        const r = await db.train({ ...base, into: `few_${strategy.replace('-', '_')}`, minRows: 9, strategy });
        const expect = (await db.sql<Row>(`SELECT array_agg(userid ORDER BY userid) AS g FROM (SELECT userid FROM offer WHERE userid IS NOT NULL GROUP BY userid
            HAVING count(*) FILTER (WHERE asktimes IS NOT NULL AND askbackoffdays IS NOT NULL AND bought_offer IS NOT NULL) < 9) q`)).rows[0].g as number[];
        assert.ok(expect.length > 0 && expect.length < 60, `the data has groups on both sides of the limit (${expect.length})`);
        const failed = await failedGroups(db, `few_${strategy.replace('-', '_')}`);
        assert.deepEqual(failed.TOO_FEW_ROWS, expect);
        const f = r.failures.find((x) => x.code === 'TOO_FEW_ROWS');
        assert.equal(f?.count, expect.length);
        assert.match(f!.example, /^TOO_FEW_ROWS: the group has \d+ usable rows?; at least 9 are needed$/);
      });
    }

    it('SOLVER_FAILED: no finite optimum (C = 1e308 overflows the objective) fails each group, and the run goes on', async () => {
      const r = await db.train({ ...base, into: 'overflow', params: { C: 1e308 } });
      const failed = await failedGroups(db, 'overflow');
      const twoClass = (await db.sql<Row>(`SELECT array_agg(userid ORDER BY userid) AS g FROM (SELECT userid FROM offer WHERE userid IS NOT NULL AND asktimes IS NOT NULL AND bought_offer IS NOT NULL GROUP BY userid HAVING count(DISTINCT bought_offer) = 2) q`)).rows[0].g;
      assert.deepEqual(failed.SOLVER_FAILED, twoClass);
      assert.equal(r.groupsOk, 0);
      assert.match(r.failures.find((x) => x.code === 'SOLVER_FAILED')!.example, /the solver found no finite optimum/);
    });

    it('CANCELLED: an AbortSignal that has fired before the run', async () => {
      await pinned(db, 'CANCELLED', /the run was cancelled \(stop\); the previous table, if any, is unchanged/, () => db.train({ ...base, signal: AbortSignal.abort('stop') }));
    });

    it('CANCELLED: an AbortSignal fired while the rows stream (at the first batch), the run marked cancelled', async () => {
      await db.train(base);
      const ac = new AbortController();
      doAt('read:1', () => ac.abort('mid-run'));
      try {
        await pinned(db, 'CANCELLED', /the run was cancelled \(mid-run\)/, () => db.train({ ...base, batchGroups: 5, signal: ac.signal }));
      } finally {
        clearFaults();
      }
      const last = (await db.sql<Row>(`SELECT status FROM manymodels.runs ORDER BY started_at DESC LIMIT 1`)).rows[0];
      assert.equal(last.status, 'cancelled');
    });

    it('USAGE: an unknown predict engine', async () => {
      await db.train(base);
      await pinned(db, 'USAGE', /unknown engine 'gpu'/, () => db.predict({ models: 'models', from: 'offer', into: 'scores', engine: 'gpu' as never }));
    });

    for (const [option, value, message] of [
      ['workers', -1, /workers must be an integer ≥ 0, got -1/],
      ['workers', 1.5, /workers must be an integer ≥ 0, got 1\.5/],
      ['batchGroups', 0, /batchGroups must be an integer ≥ 1, got 0/],
      ['maxGroupRows', 0, /maxGroupRows must be an integer ≥ 1, got 0/],
      ['minRows', 2.5, /minRows must be an integer ≥ 1, got 2\.5/],
    ] as const) {
      it(`INVALID_OPTION: ${option} = ${value}`, async () => {
        await pinned(db, 'INVALID_OPTION', message, () => db.train({ ...base, [option]: value }));
      });
    }

    it('DEPENDENT_OBJECTS: dropping a table a view depends on is refused; the table stays', async () => {
      // (a retrain keeps such a view since issue 9, item 10: retrain-keeps.test.ts)
      await db.train({ ...base, into: 'viewed' });
      await db.exec('CREATE VIEW viewed_v AS SELECT userid FROM viewed');
      try {
        await pinned(db, 'DEPENDENT_OBJECTS', /depends on|depend on/, () => db.exec('DROP TABLE viewed'));
      } finally {
        await db.exec('DROP VIEW viewed_v');
      }
    });
  });
}

describe('error codes of connections and the command line', () => {
  it('AUTHENTICATION_FAILED: a wrong password, which appears in no message', async () => {
    const u = new URL(process.env.MANYMODELS_TEST_PG_URL as string);
    u.password = 'wrong-s3cret';
    const e = await open(u.toString()).catch((x: ManyModelsError) => x);
    assert.ok(e instanceof ManyModelsError);
    assert.equal(e.code, 'AUTHENTICATION_FAILED', e.message);
    assert.match(e.message, new RegExp(`password authentication failed for user "${decodeURIComponent(u.username)}"`));
    assert.ok(!e.message.includes('wrong-s3cret'), e.message);
  });

  it('NO_MODEL_FITTED: every group failed, exit 1, and the table is written with the reasons', async () => {
    const url = await freshDatabaseUrl();
    const db = await open(url);
    await db.exec(OFFER_SQL(6));
    await db.close();
    const r = spawnSync(process.execPath, [CLI, '--db', url, '--quiet', 'train', '--from', 'SELECT userid, asktimes, 0 AS y FROM offer', '--group', 'userid', '--features', 'asktimes', '--label', 'y', '--into', 'none_ok'], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /manymodels: error \[NO_MODEL_FITTED\]: no group could be fitted: all 6 failed \(the reasons are in the error column of none_ok\)/);
    const check = await open(url);
    try {
      assert.deepEqual((await check.sql<Row>(`SELECT count(*)::int AS n, min(error) AS e FROM none_ok WHERE status = 'failed'`)).rows[0], { n: 6, e: 'SINGLE_CLASS: This solver needs samples of at least 2 classes in the data, but the data contains only one class: 0' });
    } finally {
      await check.close();
    }
  });
});

describe('SQLSTATEs with a code of their own, on PostgreSQL', () => {
  it('FUNCTION_NOT_FOUND, TYPE_MISMATCH and LOCK_NOT_AVAILABLE from the server, through db.sql', async () => {
    const url = await freshDatabaseUrl();
    const db = await open(url);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const code = (sql: string) => db.sql(sql).then(() => 'none', (e: ManyModelsError) => `${e.code}: ${e.message.split('\n')[0]}`);
      assert.match(await code('SELECT manymodels_nosuch(1)'), /^FUNCTION_NOT_FOUND: .*function manymodels_nosuch\(integer\) does not exist/);
      assert.match(await code(`SELECT CASE WHEN random() < 2 THEN 1 ELSE 'a'::text END`), /^TYPE_MISMATCH: CASE types (integer and text|text and integer) cannot be matched/);
      await db.exec('CREATE TABLE held (a int)');
      await admin.query('BEGIN');
      await admin.query('LOCK TABLE held IN ACCESS EXCLUSIVE MODE');
      // the server gives up waiting for the lock (lock_timeout), which is not a wait on a clock here
      await db.sql(`SET lock_timeout = '50ms'`);
      assert.match(await code('SELECT * FROM held'), /^LOCK_NOT_AVAILABLE: canceling statement due to lock timeout/);
      await admin.query('ROLLBACK');
    } finally {
      await admin.end();
      await db.close();
    }
  });
});

describe('PERMISSION_DENIED, on PostgreSQL', () => {
  it('PERMISSION_DENIED: a retrain of a table another role owns is refused before any work, and the server refusing a privilege gives the code too', async () => {
    const url = await freshDatabaseUrl();
    const admin = await open(url);
    const tag = randomBytes(3).toString('hex');
    const owner = `mm_owner_${tag}`;
    const user = `mm_user_${tag}`;
    const other = new URL(url);
    other.username = user;
    other.password = 'pw';
    let db: ManyModels | null = null;
    try {
      await admin.exec(`CREATE TABLE offer AS SELECT 1 + g % 20 AS userid, 1 + g % 10 AS asktimes, 1 + (g * 3) % 14 AS askbackoffdays, (g * 7 + g / 20) % 2 AS bought_offer FROM generate_series(0, 399) AS g`);
      await admin.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'm' });
      await admin.exec(`CREATE ROLE ${owner} NOLOGIN`);
      await admin.exec(`CREATE ROLE ${user} LOGIN PASSWORD 'pw'`);
      await admin.exec(`ALTER TABLE m OWNER TO ${owner}`);
      await admin.exec(`GRANT ALL ON m, offer TO ${user}`);
      await admin.exec(`GRANT ALL ON SCHEMA public, manymodels TO ${user}`);
      await admin.exec(`GRANT ALL ON ALL TABLES IN SCHEMA manymodels TO ${user}`);
      await admin.exec('CREATE TABLE secret (a int)');
      const before = (await admin.sql<Row>(`SELECT md5(string_agg(m::text, ',' ORDER BY userid)) AS h, 'm'::regclass::oid AS o FROM m`)).rows[0];
      db = await open(other.toString());
      const e = await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'm' }).then(() => null, (x: ManyModelsError) => x);
      assert.equal(e?.code, 'PERMISSION_DENIED', e?.message);
      assert.match(e.message, new RegExp(`the output table m belongs to the role "${owner}", and a run replaces it`));
      assert.match(e.hint ?? '', /connect as .*ALTER TABLE \.\.\. OWNER TO/);
      const after = (await admin.sql<Row>(`SELECT md5(string_agg(m::text, ',' ORDER BY userid)) AS h, 'm'::regclass::oid AS o FROM m`)).rows[0];
      assert.deepEqual(after, before, 'the table is as it was');
      assert.equal((await admin.sql<Row>(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'mm_stage_%'`)).rows[0].n, 0);
      const denied = await db.sql('SELECT * FROM secret').then(() => null, (x: ManyModelsError) => x);
      assert.equal(denied?.code, 'PERMISSION_DENIED');
      assert.match(denied.message, /permission denied for table secret/);
    } finally {
      await db?.close();
      await admin.exec(`DROP OWNED BY ${owner}, ${user} CASCADE; DROP ROLE ${owner}; DROP ROLE ${user}`).catch(() => undefined);
      await admin.close();
    }
  });
});

describe('docs/errors.md and the tests', () => {
  /** Codes pinned exactly in other files (code → file). */
  const ELSEWHERE: Record<string, string> = {
    TABLE_NOT_FOUND: 'bad-input', SCHEMA_NOT_FOUND: 'bad-input', COLUMN_NOT_FOUND: 'bad-input', FEATURES_NOT_NUMERIC: 'bad-input',
    LABEL_NOT_NUMERIC: 'bad-input', LABEL_NOT_USABLE: 'bad-input', NO_GROUPS: 'bad-input', OUTPUT_TABLE_NOT_MANAGED: 'bad-input',
    NAME_CLASH: 'bad-input', UNKNOWN_ESTIMATOR: 'bad-input', UNKNOWN_DIALECT: 'bad-input', INVALID_PARAMETER: 'bad-input',
    SQL_SYNTAX_ERROR: 'bad-input', DATABASE_ERROR: 'bad-input', NOT_A_MODELS_TABLE: 'bad-input', INVALID_MODEL_DOCUMENT: 'bad-input',
    FEATURE_COUNT_MISMATCH: 'bad-input', FILE_NOT_FOUND: 'bad-input', CSV_EMPTY: 'bad-input', CSV_RAGGED: 'bad-input',
    CSV_INVALID: 'bad-input', TABLE_EXISTS: 'bad-input', CONNECTION_FAILED: 'bad-input', DATABASE_BUSY: 'cli',
    OUTPUT_LOCKED: 'faults', CONNECTION_LOST: 'faults', WORKER_CRASHED: 'faults', SINGLE_CLASS: 'train-predict',
    NON_FINITE_INPUT: 'train-predict', INVALID_GROUP: 'train-predict', UNSUPPORTED: 'in-database',
    KEY_NOT_ORDERABLE: 'group-keys', KEY_PARTLY_NULL: 'group-keys', KEY_TOO_LONG: 'group-keys', MULTIPLE_STATEMENTS: 'cli-sql-output', KEY_TYPE_MISMATCH: 'error-messages',
    INVALID_VALUE: 'bad-input', INVALID_DATABASE_URL: 'cli-database-target', DATABASE_NOT_FOUND: 'cli-database-target',
    CONNECTION_TIMEOUT: 'cli-database-target', CONTINUOUS_LABEL: 'labels', PERFECT_SEPARATION: 'labels', NOT_EVALUATED: 'evaluation', NOT_FITTED: '../unit/estimator-api',
    CONVERGENCE: '../unit/estimator-api', TOO_MANY_FEATURES: 'wide-models', NOT_A_RECOMMENDATIONS_TABLE: 'report', VALUE_OUT_OF_RANGE: 'training-extremes', OUTPUT_TABLE_DEPENDENCY: 'retrain-keeps', DEMO_SCHEMA_EXISTS: 'demo-own-schema', POOLED: 'pooling', VERSION_NOT_FOUND: 'versions',
    EMPTY_INPUT: '../unit/core-error-pins', INVALID_INPUT: '../unit/core-error-pins', RAGGED_INPUT: '../unit/core-error-pins',
    SHAPE_MISMATCH: '../unit/core-error-pins', LENGTH_MISMATCH: '../unit/core-error-pins', INVALID_LABEL: '../unit/core-error-pins',
    INVALID_SAMPLE_WEIGHT: '../unit/core-error-pins', COPY_FORMAT: '../unit/core-error-pins',
    MODEL_NOT_LOADED: 'scorer', MODEL_NOT_SUPPORTED: 'export', OUTPUT_EXISTS: 'export',
    GROUP_NOT_FOUND: 'show', TOO_MANY_FAILED: 'show',
  };
  /** Codes no test can provoke on purpose, with the reason. */
  const UNPINNABLE: Record<string, string> = {
    INTERNAL: 'the reason of a group whose fit threw something that is not a ManyModelsError: a bug, which no input provokes',
  };
  it('every code the document lists is pinned by a test, here or in the file named', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const codes = new Set([...doc.matchAll(/^\| (`[A-Z_]+`(?:, `[A-Z_]+`)*) \|/gm)].flatMap((m) => m[1].split(', ').map((c) => c.slice(1, -1))));
    assert.ok(codes.size >= 35, `codes read from docs/errors.md: ${[...codes]}`);
    const here = readFileSync(new URL(import.meta.url), 'utf8');
    for (const code of codes) {
      if (code in UNPINNABLE) continue;
      const file = ELSEWHERE[code];
      if (file === undefined) {
        assert.match(here, new RegExp(`it\\([\`']${code}\\b|it\\('[^'\\n]*\\b${code}\\b`), `${code} has a test named after it in error-code-pins.test.ts`);
        continue;
      }
      const text = readFileSync(new URL(`./${file}.test.ts`, import.meta.url), 'utf8');
      assert.match(text, new RegExp(`(code: |=== |\\[|equal\\([^,]+, |/\\^|it\\(')'?${code}\\b`), `${code} is pinned in ${file}.test.ts`);
    }
  });
});
