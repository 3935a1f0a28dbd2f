import { InvalidParameterError } from '../errors.js';

/** A received value for a message: numbers as JavaScript prints them (Infinity, NaN), the rest as JSON. */
function shown(v: unknown): string {
  return typeof v === 'number' ? String(v) : v === undefined ? 'undefined' : JSON.stringify(v);
}

/** scikit-learn's spelling of a parameter name: maxIter → max_iter (C stays C). */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, (_, a: string, b: string) => `${a}_${b.toLowerCase()}`);
}

/** The library's spelling of a scikit-learn name: max_iter → maxIter. */
export function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The parameters under the library's names, taking scikit-learn's snake_case spellings too
 * (max_iter, fit_intercept, class_weight). Rejects any key the estimator does not have, and a
 * parameter given under both spellings.
 */
export function knownParams<T extends object>(estimator: string, given: T, known: readonly string[]): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined) continue;
    const name = known.includes(key) ? key : known.find((k) => snakeCase(k) === key);
    if (name === undefined) {
      throw new InvalidParameterError(
        `${estimator} has no parameter '${key}'`,
        `its parameters are: ${known.map((k) => (snakeCase(k) === k ? k : `${k} (${snakeCase(k)})`)).join(', ')}`,
      );
    }
    if (name in out) throw new InvalidParameterError(`${estimator} parameter '${name}' is given twice, as ${name} and ${snakeCase(name)}`, 'give it once');
    out[name] = value;
  }
  return out as T;
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
