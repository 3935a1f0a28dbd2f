import type { Database } from './connection.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './pg.js';

/**
 * Opens a database: nothing (or 'memory://') for an in-memory embedded PGlite, a postgres:// or
 * postgresql:// URL for a server, anything else as the directory of a persisted PGlite.
 */
export async function openDatabase(target?: string): Promise<Database> {
  if (target === undefined || target === '' || target === 'memory://' || target === ':memory:') return openPglite();
  if (/^postgres(ql)?:\/\//i.test(target)) return openPostgres(target);
  return openPglite(target);
}
