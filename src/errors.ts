/**
 * One base error with a stable string `code`, and one subclass per kind of failure.
 *
 * Codes are part of the public API: callers (and the per-group pipeline, which records
 * the reason of every failed group) switch on `code`, never on the message text.
 */
export const ERROR_CODES = [
  // a request that is malformed
  'USAGE', 'INVALID_OPTION', 'INVALID_PARAMETER', 'UNKNOWN_ESTIMATOR', 'UNKNOWN_DIALECT', 'NAME_CLASH', 'INVALID_DATABASE_URL',
  // the data, tables and columns
  'TABLE_NOT_FOUND', 'SCHEMA_NOT_FOUND', 'COLUMN_NOT_FOUND', 'FEATURES_NOT_NUMERIC', 'LABEL_NOT_NUMERIC', 'LABEL_NOT_USABLE',
  'NO_GROUPS', 'NO_MODEL_FITTED', 'OUTPUT_TABLE_NOT_MANAGED', 'OUTPUT_TABLE_DEPENDENCY', 'DEMO_SCHEMA_EXISTS', 'OUTPUT_LOCKED', 'NOT_A_MODELS_TABLE', 'VERSION_NOT_FOUND', 'NOT_A_RECOMMENDATIONS_TABLE', 'INVALID_MODEL_DOCUMENT',
  'FEATURE_COUNT_MISMATCH', 'MODEL_NOT_LOADED', 'MODEL_NOT_SUPPORTED', 'OUTPUT_EXISTS', 'KEY_TYPE_MISMATCH', 'TABLE_EXISTS', 'KEY_NOT_ORDERABLE', 'KEY_PARTLY_NULL', 'KEY_TOO_LONG', 'TOO_MANY_FEATURES',
  // import
  'FILE_NOT_FOUND', 'CSV_EMPTY', 'CSV_RAGGED', 'CSV_INVALID',
  // the database and the connection
  'SQL_SYNTAX_ERROR', 'MULTIPLE_STATEMENTS', 'FUNCTION_NOT_FOUND', 'DEPENDENT_OBJECTS', 'INVALID_VALUE', 'TYPE_MISMATCH',
  'LOCK_NOT_AVAILABLE', 'PERMISSION_DENIED', 'DATABASE_ERROR', 'DATABASE_NOT_FOUND', 'DATABASE_BUSY', 'CONNECTION_FAILED', 'CONNECTION_TIMEOUT',
  'AUTHENTICATION_FAILED', 'CONNECTION_LOST', 'COPY_FORMAT', 'CANCELLED',
  // the numerical core (fit and predict on arrays); the first few are also the reasons of failed groups
  'SINGLE_CLASS', 'TOO_FEW_ROWS', 'NON_FINITE_INPUT', 'INVALID_GROUP', 'CONTINUOUS_LABEL', 'SOLVER_FAILED', 'WORKER_CRASHED', 'UNSUPPORTED', 'VALUE_OUT_OF_RANGE', 'INTERNAL',
  'EMPTY_INPUT', 'INVALID_INPUT', 'RAGGED_INPUT', 'SHAPE_MISMATCH', 'LENGTH_MISMATCH', 'INVALID_LABEL', 'INVALID_SAMPLE_WEIGHT',
  'NOT_FITTED',
  // show; a train's failure threshold
  'GROUP_NOT_FOUND', 'TOO_MANY_FAILED',
] as const;

/** Every code an error (or a failed group's reason) can carry; docs/errors.md describes each. */
export type ErrorCode = (typeof ERROR_CODES)[number];

export class ManyModelsError extends Error {
  readonly code: ErrorCode;
  /** What the user can do about it, when there is something to say. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, hint?: string) {
    super(hint ? `${message}\n  hint: ${hint}` : message);
    this.name = new.target.name;
    this.code = code;
    this.hint = hint;
  }
}

/** The input to fit or predict is unusable: empty, ragged, non-finite, mismatched lengths. */
export class InvalidInputError extends ManyModelsError {}

/** A classifier was given labels of fewer than two classes. */
export class SingleClassError extends ManyModelsError {
  constructor(readonly label: unknown) {
    super(
      'SINGLE_CLASS',
      `This solver needs samples of at least 2 classes in the data, but the data contains only one class: ${String(label)}`,
    );
  }
}

/** An estimator parameter is unknown, of the wrong type, or out of range. */
export class InvalidParameterError extends ManyModelsError {
  constructor(message: string, hint?: string) {
    super('INVALID_PARAMETER', message, hint);
  }
}

/** predict or score was called before fit. */
export class NotFittedError extends ManyModelsError {
  constructor(estimator: string) {
    super('NOT_FITTED', `This ${estimator} instance is not fitted yet`, 'call fit(X, y) before using it to predict');
  }
}

/** A model document could not be decoded: unknown format or version, missing or non-finite fields. */
export class ModelDocumentError extends ManyModelsError {
  constructor(message: string, hint?: string) {
    super('INVALID_MODEL_DOCUMENT', message, hint);
  }
}

/** The solver failed numerically (no finite objective, no descent direction). */
export class SolverError extends ManyModelsError {
  constructor(message: string) {
    super('SOLVER_FAILED', message);
  }
}

/** A problem with the database side: a missing table or column, a refused statement, a dropped connection. */
export class DatabaseError extends ManyModelsError {
  /** The SQLSTATE of the server's error, where there was one. */
  readonly sqlState: string | undefined;
  constructor(code: ErrorCode, message: string, hint?: string, sqlState?: string) {
    super(code, message, hint);
    this.sqlState = sqlState;
  }
}

/** A request to the library or CLI is malformed (bad option combination, unknown estimator, ...). */
export class UsageError extends ManyModelsError {
  constructor(message: string, hint?: string, code: ErrorCode = 'USAGE') {
    super(code, message, hint);
  }
}

/** The run was cancelled (SIGINT, SIGTERM, or an AbortSignal): nothing was replaced. */
export class CancelledError extends ManyModelsError {
  constructor(readonly reason: string) {
    super('CANCELLED', `the run was cancelled (${reason}); the previous table, if any, is unchanged`);
  }
}
