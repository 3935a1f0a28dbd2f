/**
 * Which database a command opens (issue 9, item 14): a mistyped --db is refused instead of becoming
 * an embedded database in a directory of that name; only import, train and demo create an embedded
 * database; DATABASE_URL and MANYMODELS_DB give the default; a port that does not speak PostgreSQL
 * gives CONNECTION_TIMEOUT instead of a hang. Runs the built CLI as a child process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freshDatabaseUrl } from '../helpers/backends.js';

const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'manymodels-dbtarget-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Ran { code: number; out: string; err: string; ms: number }

/** Runs the CLI without blocking this process (the silent server below must keep accepting). */
function run(args: string[], opts: { cwd: string; env?: Record<string, string | undefined> }): Promise<Ran> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.DATABASE_URL;
  delete env.MANYMODELS_DB;
  delete env.PGCONNECT_TIMEOUT;
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v === undefined) delete env[k]; else env[k] = v;
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out, err, ms: performance.now() - t0 });
    });
  });
}

function freshDir(name: string): string {
  const d = join(work, name);
  rmSync(d, { recursive: true, force: true });
  return mkdtempSync(`${d}-`);
}

describe('--db and the default database', () => {
  it('refuses a URL that is not postgres:// and creates nothing', async () => {
    const cwd = freshDir('typo');
    for (const db of ['postgres:/127.0.0.1/x', 'mysql://root:hunter2@127.0.0.1/x', 'postgress://127.0.0.1/x']) {
      for (const args of [['sql', 'SELECT 1'], ['train', '--from', 't', '--group', 'g', '--features', 'x', '--label', 'y', '--into', 'm']]) {
        const r = await run(['--db', db, ...args], { cwd });
        assert.equal(r.code, 2, `${db} ${args[0]}: ${r.err}`);
        assert.match(r.err, /error \[INVALID_DATABASE_URL\]: .* is not a database manymodels can open/);
        assert.match(r.err, /hint: give a postgres:\/\/user@host:port\/database URL/);
        assert.ok(!r.err.includes('hunter2'), 'the password is not printed');
      }
    }
    assert.deepEqual(readdirSync(cwd), [], 'no directory was created for the mistyped URL');
  });

  it('read-only commands do not create an embedded database', async () => {
    const cwd = freshDir('readonly');
    for (const args of [['runs'], ['models', 'm'], ['sql', 'SELECT 1'], ['predict', '--models', 'm', '--from', 't', '--into', 'p']]) {
      const r = await run(args, { cwd });
      assert.equal(r.code, 1, `${args[0]}: ${r.err}`);
      assert.match(r.err, /error \[DATABASE_NOT_FOUND\]: there is no embedded database in .*\.manymodels\/db/, args[0]);
      assert.match(r.err, /hint: .*import/);
    }
    const other = join(cwd, 'elsewhere');
    const r = await run(['--db', other, 'runs'], { cwd });
    assert.equal(r.code, 1);
    assert.match(r.err, /DATABASE_NOT_FOUND/);
    assert.deepEqual(readdirSync(cwd), [], 'nothing was created');
  });

  it('import creates the embedded database, and then the read-only commands see it', async () => {
    const cwd = freshDir('creates');
    writeFileSync(join(cwd, 'a.csv'), 'g,x\n1,2\n');
    let r = await run(['import', 'a.csv', '--into', 't'], { cwd });
    assert.equal(r.code, 0, r.err);
    assert.ok(existsSync(join(cwd, '.manymodels', 'db', 'PG_VERSION')));
    r = await run(['sql', 'SELECT x FROM t', '--format', 'csv'], { cwd });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'x\n2\n');
  });

  it('takes the database from MANYMODELS_DB, else DATABASE_URL, when --db is not given', async () => {
    const cwd = freshDir('env');
    const url = await freshDatabaseUrl();
    const name = new URL(url).pathname.slice(1);
    let r = await run(['sql', 'SELECT current_database() AS db', '--format', 'csv'], { cwd, env: { DATABASE_URL: url } });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `db\n${name}\n`);
    const dir = join(cwd, 'mine');
    writeFileSync(join(cwd, 'b.csv'), 'g\n7\n');
    r = await run(['import', 'b.csv', '--into', 'only_here'], { cwd, env: { DATABASE_URL: url, MANYMODELS_DB: dir } });
    assert.equal(r.code, 0, r.err);
    assert.ok(existsSync(join(dir, 'PG_VERSION')), 'MANYMODELS_DB wins over DATABASE_URL');
    r = await run(['sql', 'SELECT to_regclass($$only_here$$) IS NULL AS absent', '--format', 'csv'], { cwd, env: { DATABASE_URL: url } });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'absent\nt\n');
    r = await run(['--db', url, 'sql', 'SELECT 1 AS one', '--format', 'csv'], { cwd, env: { MANYMODELS_DB: join(cwd, 'nowhere') } });
    assert.equal(r.code, 0, '--db wins over the environment');
  });

  it('a port that accepts but never answers gives CONNECTION_TIMEOUT, not a hang', async () => {
    const sockets = new Set<Socket>();
    const server = createServer((s) => {
      sockets.add(s);
      s.on('data', () => undefined); // reads the startup message, says nothing
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const cwd = freshDir('silent');
      let r = await run(['--db', `postgres://u:secret@127.0.0.1:${port}/x?connect_timeout=2`, 'sql', 'SELECT 1'], { cwd });
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /error \[CONNECTION_TIMEOUT\]: connecting to postgres:\/\/u:\*\*\*@127\.0\.0\.1:\d+\/x\?connect_timeout=2: no answer within 2 s/);
      assert.match(r.err, /hint: check the host and port/);
      assert.ok(r.ms < 20_000, `gave up after ${r.ms} ms`);
      r = await run(['sql', 'SELECT 1'], { cwd, env: { DATABASE_URL: `postgres://u:secret@127.0.0.1:${port}/x`, PGCONNECT_TIMEOUT: '3' } });
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /CONNECTION_TIMEOUT.*no answer within 3 s/);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});
