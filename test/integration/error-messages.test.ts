/**
 * Where a raw database error leaked, a code and a hint now stand (issue 9, item 16), on PGlite and a
 * PostgreSQL server; and the command line names its own flags, not the library's options.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import pg from 'pg';
import { open } from 'manymodels';
import { backends, freshDatabaseUrl } from '../helpers/backends.js';

const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;

function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

const SETUP = `
  CREATE TABLE offer (userid int, asktimes int, askbackoffdays int, bought_offer int);
  INSERT INTO offer SELECT u, 1 + (u * 7 + i * 3) % 10, 1 + (u + i * 5) % 14, (u + i) % 2 FROM generate_series(1, 4) u, generate_series(1, 8) i;
  CREATE TABLE offer_text AS SELECT userid::text AS userid, asktimes, askbackoffdays FROM offer;
  CREATE TABLE clash ("status" int, x float8, y int);
  INSERT INTO clash VALUES (1, 1, 0), (1, 2, 1);`;

const TRAIN = { from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'models' } as const;

for (const b of backends) {
  describe(`error codes instead of raw database errors on ${b.name}`, () => {
    it('predict with a group column that the models table does not have', async () => {
      const db = await b.open();
      try {
        await db.exec(SETUP);
        await db.train(TRAIN);
        await assert.rejects(
          db.predict({ models: 'models', from: { query: 'SELECT userid AS u2, asktimes, askbackoffdays FROM offer' }, group: 'u2', into: 'p' }),
          (e: { code?: string; message: string }) => {
            assert.equal(e.code, 'COLUMN_NOT_FOUND');
            assert.match(e.message, /group key column "u2" is not a column of the models table models, whose group key is "userid"/);
            assert.doesNotMatch(e.message, /LATERAL/);
            return true;
          },
        );
        await assert.rejects(db.predict({ models: 'models', from: 'offer_text', into: 'p' }), (e: { code?: string; message: string }) => {
          assert.equal(e.code, 'KEY_TYPE_MISMATCH');
          assert.match(e.message, /group key column "userid" is integer in the models table models but text in the scoring source offer_text/);
          assert.match(e.message, /hint: cast it in a query: SELECT "userid"::integer AS "userid"/);
          assert.doesNotMatch(e.message, /operator does not exist/);
          return true;
        });
        const gone = await db.sql<{ t: string | null }>("SELECT to_regclass('p')::text AS t");
        assert.deepEqual(gone.rows, [{ t: null }], 'nothing was written');
      } finally {
        await db.close();
      }
    });

    it('parameters and hints say what is wrong in words that apply', async () => {
      const db = await b.open();
      try {
        await db.exec(SETUP);
        await assert.rejects(db.train({ ...TRAIN, params: { C: JSON.parse('1e400') as number } }), /parameter 'C' must be a finite number > 0, got Infinity/);
        await assert.rejects(db.train({ ...TRAIN, strategy: 'in-database', params: { classWeight: 'balanced' } }), (e: { code?: string; hint?: string }) => {
          assert.equal(e.code, 'USAGE');
          assert.doesNotMatch(e.hint ?? '', /sample weight/i, 'there is no sample-weight option to point to');
          assert.match(e.hint ?? '', /streaming strategy/);
          return true;
        });
        await assert.rejects(db.train({ ...TRAIN, from: 'clash', group: 'status', features: ['x'], label: 'y' }), (e: { code?: string; hint?: string }) => {
          assert.equal(e.code, 'NAME_CLASH');
          assert.equal(e.hint, 'rename it in a query: SELECT "status" AS "status_key", ... FROM ...');
          return true;
        });
        await assert.rejects(db.sql('SELECT * FROM nosuch'), (e: { code?: string; hint?: string }) => {
          assert.equal(e.code, 'TABLE_NOT_FOUND');
          assert.doesNotMatch(e.hint ?? '', /library/);
          return true;
        });
      } finally {
        await db.close();
      }
    });
  });
}

describe('the command line speaks of its own flags', () => {
  it('names --min-rows, --max-group-rows, --workers and --batch-groups as typed', async () => {
    const url = await freshDatabaseUrl();
    const db = await open(url);
    await db.exec(SETUP);
    await db.close();
    const base = ['--db', url, 'train', '--from', 'offer', '--group', 'userid', '--features', 'asktimes', '--label', 'bought_offer', '--into', 'm'];
    for (const [flag, value, min] of [['--min-rows', 'abc', 1], ['--max-group-rows', '0', 1], ['--workers', '-1', 0], ['--batch-groups', '2.5', 1]] as const) {
      const r = await run([...base, flag, value]);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, new RegExp(`error \\[INVALID_OPTION\\]: ${flag} must be a whole number ≥ ${min}, got "${value.replace('.', '\\.')}"`));
      assert.doesNotMatch(r.err, /minRows|maxGroupRows|batchGroups|(^|[^-])workers must/);
    }
    const r = await run([...base, '--param', 'C=1e400']);
    assert.equal(r.code, 1);
    assert.match(r.err, /got Infinity/);
    const sql = await run(['--db', url, 'sql', 'SELECT * FROM nosuch']);
    assert.match(sql.err, /TABLE_NOT_FOUND/);
    assert.doesNotMatch(sql.err, /library/);
  });

  it('a role that may not log in is AUTHENTICATION_FAILED, not DATABASE_ERROR', async () => {
    const url = await freshDatabaseUrl();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const role = `mm_nologin_${process.pid}`;
    try {
      await admin.query(`CREATE ROLE ${role} NOLOGIN PASSWORD 'pw'`);
      const u = new URL(url);
      u.username = role;
      u.password = 'pw';
      const r = await run(['--db', u.toString(), 'sql', 'SELECT 1']);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /error \[AUTHENTICATION_FAILED\]: .*is not permitted to log in/);
      assert.match(r.err, /hint: check the user name in the URL/);
      assert.ok(!r.err.includes(':pw@'), 'no password in the message');
    } finally {
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  });
});
