import { closeSync, existsSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
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
import { amortiseMemfsGrowth } from './pglite-memfs.js';

/** PGlite moves COPY data through a Blob: whole statements, so a body is cut into segments of about this size. */
const SEGMENT_BYTES = 4 << 20;
/** Chunks handed to the COPY-out consumer. */
const OUT_CHUNK_BYTES = 4 << 20;
/** Rows of the first FETCH of a binary read; later ones are sized to about OUT_CHUNK_BYTES. */
const FETCH_FIRST_ROWS = 4096;
const FETCH_MAX_ROWS = 1 << 17;
/**
 * work_mem of a binary read's own transaction (a training read's ORDER BY key). The embedded
 * database's memory is this process's, and an in-memory database spills a sort to files that are
 * memory too (MEMFS), only slower: 1M rows of a key and three numbers sort in 63 MB, in about
 * half the time of the external merge that the default 4 MB forces. A larger sort still spills.
 */
const READ_WORK_MEM = '128MB';
let cursorSerial = 0;

/** A simple-protocol Query message ('Q', length, text, NUL). */
function simpleQuery(sql: string): Uint8Array {
  const text = new TextEncoder().encode(sql);
  const out = new Uint8Array(text.length + 6);
  out[0] = 0x51;
  new DataView(out.buffer).setInt32(1, text.length + 5);
  out.set(text, 5);
  return out;
}

/**
 * Rewrites, in place, the backend messages of one FETCH into binary COPY tuples: every DataRow
 * ('D') keeps its body, other messages (RowDescription, CommandComplete, ReadyForQuery, notices)
 * are dropped, and an ErrorResponse is thrown as the database error it carries.
 */
export function dataRowsToCopyTuples(buf: Uint8Array): { rows: number; bytes: number } {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  let out = 0;
  let rows = 0;
  while (at + 5 <= buf.length) {
    const type = buf[at];
    const len = view.getInt32(at + 1);
    const end = at + 1 + len;
    if (type === 0x44) {
      buf.copyWithin(out, at + 5, end);
      out += end - at - 5;
      rows++;
    } else if (type === 0x45) {
      throw toDatabaseError(errorFields(buf, at + 5, end));
    }
    at = end;
  }
  return { rows, bytes: out };
}

/** An ErrorResponse's fields (code, message, detail, hint), as drivers name them. */
function errorFields(buf: Uint8Array, from: number, end: number): { code?: string; message?: string; detail?: string; hint?: string } {
  const names: Record<number, 'code' | 'message' | 'detail' | 'hint'> = { 0x43: 'code', 0x4d: 'message', 0x44: 'detail', 0x48: 'hint' };
  const out: { code?: string; message?: string; detail?: string; hint?: string } = {};
  const dec = new TextDecoder();
  let at = from;
  while (at < end && buf[at] !== 0) {
    const kind = buf[at];
    let stop = at + 1;
    while (stop < end && buf[stop] !== 0) stop++;
    const name = names[kind];
    if (name !== undefined) out[name] = dec.decode(buf.subarray(at + 1, stop));
    at = stop + 1;
  }
  return out;
}

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
    // MANYMODELS_PGLITE_COPY_OUT=blob keeps the one-Blob COPY, for benchmarks that compare the two
    if (format === 'binary' && process.env.MANYMODELS_PGLITE_COPY_OUT !== 'blob') {
      yield* this.binaryOut(source);
      return;
    }
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

  /**
   * Binary COPY out in bounded memory. PGlite's `COPY ... TO '/dev/blob'` runs the whole statement
   * in one synchronous call and hands its output over as one Blob (the whole read in memory: 2.9 GiB
   * for the 10M rows of a 1M-group run). Instead the rows come from a BINARY cursor, FETCHed a few
   * MB at a time through the raw protocol: a DataRow's body (field count, then length-prefixed
   * values, each in the type's binary send format) is exactly a binary COPY tuple, so each chunk
   * is the DataRows with their 5-byte message headers removed, framed by COPY's header and trailer.
   * The cursor needs a transaction: one is opened for the read (COPY segments written by a
   * concurrent copyIn on this same connection land in it; it commits when the read ends, and rolls
   * back if the read is abandoned), unless the caller is already in one. The read's own
   * transaction sorts with at least READ_WORK_MEM.
   */
  /**
   * The backend's messages for one protocol message, as bytes. Through execProtocolRawStream: the
   * plain execProtocolRaw also parses every message into an object (a DataRow per row) on the way.
   */
  private async fetchRaw(message: Uint8Array): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let size = 0;
    await this.pg.runExclusive(() =>
      this.pg.execProtocolRawStream(message, {
        syncToFs: false,
        onRawData: (bytes: Uint8Array) => {
          parts.push(bytes.slice());
          size += bytes.length;
        },
      }),
    );
    if (parts.length === 1) return parts[0];
    const out = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  private async *binaryOut(source: string): AsyncIterable<Uint8Array> {
    const cursor = `mm_out_${++cursorSerial}`;
    const select = /^\s*\(/.test(source) ? source : `SELECT * FROM ${source}`;
    const ownTx = !this.pg.isInTransaction();
    let done = false;
    try {
      // (set_config(..., true) is SET LOCAL; a session that set more keeps it)
      if (ownTx) await this.exec(`BEGIN; SELECT set_config('work_mem', '${READ_WORK_MEM}', true) WHERE pg_size_bytes(current_setting('work_mem')) < pg_size_bytes('${READ_WORK_MEM}')`);
      await this.exec(`DECLARE ${cursor} BINARY NO SCROLL CURSOR FOR ${select}`);
      yield BINARY_COPY_HEADER;
      let count = FETCH_FIRST_ROWS;
      for (;;) {
        const raw = await this.fetchRaw(simpleQuery(`FETCH FORWARD ${count} FROM ${cursor}`));
        const { rows, bytes } = dataRowsToCopyTuples(raw);
        if (bytes > 0) yield raw.subarray(0, bytes);
        if (rows < count) break;
        // next fetch: about OUT_CHUNK_BYTES, whatever the width of a row
        count = Math.max(64, Math.min(FETCH_MAX_ROWS, Math.floor(OUT_CHUNK_BYTES / Math.max(1, bytes / rows))));
      }
      yield BINARY_COPY_TRAILER;
      await this.exec(`CLOSE ${cursor}`);
      if (ownTx) await this.exec('COMMIT');
      done = true;
    } finally {
      if (!done && ownTx && this.pg.isInTransaction()) {
        try {
          await this.pg.exec('ROLLBACK');
        } catch {
          // the read's error (or the consumer's) is the one to report
        }
      }
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

/**
 * PGlite's server settings, on the command line of each start (nothing written to the directory).
 * shared_buffers: PGlite zeroes all of it at start inside its WebAssembly heap, which never gives
 * memory back, so its 128 MB default is 128 MiB of RSS before the first query; 32 MB holds a
 * models table's index and the pages a COPY or a sort is working on, and big scans go through a
 * small ring of buffers whatever the setting. MANYMODELS_PGLITE_SHARED_BUFFERS overrides it, for
 * side-by-side benchmarks.
 */
function startParams(): string[] {
  return [...PGlite.defaultStartParams, '-c', `shared_buffers=${process.env.MANYMODELS_PGLITE_SHARED_BUFFERS ?? '32MB'}`];
}

/** The worker-thread entry beside this module: the .ts one under tsx (tests), the built .js otherwise. */
function createWorkerUrl(): { url: URL; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) return { url: new URL('./pglite-create.ts', here), execArgv: ['--import', 'tsx'] };
  return { url: new URL('./pglite-create.js', here), execArgv: [] };
}

/**
 * Creates the embedded database in `dataDir` in a worker thread that ends before the database is
 * opened here: PGlite creates one by running initdb in a second instance of itself, and the thread
 * that did so keeps that instance's memory (some 400 MiB of RSS, measured) for as long as it runs.
 * MANYMODELS_PGLITE_CREATE=inline creates it in this thread, for side-by-side benchmarks.
 */
async function createInWorker(dataDir: string): Promise<void> {
  const { url, execArgv } = createWorkerUrl();
  await new Promise<void>((resolve, reject) => {
    let created = false;
    const w = new Worker(url, { execArgv, workerData: { dataDir, startParams: startParams() } });
    w.once('message', () => {
      created = true;
    });
    w.once('error', reject);
    w.once('exit', (code) => (created ? resolve() : reject(new Error(`creating the database stopped (exit code ${code})`))));
  });
}

/** Opens an embedded PGlite database in memory (no directory) or persisted in `dataDir`. */
export async function openPglite(dataDir?: string): Promise<Database> {
  let pg: PGlite;
  const unlock = dataDir === undefined ? () => undefined : lockDirectory(dataDir);
  try {
    if (dataDir !== undefined && !existsSync(join(dataDir, 'PG_VERSION')) && process.env.MANYMODELS_PGLITE_CREATE !== 'inline') await createInWorker(dataDir);
    pg = await PGlite.create(dataDir === undefined ? undefined : dataDir, { startParams: startParams() });
  } catch (e) {
    unlock();
    throw toDatabaseError(e, `opening the embedded database${dataDir ? ` in ${dataDir}` : ''}`);
  }
  // tables grow by fallocate; without this each extension copied the whole in-memory file
  amortiseMemfsGrowth(pg);
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
