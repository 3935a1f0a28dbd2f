import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DatabaseError, UsageError } from '../errors.js';
import type { Database } from './connection.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './pg.js';

export interface OpenOptions {
  /**
   * For a directory: create the embedded database when there is none (the default). With false,
   * a directory without a database gives DATABASE_NOT_FOUND and nothing is created.
   */
  create?: boolean;
}

/** A URL scheme (two letters or more, so that `C:\dir` stays a path). */
const SCHEME = /^([a-z][a-z0-9+.-]+):/i;

/**
 * Opens a database: nothing (or 'memory://') for an in-memory embedded PGlite, a postgres:// or
 * postgresql:// URL for a server, a directory for a persisted PGlite. Any other URL (`mysql://`,
 * or `postgres:/host` with a slash missing) is refused rather than taken for a directory name.
 */
export async function openDatabase(target?: string, opts: OpenOptions = {}): Promise<Database> {
  if (target === undefined || target === '' || target === 'memory://' || target === ':memory:') return openPglite();
  if (/^postgres(ql)?:\/\//i.test(target)) return openPostgres(target);
  const scheme = SCHEME.exec(target);
  if (scheme !== null) {
    throw new UsageError(
      `${JSON.stringify(redactUserInfo(target))} is not a database manymodels can open: it looks like a ${scheme[1]}: URL`,
      'give a postgres://user@host:port/database URL (a password too, or in PGPASSWORD), or the directory of an embedded database',
      'INVALID_DATABASE_URL',
    );
  }
  const dir = resolve(target);
  if (opts.create === false && !existsSync(join(dir, 'PG_VERSION'))) {
    throw new DatabaseError(
      'DATABASE_NOT_FOUND',
      `there is no embedded database in ${dir}`,
      'check the directory, or create one first by importing, training or running the demo there',
    );
  }
  mkdirSync(dir, { recursive: true });
  return openPglite(dir);
}

/** `scheme://user:password@host` → `scheme://user:***@host`, for messages. */
function redactUserInfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/i, '$1***@');
}
