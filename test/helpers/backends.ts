import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type ManyModels, open } from 'manymodels';

/** The two kinds of real database every integration test runs against. */
export interface Backend {
  name: 'pglite' | 'postgres';
  /** A fresh, empty database. */
  open(): Promise<ManyModels>;
}

function serverUrl(): string {
  const url = process.env.MANYMODELS_TEST_PG_URL;
  if (url === undefined) throw new Error('MANYMODELS_TEST_PG_URL is not set: run the tests with `npm test` (test/run.ts starts the server)');
  return url;
}

/** Creates a new database on the test server and returns its URL. */
export async function freshDatabaseUrl(): Promise<string> {
  const base = serverUrl();
  const name = `mm_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

export const backends: Backend[] = [
  { name: 'pglite', open: () => open() },
  { name: 'postgres', open: async () => open(await freshDatabaseUrl()) },
];
