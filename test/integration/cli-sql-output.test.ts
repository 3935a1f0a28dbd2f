/**
 * `manymodels sql` prints what PostgreSQL prints (issue 9, items 8 and 15), on PGlite and on a
 * PostgreSQL server, checked against PostgreSQL itself: each value against its own `::text` cast,
 * the CSV against `COPY ... TO STDOUT (FORMAT csv)` of the same query. Results stream (a child
 * with a 48 MB heap exports 300k rows of 100+ bytes), and text holding several statements is
 * refused with MULTIPLE_STATEMENTS on both backends, running none of them.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { open } from 'manymodels';
import { freshDatabaseUrl } from '../helpers/backends.js';

const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'manymodels-sqlout-'));
after(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[], opts: { nodeFlags?: string[]; env?: Record<string, string> } = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(opts.nodeFlags ?? []), CLI, ...args], { cwd: work, env: { ...process.env, ...opts.env } });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out: Buffer.concat(out).toString('utf8'), err });
    });
  });
}

/** Values whose text forms the old output got wrong, or that need quoting. */
const TRICKY = `
  SELECT * FROM (VALUES
    (1, '2024-01-01 12:00:00'::timestamp, '[1, 2.50, "x"]'::jsonb, '\\x00ff41'::bytea, NULL::text, ''::text, 12345678901234567890123::numeric, ARRAY[1.5, NULL]::float8[], 'a,"b"'::text, interval '1 day 2 hours', true),
    (2, '1999-12-31 23:59:59.5'::timestamp, '{"k": [true, null]}'::jsonb, '\\x'::bytea, 'NULL', ' ', -0.000100::numeric, '{}'::float8[], E'two\\nlines', interval '-3 months', false),
    (3, NULL, NULL, NULL, '\\.', NULL, NULL, NULL, NULL, NULL, NULL)
  ) AS v(id, ts, j, b, n, e, big, arr, q, iv, flag)`;

for (const kind of ['pglite', 'postgres'] as const) {
  describe(`manymodels sql on ${kind}`, () => {
    let db = '';
    before(async () => {
      if (kind === 'postgres') db = await freshDatabaseUrl();
      else {
        db = join(work, 'embedded');
        writeFileSync(join(work, 'seed.csv'), 'x\n1\n');
        const r = await run(['--db', db, 'import', join(work, 'seed.csv'), '--into', 'seed']);
        assert.equal(r.code, 0, r.err);
      }
      const h = await open(db);
      try {
        await h.exec('CREATE TABLE nums (x int); INSERT INTO nums VALUES (1), (NULL), (3)');
      } finally {
        await h.close();
      }
    });

    it('keeps columns that share a name apart, in every format', async () => {
      let r = await run(['--db', db, 'sql', 'select 1 as a, 2 as a']);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, ' a | a\n---+---\n 1 | 2\n(1 row)\n');
      r = await run(['--db', db, 'sql', 'select 1 as a, 2 as a', '--format', 'csv']);
      assert.equal(r.out, 'a,a\n1,2\n');
      r = await run(['--db', db, 'sql', 'select count(*), count(x) from nums', '--format', 'json']);
      assert.deepEqual(JSON.parse(r.out), [{ count: 3, count_2: 2 }]);
    });

    it('prints every value as PostgreSQL casts it to text, whatever the client time zone', async () => {
      const cols = ['ts', 'j', 'b', 'n', 'e', 'big', 'arr', 'q', 'iv', 'flag'];
      const sql = `SELECT ${cols.map((c) => `${c}, ${c}::text AS ${c}`).join(', ')} FROM (${TRICKY}) t ORDER BY id`;
      const r = await run(['--db', db, 'sql', sql, '--format', 'json'], { env: { TZ: 'Pacific/Kiritimati' } });
      assert.equal(r.code, 0, r.err);
      const rows = JSON.parse(r.out) as Record<string, unknown>[];
      assert.equal(rows.length, 3);
      for (const row of rows) {
        for (const c of cols) {
          const value = row[c];
          const text = row[`${c}_2`];
          // json keeps numbers, booleans, arrays and json as JSON; everything else is the text itself
          if (c === 'j' || c === 'arr' || c === 'big' || c === 'flag') {
            if (text === null) assert.equal(value, null);
            else if (c === 'flag') assert.equal(value, text === 'true');
            else if (c === 'big') assert.equal(String(value), String(Number(text)));
            else assert.deepEqual(value, c === 'arr' ? JSON.parse((text as string).replace(/^\{/, '[').replace(/\}$/, ']').replaceAll('NULL', 'null')) : JSON.parse(text as string));
          } else assert.equal(value, text, `${c}: ${JSON.stringify(value)} vs ${JSON.stringify(text)}`);
        }
      }
      assert.equal(rows[0].ts, '2024-01-01 12:00:00');
      assert.equal(rows[0].b, '\\x00ff41');
      assert.match(r.out, /"big": 12345678901234567890123\b/, 'numeric keeps every digit');
      const table = await run(['--db', db, 'sql', 'SELECT ts, j FROM (' + TRICKY + ') t WHERE id = 1'], { env: { TZ: 'America/New_York' } });
      assert.match(table.out, /2024-01-01 12:00:00 \| \[1, 2.50, "x"\]/);
    });

    it('writes CSV exactly as COPY ... (FORMAT csv) does: NULL empty, the empty string quoted', async () => {
      const r = await run(['--db', db, 'sql', `${TRICKY} ORDER BY id`, '--format', 'csv']);
      assert.equal(r.code, 0, r.err);
      const h = await open(db);
      let copy = '';
      try {
        const dec = new TextDecoder();
        for await (const chunk of h.database.main.copyOut(`(${TRICKY} ORDER BY id)`, 'csv')) copy += dec.decode(chunk, { stream: true });
      } finally {
        await h.close();
      }
      const [header, ...rest] = r.out.split('\n');
      assert.equal(header, 'id,ts,j,b,n,e,big,arr,q,iv,flag');
      assert.equal(rest.join('\n'), copy);
      assert.match(copy, /^1,.*,,"",/m, 'the oracle itself tells NULL from the empty string');
      const one = `SELECT q FROM (VALUES (1, '\\.'), (2, ''), (3, NULL)) v(i, q) ORDER BY i`;
      const single = await run(['--db', db, 'sql', one, '--format', 'csv']);
      const h2 = await open(db);
      let copy1 = '';
      try {
        for await (const chunk of h2.database.main.copyOut(`(${one})`, 'csv')) copy1 += new TextDecoder().decode(chunk);
      } finally {
        await h2.close();
      }
      assert.equal(single.out, `q\n${copy1}`);
      assert.equal(copy1, '"\\."\n""\n\n');
    });

    it('prints a bigint above 2^53 exactly in JSON', async () => {
      const r = await run(['--db', db, 'sql', "SELECT 9007199254740993::bigint AS big, '-9223372036854775808'::bigint AS low", '--format', 'json']);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /"big": 9007199254740993, "low": -9223372036854775808/);
    });

    it('refuses several statements with MULTIPLE_STATEMENTS and runs none of them', async () => {
      let r = await run(['--db', db, 'sql', 'SELECT 1; SELECT 2']);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /error \[MULTIPLE_STATEMENTS\]: .*several SQL statements/);
      r = await run(['--db', db, 'sql', 'CREATE TABLE one_of_two (x int); CREATE TABLE two_of_two (x int)']);
      assert.equal(r.code, 1);
      assert.match(r.err, /MULTIPLE_STATEMENTS/);
      const h = await open(db);
      try {
        const t = await h.sql<{ a: string | null; b: string | null }>("SELECT to_regclass('one_of_two')::text AS a, to_regclass('two_of_two')::text AS b");
        assert.deepEqual(t.rows, [{ a: null, b: null }]);
        await assert.rejects(h.sql('SELECT 1 AS a; SELECT 2 AS b'), (e: { code?: string }) => e.code === 'MULTIPLE_STATEMENTS');
      } finally {
        await h.close();
      }
    });

    it('runs statements that are not queries, with or without rows', async () => {
      let r = await run(['--db', db, 'sql', 'CREATE TABLE made (x int)']);
      assert.equal(r.code, 0, r.err);
      r = await run(['--db', db, 'sql', 'INSERT INTO made VALUES (1), (2)']);
      assert.equal(r.out, 'OK (2 rows)\n');
      r = await run(['--db', db, 'sql', 'INSERT INTO made VALUES (3) RETURNING x, x * 2 AS y', '--format', 'csv']);
      assert.equal(r.out, 'x,y\n3,6\n');
      r = await run(['--db', db, 'sql', 'VACUUM made']);
      assert.equal(r.code, 0, r.err);
      r = await run(['--db', db, 'sql', 'SELECT sum(x) AS s FROM made WHERE x > 0', '--format', 'csv']);
      assert.equal(r.out, 's\n6\n');
      r = await run(['--db', db, 'sql', 'SELECT x FROM made WHERE false', '--format', 'json']);
      assert.equal(r.out, '[]\n');
    });

    it('stops quietly when the reader closes the pipe (| head)', async () => {
      const r = await new Promise<{ code: number | null; err: string; first: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [CLI, '--db', db, 'sql', 'SELECT g FROM generate_series(1, 3000000) g', '--format', 'csv'], { cwd: work });
        let err = '';
        let first = '';
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        const read = (d: Buffer): void => {
          first += d.toString();
          if (!/\n2\n/.test(first)) return;
          child.stdout.off('data', read);
          child.stdout.destroy(); // as head does after its lines
        };
        child.stdout.on('data', read);
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, err, first }));
      });
      assert.match(r.first, /^g\n1\n2\n/);
      assert.equal(r.err, '', 'no stack trace');
      assert.equal(r.code, 0);
    });

    it('streams a large result in bounded memory (a 48 MB heap exports 300k rows)', async () => {
      const r = await run(['--db', db, 'sql', "SELECT g, repeat('x', 100) || g AS s, g * 0.5 AS h FROM generate_series(1, 300000) g", '--format', 'json'], { nodeFlags: ['--max-old-space-size=48'] });
      assert.equal(r.code, 0, r.err.slice(0, 500));
      const lines = r.out.split('\n');
      assert.equal(lines.length, 300003);
      assert.equal(lines[300000], `  {"g": 300000, "s": "${'x'.repeat(100)}300000", "h": 150000.0}`);
    });
  });
}
