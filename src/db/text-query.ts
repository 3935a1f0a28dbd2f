import { ManyModelsError } from '../errors.js';
import type { Connection, Field, TextValue } from './connection.js';

/** Where the result of `queryText` goes, a batch at a time; a returned promise is awaited (backpressure). */
export interface TextSink {
  /** The result's columns, once, before any row; not called for a statement that returns no rows. */
  fields(fields: readonly Field[]): void | Promise<void>;
  /** Rows in order, every value as PostgreSQL's text output (what psql prints), NULL as null. */
  rows(rows: readonly (readonly TextValue[])[]): void | Promise<void>;
}

export interface TextQuerySummary {
  /** True when the statement returned rows (a query, or a statement with RETURNING). */
  readonly returnedRows: boolean;
  /** Rows returned, or rows affected by INSERT / UPDATE / DELETE; null where the server gives no count. */
  readonly rowCount: number | null;
}

const CURSOR = 'manymodels_text_cursor';
/** SQLSTATEs with which DECLARE refuses a statement that is not a plain query: syntax error, not supported. */
const NOT_A_CURSOR_QUERY = new Set(['42601', '0A000']);

/**
 * Runs one statement and hands its result to `sink` in PostgreSQL's own text output: columns may
 * share a name, `timestamp` is not moved to the client's time zone, numbers keep every digit.
 *
 * A query (SELECT, VALUES, TABLE, WITH ... SELECT) is read through a cursor, `batchRows` rows at a
 * time, inside one transaction, so a result of any size takes bounded memory on both PGlite and a
 * server. Any other statement (DDL, INSERT ... RETURNING, SHOW, ...) runs as it is, outside that
 * transaction. Text holding several statements is refused (MULTIPLE_STATEMENTS) and runs nothing.
 */
export async function queryText(conn: Connection, sql: string, sink: TextSink, batchRows = 1000): Promise<TextQuerySummary> {
  if (!Number.isInteger(batchRows) || batchRows < 1) throw new RangeError(`batchRows must be an integer ≥ 1, got ${batchRows}`);
  await conn.exec('BEGIN');
  let open = true;
  try {
    try {
      await conn.query(`DECLARE ${CURSOR} NO SCROLL CURSOR FOR ${sql}`);
    } catch (e) {
      const state = (e as { sqlState?: string }).sqlState;
      if (!(e instanceof ManyModelsError) || state === undefined || !NOT_A_CURSOR_QUERY.has(state)) throw e;
      // not a query a cursor can hold: run it as it is, outside the transaction (VACUUM, BEGIN, ...)
      open = false;
      await conn.exec('ROLLBACK');
      return await runDirect(conn, sql, sink);
    }
    let first = true;
    let total = 0;
    for (;;) {
      const r = await conn.queryText(`FETCH FORWARD ${batchRows} FROM ${CURSOR}`);
      if (first) {
        first = false;
        await sink.fields(r.fields);
      }
      if (r.rows.length > 0) await sink.rows(r.rows);
      total += r.rows.length;
      if (r.rows.length < batchRows) break;
    }
    await conn.exec(`CLOSE ${CURSOR}`);
    open = false;
    await conn.exec('COMMIT');
    return { returnedRows: true, rowCount: total };
  } finally {
    if (open) await conn.exec('ROLLBACK').catch(() => undefined);
  }
}

async function runDirect(conn: Connection, sql: string, sink: TextSink): Promise<TextQuerySummary> {
  const r = await conn.queryText(sql);
  if (r.fields.length === 0) return { returnedRows: false, rowCount: r.rowCount };
  await sink.fields(r.fields);
  if (r.rows.length > 0) await sink.rows(r.rows);
  return { returnedRows: true, rowCount: r.rows.length };
}
