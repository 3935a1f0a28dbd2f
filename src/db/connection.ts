/**
 * The few things manymodels asks of a PostgreSQL connection, as shapes rather than driver
 * classes. PGlite and node-postgres are adapters behind them (db/pglite.ts, db/pg.ts).
 */

export interface Field {
  readonly name: string;
  /** The type's OID (pg_type.oid). */
  readonly dataTypeID: number;
}

export interface QueryResult<R = Record<string, unknown>> {
  readonly rows: R[];
  readonly fields: readonly Field[];
  readonly rowCount: number | null;
}

/** COPY formats manymodels speaks: binary for its own streams, csv for imports. */
export type CopyFormat = 'binary' | 'csv';

/** A value as PostgreSQL's text output prints it (what psql shows), NULL as null. */
export type TextValue = string | null;

/** A result with every value in PostgreSQL's text output, rows as arrays (columns may share a name). */
export interface TextQueryResult {
  readonly rows: TextValue[][];
  readonly fields: readonly Field[];
  readonly rowCount: number | null;
}

export interface Connection {
  /**
   * One statement with $n parameters; rows come back as objects keyed by column name. Several
   * statements in one text are refused (MULTIPLE_STATEMENTS) and none of them runs.
   */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** One statement without parameters, its values as PostgreSQL's text output, its rows as arrays. */
  queryText(sql: string): Promise<TextQueryResult>;
  /** Several statements without parameters (DDL scripts). */
  exec(sql: string): Promise<void>;
  /**
   * COPY `source` TO the client, where source is `(SELECT ...)` or a quoted table name, yielding
   * the raw COPY data as it arrives (binary: with its header and trailer).
   */
  copyOut(source: string, format: CopyFormat): AsyncIterable<Uint8Array>;
  /**
   * COPY `target` (a quoted table name with its column list) FROM the client. `body` yields row
   * data only, every chunk ending on a row boundary; the adapter adds the binary header and
   * trailer, and may split the body over several COPY statements.
   */
  copyIn(target: string, format: CopyFormat, body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void>;
  /** Asks the server to cancel the statement running on this connection (best effort; absent where there is nothing to cancel). */
  cancel?(): Promise<void>;
}

export interface Database {
  /** 'pglite' for the embedded database, 'postgres' for a server reached by URL. */
  readonly kind: 'pglite' | 'postgres';
  /** Where the data lives, safe to print: a directory, 'memory', or the URL without its password. */
  readonly description: string;
  /** The connection for statements, DDL, the catalog and the swap. */
  readonly main: Connection;
  /**
   * True when openStream gives a separate connection, so that a COPY out and a COPY in can run at
   * once (node-postgres). PGlite has a single connection: its streams run one after the other.
   */
  readonly concurrentStreams: boolean;
  /** A connection for one streaming job; close it when done (for PGlite this is `main`, and close does nothing). */
  openStream(): Promise<StreamConnection>;
  /**
   * Runs `fn` (a whole operation: a train, a predict, an import) with a database whose main
   * connection no other caller uses meanwhile. PGlite has one connection, so operations wait for
   * each other; a server gives each operation a connection of its own, so they run side by side.
   */
  session<T>(fn: (db: Database) => Promise<T>): Promise<T>;
  /** Runs `fn` (one statement, or a few reads) on `main`, never interleaved with another caller's. */
  exclusive<T>(fn: (db: Database) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface StreamConnection extends Connection {
  /** Asks the server to cancel the statement running on this connection (best effort). */
  cancel(): Promise<void>;
  close(): Promise<void>;
}

/** The 19-byte binary COPY header (signature, flags, no extension) and the 2-byte trailer. */
export const BINARY_COPY_HEADER: Uint8Array = new Uint8Array([
  0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
]);
export const BINARY_COPY_TRAILER: Uint8Array = new Uint8Array([0xff, 0xff]);

/**
 * Runs `body` in a transaction of its own with work_mem set to `workMem` (e.g. '256MB', '98304kB')
 * for it alone (SET LOCAL): room in memory for one big hash or sort without changing the session's
 * setting. Commits when `body` succeeds; rolls back and rethrows its error otherwise.
 */
export async function withLocalWorkMem(conn: Connection, workMem: string, body: () => Promise<void>): Promise<void> {
  await withLocalSettings(conn, { work_mem: workMem }, body);
}

/**
 * The same for any settings (name → value, e.g. { work_mem: '96MB', parallel_tuple_cost: '0.01' }),
 * each SET LOCAL for `body`'s transaction alone. Names are the caller's own constants.
 */
export async function withLocalSettings(conn: Connection, settings: Readonly<Record<string, string>>, body: () => Promise<void>): Promise<void> {
  await conn.exec('BEGIN');
  try {
    for (const [name, value] of Object.entries(settings)) await conn.exec(`SET LOCAL ${name} = '${value.replace(/'/g, "''")}'`);
    await body();
    await conn.exec('COMMIT');
  } catch (e) {
    await conn.exec('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
