import assert from 'node:assert/strict';

/**
 * Deep equality, with numbers equal to 1e-12 (relative) where `exact` is false: on a cluster a
 * group's rows reach the aggregate in no defined order (SQL orders only by the key), so sums may
 * round differently in the last bits. On one node `exact` is true and every bit must match.
 */
export function assertDeepClose(actual: unknown, expected: unknown, exact: boolean, path = '$'): void {
  if (exact) return assert.deepEqual(actual, expected, path);
  if (typeof actual === 'number' && typeof expected === 'number') {
    assert.ok(actual === expected || Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected)), `${path}: ${actual} vs ${expected}`);
    return;
  }
  if (Array.isArray(actual) && Array.isArray(expected)) {
    assert.equal(actual.length, expected.length, `${path}: length`);
    actual.forEach((a, i) => assertDeepClose(a, expected[i], exact, `${path}[${i}]`));
    return;
  }
  if (actual !== null && expected !== null && typeof actual === 'object' && typeof expected === 'object' && !(actual instanceof Date)) {
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${path}: keys`);
    for (const k of Object.keys(expected)) assertDeepClose((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], exact, `${path}.${k}`);
    return;
  }
  assert.deepEqual(actual, expected, path);
}

/** One node gives the same bits every time; a cluster may not (see assertDeepClose). */
export const exactOn = (backend: { name: string }): boolean => backend.name === 'pglite' || backend.name === 'postgres';
