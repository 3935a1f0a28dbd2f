import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type ManyModels, open } from 'manymodels';

/**
 * The real databases the integration tests run against.
 *
 * By default: PGlite, and the PostgreSQL server that test/run.ts starts (MANYMODELS_TEST_PG_URL).
 * In a cluster pass (test/run.ts runs the integration suite once more for each of
 * MANYMODELS_TEST_CITUS_URL and MANYMODELS_TEST_GREENPLUM_URL that is set) it sets
 * MANYMODELS_TEST_CLUSTER to 'citus' or 'greenplum' and MANYMODELS_TEST_PG_URL to the cluster's
 * coordinator: then the only backend is the cluster, and every "fresh database" is made there.
 */
export interface Backend {
  name: 'pglite' | 'postgres' | 'citus' | 'greenplum';
  /** A fresh, empty database. */
  open(): Promise<ManyModels>;
}

export type ClusterName = 'citus' | 'greenplum';

/** The cluster this pass runs on, or null for the default pass (PGlite and PostgreSQL). */
export const cluster: ClusterName | null = (() => {
  const c = process.env.MANYMODELS_TEST_CLUSTER;
  if (c === undefined || c === '') return null;
  if (c !== 'citus' && c !== 'greenplum') throw new Error(`MANYMODELS_TEST_CLUSTER must be citus or greenplum, got ${c}`);
  return c;
})();

function serverUrl(): string {
  const url = process.env.MANYMODELS_TEST_PG_URL;
  if (url === undefined) throw new Error('MANYMODELS_TEST_PG_URL is not set: run the tests with `npm test` (test/run.ts starts the server)');
  return url;
}

/** Names of the databases a test run creates: test/run.ts drops those of its own run on a cluster afterwards. */
export function testDatabasePrefix(): string {
  return `mm_test_${process.env.MANYMODELS_TEST_RUN_ID ?? 'x'}_`;
}

function withDatabase(base: string, name: string, host?: string, port?: number): string {
  const u = new URL(base);
  u.pathname = `/${name}`;
  if (host !== undefined) u.hostname = host;
  if (port !== undefined) u.port = String(port);
  return u.toString();
}

async function withClient<T>(url: string, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

/** The nodes of the Citus cluster behind `base` (a coordinator URL), read from its metadata. */
export async function citusNodes(base: string): Promise<{ coordinator: { host: string; port: number }; workers: { host: string; port: number }[] }> {
  return withClient(base, async (c) => {
    const r = await c.query<{ nodename: string; nodeport: number; groupid: number }>(
      `SELECT nodename, nodeport, groupid FROM pg_dist_node WHERE noderole = 'primary' AND isactive ORDER BY groupid`,
    );
    const coord = r.rows.find((n) => n.groupid === 0);
    const u = new URL(base);
    return {
      coordinator: coord ? { host: coord.nodename, port: coord.nodeport } : { host: u.hostname, port: Number(u.port || 5432) },
      workers: r.rows.filter((n) => n.groupid !== 0).map((n) => ({ host: n.nodename, port: n.nodeport })),
    };
  });
}

/**
 * A fresh database on a Citus cluster. Citus 12.1 does not propagate CREATE DATABASE, and its
 * metadata lives in each database: so the database is created on the coordinator and on every
 * worker, the extension is created in each, and the coordinator's copy learns the nodes.
 * Tables are spread over MANYMODELS_TEST_CITUS_SHARDS shards (default 8; 'default' keeps Citus's own,
 * 32) to keep a 2-core test machine quick; the tests that assert push-down need only more than one.
 */
async function freshCitusDatabase(base: string, name: string, shards: number | undefined): Promise<string> {
  const { coordinator, workers } = await citusNodes(base);
  if (workers.length === 0) throw new Error(`the Citus cluster at ${new URL(base).host} has no workers: add them with citus_add_node`);
  const admin = new URL(base).pathname.slice(1) || 'postgres';
  for (const n of [coordinator, ...workers]) {
    await withClient(withDatabase(base, admin, n.host, n.port), (c) => c.query(`CREATE DATABASE ${name}`));
    await withClient(withDatabase(base, name, n.host, n.port), (c) => c.query('CREATE EXTENSION citus'));
  }
  if (shards !== undefined) await withClient(withDatabase(base, admin, coordinator.host, coordinator.port), (c) => c.query(`ALTER DATABASE ${name} SET citus.shard_count = ${Math.trunc(shards)}`));
  await withClient(withDatabase(base, name, coordinator.host, coordinator.port), async (c) => {
    await c.query('SELECT citus_set_coordinator_host($1, $2)', [coordinator.host, coordinator.port]);
    for (const w of workers) await c.query('SELECT citus_add_node($1, $2)', [w.host, w.port]);
  });
  return withDatabase(base, name);
}

/**
 * Creates the database `name` on the server or cluster behind `base` (a coordinator's URL) and
 * returns its URL (the benchmark uses it too). `citusShards`: citus.shard_count there (default: Citus's, 32).
 */
export async function createDatabaseOn(base: string, which: ClusterName | null, name: string, citusShards?: number): Promise<string> {
  if (which === 'citus') return freshCitusDatabase(base, name, citusShards);
  await withClient(base, (c) => c.query(`CREATE DATABASE ${name}`));
  return withDatabase(base, name);
}

/** Creates a new database on the test server (or the cluster of this pass) and returns its URL. */
export async function freshDatabaseUrl(): Promise<string> {
  const shards = process.env.MANYMODELS_TEST_CITUS_SHARDS ?? '8';
  return createDatabaseOn(serverUrl(), cluster, `${testDatabasePrefix()}${randomBytes(6).toString('hex')}`, shards === 'default' ? undefined : Number(shards));
}

/** Drops the databases `prefix`* on every node of the cluster behind `base` (after a cluster pass). */
export async function dropTestDatabases(base: string, which: ClusterName, prefix: string): Promise<number> {
  const admin = new URL(base).pathname.slice(1) || 'postgres';
  const nodes = which === 'citus' ? (({ coordinator, workers }) => [coordinator, ...workers])(await citusNodes(base)) : [null];
  let dropped = 0;
  for (const n of nodes) {
    const url = n === null ? base : withDatabase(base, admin, n.host, n.port);
    await withClient(url, async (c) => {
      const r = await c.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, [prefix]);
      for (const { datname } of r.rows) {
        // Greenplum 7 (PostgreSQL 12) has no DROP DATABASE ... WITH (FORCE)
        await c.query(`DROP DATABASE IF EXISTS "${datname.replaceAll('"', '""')}"${which === 'citus' ? ' WITH (FORCE)' : ''}`);
        dropped++;
      }
    });
  }
  return dropped;
}

export const backends: Backend[] =
  cluster === null
    ? [
        { name: 'pglite', open: () => open() },
        { name: 'postgres', open: async () => open(await freshDatabaseUrl()) },
      ]
    : [{ name: cluster, open: async () => open(await freshDatabaseUrl()) }];
