import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ManyModels, open } from 'manymodels';
import { cluster, freshDatabaseUrl } from '../helpers/backends.js';

/**
 * PGlite's binary COPY out (src/db/pglite.ts) reads through a BINARY cursor, a few MB at a time,
 * instead of one COPY into a Blob. Its bytes must be exactly what PostgreSQL's own
 * `COPY ... TO STDOUT (FORMAT binary)` writes for the same rows (the oracle: a real server's COPY,
 * read through node-postgres), whatever the types, NULLs and row widths; an error in the middle of
 * the read must come out as the database error; and the connection must be left as it was found
 * (no transaction open) however the read ends.
 */
const SETUP = `
CREATE TABLE wide (n int PRIMARY KEY, i int4, b int8, f float8, num numeric, t text, a float8[], ok boolean,
                   ts timestamptz, j jsonb, by bytea, k text[]);
INSERT INTO wide
SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE g * 37 - 1000 END, g::int8 * 1000003 * 1000003,
       CASE WHEN g % 11 = 0 THEN NULL ELSE g / 7.0 END, (g * 1.25)::numeric(20, 3),
       repeat(chr(65 + g % 26), g % 40) || 'é表🙂',
       CASE WHEN g % 5 = 0 THEN NULL ELSE ARRAY(SELECT (g * x)::float8 / 3 FROM generate_series(1, g % 300) x) END,
       g % 3 = 0, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute',
       jsonb_build_object('g', g, 'x', ARRAY[g, g + 1]), decode(md5(g::text), 'hex'),
       ARRAY['a' || g, NULL, '"q"']
FROM generate_series(1, 20000) g;
`;
const SELECT = `(SELECT * FROM wide ORDER BY n)`;

async function readAll(db: ManyModels, source: string): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of db.database.main.copyOut(source, 'binary')) parts.push(c.slice());
  return Buffer.concat(parts);
}

/** DECLARE without HOLD works only inside a transaction block (25P01 outside one). */
const inTransaction = async (db: ManyModels): Promise<boolean> => {
  try {
    await db.exec('DECLARE mm_probe NO SCROLL CURSOR FOR SELECT 1');
  } catch (e) {
    if ((e as { sqlState?: string }).sqlState === '25P01') return false;
    throw e;
  }
  await db.exec('CLOSE mm_probe');
  return true;
};

describe('PGlite binary COPY out through a cursor', { skip: cluster !== null ? 'not a cluster test' : false }, () => {
  it('writes byte for byte what a PostgreSQL server’s COPY TO STDOUT writes, over many fetches', async () => {
    const lite = await open();
    const server = await open(await freshDatabaseUrl());
    try {
      await lite.exec(SETUP);
      await server.exec(SETUP);
      // the rows span from a few bytes to a few KB: several fetches, each sized by the last
      const mine = await readAll(lite, SELECT);
      const theirs = await readAll(server, SELECT);
      assert.ok(theirs.length > 8 << 20, `the read is ${theirs.length} bytes, more than two fetches`);
      assert.equal(mine.length, theirs.length);
      assert.ok(mine.equals(theirs), 'the bytes differ');
      // a table name as the source, and an empty result
      assert.ok((await readAll(lite, '"wide"')).equals(await readAll(server, '"wide"')));
      const empty = await readAll(lite, '(SELECT * FROM wide WHERE false)');
      assert.ok(empty.equals(await readAll(server, '(SELECT * FROM wide WHERE false)')));
      assert.equal(empty.length, 21, 'header and trailer only');
      assert.equal(await inTransaction(lite), false);
    } finally {
      await lite.close();
      await server.close();
    }
  });

  it('an error in the middle of the read is the database error, and leaves no transaction open', async () => {
    const lite = await open();
    try {
      await assert.rejects(readAll(lite, '(SELECT g, 1 / (g - 30000) FROM generate_series(1, 40000) g)'), (e: any) => {
        assert.equal(e.code, 'DATABASE_ERROR');
        assert.equal(e.sqlState, '22012');
        assert.match(e.message, /division by zero/);
        return true;
      });
      assert.equal(await inTransaction(lite), false);
      assert.equal((await lite.sql<{ x: number }>('SELECT 1 AS x')).rows[0].x, 1);
      await assert.rejects(readAll(lite, '(SELECT * FROM no_such_table)'), (e: any) => e.code === 'TABLE_NOT_FOUND');
      assert.equal(await inTransaction(lite), false);
    } finally {
      await lite.close();
    }
  });

  it('a read in its own transaction sorts with at least 128MB of work_mem, and leaves the session’s setting as it was', async () => {
    const lite = await open();
    try {
      // the setting the read's statement runs under, as its one int8 value (binary COPY: header, count, length, value)
      const seen = async (): Promise<bigint> => {
        const bytes = await readAll(lite, `(SELECT pg_size_bytes(current_setting('work_mem')))`);
        return bytes.readBigInt64BE(19 + 2 + 4);
      };
      assert.equal(await seen(), 128n << 20n);
      assert.equal((await lite.sql<{ w: string }>("SELECT current_setting('work_mem') AS w")).rows[0].w, '4MB');
      await lite.exec(`SET work_mem = '1GB'`);
      assert.equal(await seen(), 1n << 30n, 'a session that set more keeps it');
      assert.equal((await lite.sql<{ w: string }>("SELECT current_setting('work_mem') AS w")).rows[0].w, '1GB');
      // a caller's own transaction: its setting, untouched
      await lite.exec(`SET work_mem = '2MB'`);
      await lite.exec('BEGIN');
      assert.equal(await seen(), 2n << 20n);
      await lite.exec('COMMIT');
    } finally {
      await lite.close();
    }
  });

  it('a reader that stops early leaves no transaction or cursor behind; a caller’s own transaction is kept', async () => {
    const lite = await open();
    try {
      await lite.exec(SETUP);
      for await (const chunk of lite.database.main.copyOut(SELECT, 'binary')) {
        assert.ok(chunk.length > 0);
        break;
      }
      assert.equal(await inTransaction(lite), false);
      assert.equal((await lite.sql<{ c: string }>(`SELECT count(*)::text AS c FROM pg_cursors WHERE name LIKE 'mm_out%'`)).rows[0].c, '0');
      // inside a transaction the read neither commits nor rolls back the caller's work
      await lite.exec('BEGIN');
      await lite.exec('CREATE TABLE mine (x int)');
      const bytes = await readAll(lite, '(SELECT n FROM wide ORDER BY n LIMIT 3)');
      assert.equal(bytes.length, 21 + 3 * (2 + 4 + 4));
      assert.equal(await inTransaction(lite), true);
      await lite.exec('ROLLBACK');
      assert.equal((await lite.sql<{ r: string | null }>(`SELECT to_regclass('mine')::text AS r`)).rows[0].r, null);
    } finally {
      await lite.close();
    }
  });
});
