/**
 * One base error with a stable string `code`, and one subclass per kind of failure.
 *
 * Codes are part of the public API: callers (and the per-group pipeline, which records
 * the reason of every failed group) switch on `code`, never on the message text.
 */
export class ManyModelsError extends Error {
  readonly code: string;
  /** What the user can do about it, when there is something to say. */
  readonly hint: string | undefined;

  constructor(code: string, message: string, hint?: string) {
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
  constructor(code: string, message: string, hint?: string, sqlState?: string) {
    super(code, message, hint);
    this.sqlState = sqlState;
  }
}

/** A request to the library or CLI is malformed (bad option combination, unknown estimator, ...). */
export class UsageError extends ManyModelsError {
  constructor(message: string, hint?: string, code = 'USAGE') {
    super(code, message, hint);
  }
}

/** The run was cancelled (SIGINT, SIGTERM, or an AbortSignal): nothing was replaced. */
export class CancelledError extends ManyModelsError {
  constructor(readonly reason: string) {
    super('CANCELLED', `the run was cancelled (${reason}); the previous table, if any, is unchanged`);
  }
}
