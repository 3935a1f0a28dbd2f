import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import {
  BINARY_COPY_HEADER,
  BINARY_COPY_TRAILER,
  type CopyFormat,
  type Database,
  type QueryResult,
  type StreamConnection,
  type TextQueryResult,
  type TextValue,
} from './connection.js';
import { DatabaseError } from '../errors.js';
import { redactUrls, toDatabaseError } from './errors.js';
import { FastCopyOut } from './pg-copy-out.js';
import { Mutex } from './mutex.js';

/** int8 as a number when it fits exactly (as PGlite gives it), else as a string; everything else as node-postgres parses it. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 && format !== 'binary') {
      return (v: string) => {
        const n = Number(v);
        return Number.isSafeInteger(n) ? n : v;
      };
    }
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/** Every value as the server sent it: PostgreSQL's text output. */
const TEXT_TYPES = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;

class PgConnection implements StreamConnection {
  /** What the server said when it ended the session while it sat idle (node-postgres reports it as an 'error' event). */
  private ended: unknown = null;

  constructor(private readonly client: pg.Client, private readonly config: pg.ClientConfig) {
    client.on('error', (e) => {
      this.ended ??= e;
    });
  }

  /** A driver error as a DatabaseError; on a session the server ended meanwhile, with the server's reason. */
  private failure(e: unknown): Error {
    return toDatabaseError(this.ended !== null && /not queryable|Connection terminated/i.test(String((e as Error)?.message)) ? this.ended : e);
  }

  async query<R>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    try {
      // the extended protocol, as PGlite uses: one statement per call, refused when there are several
      const r = await this.client.query({ text: sql, values: params as unknown[] | undefined, queryMode: 'extended' } as pg.QueryConfig);
      return { rows: r.rows as R[], fields: r.fields, rowCount: r.rowCount };
    } catch (e) {
      throw this.failure(e);
    }
  }

  async queryText(sql: string): Promise<TextQueryResult> {
    try {
      const r = await this.client.query({ text: sql, rowMode: 'array', types: TEXT_TYPES, queryMode: 'extended' } as pg.QueryArrayConfig);
      return { rows: r.rows as TextValue[][], fields: r.fields, rowCount: r.rowCount };
    } catch (e) {
      throw this.failure(e);
    }
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.client.query(sql);
    } catch (e) {
      throw this.failure(e);
    }
  }

  async *copyOut(source: string, format: CopyFormat): AsyncIterable<Uint8Array> {
    const stream = this.client.query(new FastCopyOut(`COPY ${source} TO STDOUT WITH (FORMAT ${format})`) as unknown as pg.Submittable) as unknown as FastCopyOut;
    try {
      for await (const chunk of stream) yield chunk as Uint8Array;
    } catch (e) {
      throw this.failure(e);
    } finally {
      if (!stream.readableEnded) stream.destroy();
    }
  }

  async copyIn(target: string, format: CopyFormat, body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
    const sink = this.client.query(copyFrom(`COPY ${target} FROM STDIN WITH (FORMAT ${format})`));
    async function* framed(): AsyncIterable<Uint8Array> {
      if (format === 'binary') yield BINARY_COPY_HEADER;
      for await (const chunk of body) yield chunk;
      if (format === 'binary') yield BINARY_COPY_TRAILER;
    }
    try {
      await pipeline(Readable.from(framed(), { objectMode: false }), sink);
    } catch (e) {
      throw this.failure(e);
    }
  }

  async cancel(): Promise<void> {
    // A cancel request travels on a fresh connection, as libpq's PQcancel does.
    const pid = (this.client as unknown as { processID?: number }).processID;
    if (pid === undefined) return;
    const c = new pg.Client({ ...this.config, types });
    try {
      await c.connect();
      await c.query('SELECT pg_cancel_backend($1)', [pid]);
    } catch {
      // best effort
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

async function connect(config: pg.ClientConfig): Promise<PgConnection> {
  const client = new pg.Client({ ...config, types });
  // An error event on an idle client (the server went away) must not crash the process;
  // the next query on it fails with a clear error instead.
  client.on('error', () => undefined);
  const where = redactUrls(String(config.connectionString ?? 'the server'));
  const started = performance.now();
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => undefined);
    const timeout = config.connectionTimeoutMillis ?? 0;
    // node-postgres ends a connection that gets no answer in time with this error (no code)
    if (timeout > 0 && (e as Error)?.message === 'timeout expired' && performance.now() - started >= timeout - 100) {
      throw new DatabaseError(
        'CONNECTION_TIMEOUT',
        `connecting to ${where}: no answer within ${timeout / 1000} s`,
        'check the host and port: is a PostgreSQL server listening there? (connect_timeout=SECONDS in the URL, or PGCONNECT_TIMEOUT, sets the wait)',
      );
    }
    throw toDatabaseError(e, `connecting to ${where}`);
  }
  return new PgConnection(client, config);
}

/** Seconds to wait for a server's answer when connecting: libpq's connect_timeout in the URL, else PGCONNECT_TIMEOUT, else 10. */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 10;

function connectTimeoutSeconds(url: string): number {
  let fromUrl: string | null = null;
  try {
    fromUrl = new URL(url).searchParams.get('connect_timeout');
  } catch {
    // not parsable as a WHATWG URL: node-postgres reports what is wrong with it
  }
  for (const v of [fromUrl, process.env.PGCONNECT_TIMEOUT]) {
    if (v === null || v === undefined || v.trim() === '') continue;
    const n = Number(v);
    // as in libpq: 0 or less waits forever; a wait under 2 s is raised to 2 s
    if (Number.isFinite(n)) return n <= 0 ? 0 : Math.max(2, n);
  }
  return DEFAULT_CONNECT_TIMEOUT_SECONDS;
}

/** Connects to a PostgreSQL server (or Citus, Greenplum, Cloudberry) by URL. */
export async function openPostgres(url: string): Promise<Database> {
  const config: pg.ClientConfig = { connectionString: url, application_name: 'manymodels', connectionTimeoutMillis: connectTimeoutSeconds(url) * 1000 };
  const main = await connect(config);
  const streams = new Set<PgConnection>();
  const openStream = async (): Promise<PgConnection> => {
    const c = await connect(config);
    // An operation's connections wait idle while its others work (the main one while the rows stream,
    // the writer before the first batch): the server's idle_session_timeout (PostgreSQL 14 on) must
    // not end them mid-run. Only these: the user's own connection (db.sql) keeps the server's policy.
    await c
      .query(`SELECT set_config('idle_session_timeout', '0', false) FROM pg_settings WHERE name = 'idle_session_timeout'`)
      .catch(async (e: unknown) => {
        await c.close();
        throw e;
      });
    streams.add(c);
    const close = c.close.bind(c);
    c.close = async () => {
      streams.delete(c);
      await close();
    };
    return c;
  };
  // statements of the user (db.sql) take turns on main; each operation gets a connection of its own
  const turns = new Mutex();
  const db: Database = {
    kind: 'postgres',
    description: redactUrls(url),
    main,
    concurrentStreams: true,
    openStream,
    session: async (fn) => {
      const own = await openStream();
      const view: Database = { ...db, main: own, exclusive: (g) => g(view), session: (g) => g(view) };
      try {
        return await fn(view);
      } finally {
        await own.close();
      }
    },
    exclusive: (fn) => turns.run(() => fn(db)),
    close: async () => {
      for (const s of streams) await s.close();
      await main.close();
    },
  };
  return db;
}
