import { DatabaseError, type ErrorCode, ManyModelsError } from '../errors.js';

/** SQLSTATEs that get their own stable code. Driver errors are recognised by `code`, never by class. */
const BY_SQLSTATE: Record<string, [code: ErrorCode, hint?: string]> = {
  '42P01': ['TABLE_NOT_FOUND', 'check the table name and its schema (a name in double quotes keeps its capitals)'],
  '42703': ['COLUMN_NOT_FOUND', 'check the column names (a name in double quotes keeps its capitals)'],
  '3F000': ['SCHEMA_NOT_FOUND', 'create the schema first, or check its name'],
  '42601': ['SQL_SYNTAX_ERROR', 'check the query text'],
  '42883': ['FUNCTION_NOT_FOUND', undefined],
  '42P07': ['TABLE_EXISTS', undefined],
  '2BP01': ['DEPENDENT_OBJECTS', 'drop or change the views that depend on the table first'],
  // the server's words name the cause (timeoutHint); these hold where its messages are translated
  '57014': ['CANCELLED', 'the server cancelled a statement: its statement_timeout, or a cancel request (see the message); raise the timeout for the role, or in the URL: add options=-c%20statement_timeout%3D0 to its query (after ? or &)'],
  '28P01': ['AUTHENTICATION_FAILED', 'check the user name and password in the URL'],
  // invalid_authorization_specification: a role that does not exist (trust auth) or may not log in
  '28000': ['AUTHENTICATION_FAILED', 'check the user name in the URL: the role must exist on the server and be allowed to log in'],
  '3D000': ['DATABASE_NOT_FOUND', 'check the database name in the URL'],
  '22P02': ['INVALID_VALUE', undefined],
  '42804': ['TYPE_MISMATCH', undefined],
  '55P03': ['LOCK_NOT_AVAILABLE', 'another session holds a lock this needs: run again when it is done, or raise lock_timeout for the role or in the URL (options=-c%20lock_timeout%3D0 in its query)'],
  '42501': ['PERMISSION_DENIED', 'the role of the connection lacks a privilege this needs: grant it, or connect as a role that has it'],
};

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004']);
const RUN_AGAIN = 'nothing was replaced; run again when the server is back';
/**
 * After connecting, the codes of a connection that was lost, not refused, with what to do: an open
 * connection that breaks, or a session the server ended (terminated by an administrator, a crash,
 * its idle_session_timeout or idle_in_transaction_session_timeout).
 */
const LOST = new Map<string, string>([
  ...['ECONNRESET', 'EPIPE', 'ETIMEDOUT', '08000', '08003', '08006', '57P01', '57P02'].map((c): [string, string] => [c, RUN_AGAIN]),
  [
    '57P05',
    'the server ends a session idle longer than its idle_session_timeout: open the database again (the connections of a run are exempt), or raise it for the role (ALTER ROLE name SET idle_session_timeout = 0) or in the URL (options=-c%20idle_session_timeout%3D0 in its query, after ? or &)',
  ],
  [
    '25P03',
    'the server ends a session idle in a transaction longer than its idle_in_transaction_session_timeout: open the database again, or raise it for the role or in the URL (options=-c%20idle_in_transaction_session_timeout%3D0 in its query)',
  ],
]);

/** Whether the server's message says its statement_timeout stopped the statement (57014 names the cause only in its words). */
export function byStatementTimeout(message: string): boolean {
  return /due to statement timeout/.test(message);
}

/** Turns whatever a driver threw into a DatabaseError that keeps the SQLSTATE; ManyModelsErrors pass through. */
export function toDatabaseError(e: unknown, context?: string): ManyModelsError {
  if (e instanceof ManyModelsError) return e;
  const err = e as { code?: unknown; message?: unknown; detail?: unknown; hint?: unknown };
  const sqlState = typeof err?.code === 'string' ? err.code : undefined;
  const raw = typeof err?.message === 'string' ? err.message : String(e);
  const message = redactUrls(raw) + (typeof err?.detail === 'string' && err.detail ? ` (${err.detail})` : '');
  const prefix = context ? `${context}: ` : '';
  const lost = sqlState !== undefined && !context?.startsWith('connecting') ? LOST.get(sqlState) : undefined;
  if (lost !== undefined) {
    return new DatabaseError('CONNECTION_LOST', `${prefix}the database connection was lost: ${message}`, lost, sqlState);
  }
  if (sqlState !== undefined && CONNECTION_CODES.has(sqlState)) {
    return new DatabaseError('CONNECTION_FAILED', `${prefix}the database connection failed: ${message}`, 'check that the server is running and reachable, then run again', sqlState);
  }
  // node-postgres's words for a connection the server closed while it sat idle (idle_session_timeout,
  // a restart): the next statement on it meets 'Client has encountered a connection error and is not queryable'
  if (/Connection terminated|connection.*(closed|lost|ended)|terminating connection|connection error and is not queryable/i.test(raw)) {
    return new DatabaseError('CONNECTION_LOST', `${prefix}the database connection was lost: ${message}`, RUN_AGAIN, sqlState);
  }
  if (sqlState === '42601' && /cannot insert multiple commands into a prepared statement/.test(raw)) {
    return new DatabaseError('MULTIPLE_STATEMENTS', `${prefix}the text holds several SQL statements; one is run at a time, and none of these ran`, 'run the statements one at a time', sqlState);
  }
  const known = sqlState !== undefined ? BY_SQLSTATE[sqlState] : undefined;
  const hint = typeof err?.hint === 'string' && err.hint ? err.hint : (timeoutHint(raw) ?? known?.[1]);
  return new DatabaseError(known?.[0] ?? 'DATABASE_ERROR', `${prefix}${message}`, hint, sqlState);
}

/**
 * What to do about a statement the server stopped by one of its own settings or a cancel request
 * (57014 and 55P03 name the cause only in their words).
 */
function timeoutHint(message: string): string | undefined {
  if (byStatementTimeout(message)) {
    return "the server's statement_timeout stopped a statement: raise it where it is set: in the URL, add options=-c%20statement_timeout%3D0 to its query (after ? or &; it comes before any role or database setting), or for the role (ALTER ROLE name SET statement_timeout = 0; a setting for the role in this database comes first)";
  }
  if (/due to lock timeout/.test(message)) {
    return "another session held a lock longer than the server's lock_timeout allows: run again when it is done, or raise lock_timeout where it is set: in the URL (options=-c%20lock_timeout%3D0 in its query, after ? or &), or for the role (ALTER ROLE name SET lock_timeout = 0)";
  }
  if (/due to user request/.test(message)) return 'the statement was cancelled on the server (pg_cancel_backend, or an interrupt); run again';
  return undefined;
}

/** Replaces the password of any postgres:// URL in a text with ***. */
export function redactUrls(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)([^@\s]*)@/gi, '$1***@');
}
