import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { PGlite, types } from '@electric-sql/pglite';
import { DatabaseError } from '../errors.js';
import {
  BINARY_COPY_HEADER,
  BINARY_COPY_TRAILER,
  type Connection,
  type CopyFormat,
  type Database,
  type QueryResult,
  type StreamConnection,
  type TextQueryResult,
  type TextValue,
} from './connection.js';
import { toDatabaseError } from './errors.js';
import { Mutex } from './mutex.js';

/** PGlite moves COPY data through a Blob: whole statements, so a body is cut into segments of about this size. */
const SEGMENT_BYTES = 4 << 20;
/** Chunks handed to the COPY-out consumer. */
const OUT_CHUNK_BYTES = 4 << 20;

/**
 * Parsers that keep every value as PostgreSQL printed it. PGlite copies a query's parsers over its
 * own (defaults, and array types it registers), so each of those type OIDs gets an identity parser;
 * a type without a parser already comes back as text.
 */
function textParsers(pg: PGlite): Record<number, (v: string) => unknown> {
  const keep = (v: string): string => v;
  const out: Record<number, (v: string) => unknown> = {};
  for (const k of [...Object.keys(types.parsers), ...Object.keys(pg.parsers)]) out[Number(k)] = keep;
  return out;
}

class PgliteConnection implements StreamConnection {
  constructor(private readonly pg: PGlite) {}

  async query<R>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    try {
      const r = await this.pg.query<R>(sql, params as unknown[] | undefined);
      return { rows: r.rows, fields: r.fields, rowCount: r.affectedRows ?? r.rows.length };
    } catch (e) {
      throw toDatabaseError(e);
    }
  }

  async queryText(sql: string): Promise<TextQueryResult> {
    try {
      const r = await this.pg.query<TextValue[]>(sql, [], { rowMode: 'array', parsers: textParsers(this.pg) });
      return { rows: r.rows, fields: r.fields, rowCount: r.affectedRows ?? r.rows.length };
    } catch (e) {
      throw toDatabaseError(e);
    }
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.pg.exec(sql);
    } catch (e) {
      throw toDatabaseError(e);
    }
  }

  async *copyOut(source: string, format: CopyFormat): AsyncIterable<Uint8Array> {
    let blob: Blob | undefined;
    try {
      const r = await this.pg.query(`COPY ${source} TO '/dev/blob' WITH (FORMAT ${format})`);
      blob = r.blob;
    } catch (e) {
      throw toDatabaseError(e);
    }
    if (blob === undefined) return;
    const bytes = new Uint8Array(await blob.arrayBuffer());
    for (let off = 0; off < bytes.length; off += OUT_CHUNK_BYTES) {
      yield bytes.subarray(off, Math.min(bytes.length, off + OUT_CHUNK_BYTES));
    }
  }

  async copyIn(target: string, format: CopyFormat, body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
    let parts: Uint8Array[] = [];
    let size = 0;
    const flush = async (): Promise<void> => {
      if (size === 0) return;
      const segment = format === 'binary' ? [BINARY_COPY_HEADER, ...parts, BINARY_COPY_TRAILER] : parts;
      parts = [];
      size = 0;
      try {
        await this.pg.query(`COPY ${target} FROM '/dev/blob' WITH (FORMAT ${format})`, [], { blob: new Blob(segment) });
      } catch (e) {
        throw toDatabaseError(e);
      }
    };
    for await (const chunk of body) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= SEGMENT_BYTES) await flush();
    }
    await flush();
  }

  async cancel(): Promise<void> {
    // PGlite runs statements synchronously inside this process; there is nothing to cancel remotely.
  }

  async close(): Promise<void> {
    // The stream shares the database's only connection; the database closes it.
  }
}

/**
 * An embedded database in a directory serves one process at a time: a lock file beside it says
 * which process has it open, so a second command gets a clear DATABASE_BUSY instead of PGlite's
 * "Aborted()". A lock left by a process that no longer exists is taken over.
 */
function lockDirectory(dataDir: string): () => void {
  const lock = `${dataDir.replace(/[\\/]+$/, '')}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(lock, 'utf8') === String(process.pid)) unlinkSync(lock);
        } catch {
          // already gone
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw toDatabaseError(e, `locking the embedded database in ${dataDir}`);
      const pid = Number(readFileSync(lock, 'utf8'));
      let alive = true; // this process (opened twice), or a process that still exists
      if (pid !== process.pid) {
        try {
          process.kill(pid, 0);
        } catch (err) {
          alive = (err as NodeJS.ErrnoException).code === 'EPERM';
        }
      }
      if (alive) {
        throw new DatabaseError('DATABASE_BUSY', `the embedded database in ${dataDir} is in use by process ${pid}`, 'an embedded database serves one process at a time: wait for the other command to finish, or use a PostgreSQL server (--db postgres://...)');
      }
      unlinkSync(lock); // left by a process that is gone
    }
  }
  throw new DatabaseError('DATABASE_BUSY', `the embedded database in ${dataDir} is locked`, `remove ${lock} if no manymodels command is running`);
}

/** Opens an embedded PGlite database in memory (no directory) or persisted in `dataDir`. */
export async function openPglite(dataDir?: string): Promise<Database> {
  let pg: PGlite;
  const unlock = dataDir === undefined ? () => undefined : lockDirectory(dataDir);
  try {
    pg = await PGlite.create(dataDir === undefined ? undefined : dataDir);
  } catch (e) {
    unlock();
    throw toDatabaseError(e, `opening the embedded database${dataDir ? ` in ${dataDir}` : ''}`);
  }
  const main = new PgliteConnection(pg);
  // one connection: whole operations take turns, so no two interleave their statements on it
  const turns = new Mutex();
  const db: Database = {
    kind: 'pglite',
    description: dataDir === undefined ? 'embedded PGlite (in memory)' : `embedded PGlite in ${dataDir}`,
    main: main as Connection,
    concurrentStreams: false,
    openStream: async () => main,
    session: (fn) => turns.run(() => fn(db)),
    exclusive: (fn) => turns.run(() => fn(db)),
    close: async () => {
      try {
        await pg.close();
      } finally {
        unlock();
      }
    },
  };
  return db;
}
