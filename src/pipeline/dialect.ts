import type { Database } from '../db/connection.js';
import type { Dialect } from '../sql/dialect.js';
import { DETECT_SQL, dialectByName, dialectFromServer } from '../sql/dialects/index.js';

/** The dialect asked for, or the one the server is (PGlite is PostgreSQL). */
export async function resolveDialect(db: Database, name?: string): Promise<Dialect> {
  if (name !== undefined) return dialectByName(name);
  if (db.kind === 'pglite') return dialectByName('postgres');
  const r = await db.main.query<{ citus: boolean; version: string }>(DETECT_SQL);
  return dialectFromServer(r.rows[0].citus, r.rows[0].version);
}
