import { InvalidParameterError } from '../errors.js';

/** A received value for a message: numbers as JavaScript prints them (Infinity, NaN), the rest as JSON. */
function shown(v: unknown): string {
  return typeof v === 'number' ? String(v) : v === undefined ? 'undefined' : JSON.stringify(v);
}

/** Rejects any key of `given` that the estimator does not have. */
export function checkKnown(estimator: string, given: object, known: readonly string[]): void {
  for (const key of Object.keys(given)) {
    if ((given as Record<string, unknown>)[key] === undefined) continue;
    if (!known.includes(key)) {
      throw new InvalidParameterError(
        `${estimator} has no parameter '${key}'`,
        `its parameters are: ${known.join(', ')}`,
      );
    }
  }
}

export function positiveNumber(estimator: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new InvalidParameterError(`${estimator} parameter '${name}' must be a finite number > 0, got ${shown(v)}`);
  }
  return v;
}

export function nonNegativeNumber(estimator: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new InvalidParameterError(`${estimator} parameter '${name}' must be a finite number ≥ 0, got ${shown(v)}`);
  }
  return v;
}

export function positiveInteger(estimator: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new InvalidParameterError(`${estimator} parameter '${name}' must be an integer ≥ 1, got ${shown(v)}`);
  }
  return v;
}

export function boolean(estimator: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') {
    throw new InvalidParameterError(`${estimator} parameter '${name}' must be true or false, got ${shown(v)}`);
  }
  return v;
}

export function oneOf<T>(estimator: string, name: string, v: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) {
    throw new InvalidParameterError(
      `${estimator} parameter '${name}' must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${shown(v)}`,
    );
  }
  return v as T;
}
