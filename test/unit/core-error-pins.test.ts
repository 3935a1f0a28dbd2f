import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LinearRegression, LogisticRegression, ManyModelsError, Ridge } from 'manymodels';
import { BinaryCopyDecoder } from '../../dist/copy/binary-decoder.js';
import { matrix } from '../../dist/estimators/input.js';

/**
 * The codes of docs/errors.md that the numerical core and the COPY decoder throw, each pinned by a
 * test named after it (the map of code → test is in test/integration/error-code-pins.test.ts).
 */
function throwsCode(f: () => unknown, code: string, message: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof ManyModelsError, `not a ManyModelsError: ${e}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  });
}

describe('error codes of the numerical core and the COPY decoder', () => {
  it('EMPTY_INPUT: no rows, or rows without features', () => {
    throwsCode(() => new LinearRegression().fit([], []), 'EMPTY_INPUT', /X is empty: it needs at least one row/);
    throwsCode(() => new LinearRegression().fit([[], []], [1, 2]), 'EMPTY_INPUT', /X has rows with no features/);
  });
  it('INVALID_INPUT: X that is not a 2-D array', () => {
    throwsCode(() => new Ridge().fit([1, 2, 3] as never, [1, 2, 3]), 'INVALID_INPUT', /X must be a 2-D array .* row 0 is number/);
  });
  it('RAGGED_INPUT: rows of different lengths', () => {
    throwsCode(() => new LinearRegression().fit([[1, 2], [3]], [1, 2]), 'RAGGED_INPUT', /X is ragged: row 0 has 2 values but row 1 has 1/);
  });
  it('SHAPE_MISMATCH: a flat array that does not fill its matrix', () => {
    throwsCode(() => matrix(new Float64Array(5), 2, 3), 'SHAPE_MISMATCH', /a 2×3 matrix needs 6 numbers, the array has 5/);
  });
  it('LENGTH_MISMATCH: y and X of different lengths', () => {
    throwsCode(() => new LogisticRegression().fit([[1], [2], [3]], [0, 1]), 'LENGTH_MISMATCH', /y has 2 values but X has 3 rows/);
  });
  it('INVALID_LABEL: text targets for a regressor, mixed label types', () => {
    throwsCode(() => new LinearRegression().fit([[1], [2]], ['a', 'b'] as never), 'INVALID_LABEL', /y\[0\] is "a": a regressor needs numeric targets/);
    throwsCode(() => new LogisticRegression().fit([[1], [2]], [0, 'b'] as never), 'INVALID_LABEL', /y mixes label types: y\[0\] is 0 but y\[1\] is "b"/);
  });
  it('INVALID_SAMPLE_WEIGHT: a negative or non-finite weight', () => {
    throwsCode(() => new Ridge().fit([[1], [2]], [1, 2], [1, -1]), 'INVALID_SAMPLE_WEIGHT', /sampleWeight\[1\] is -1/);
    throwsCode(() => new Ridge().fit([[1], [2]], [1, 2], [NaN, 1]), 'INVALID_SAMPLE_WEIGHT', /sampleWeight\[0\] is NaN/);
  });
  it('COPY_FORMAT: a stream without the signature, a row of the wrong width, a stream cut short', () => {
    const d = new BinaryCopyDecoder(1);
    throwsCode(() => d.feed(new Uint8Array(19), () => undefined), 'COPY_FORMAT', /does not start with the binary COPY signature/);
    const header = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];
    const wide = new BinaryCopyDecoder(1);
    throwsCode(() => wide.feed(Uint8Array.from([...header, 0, 2, 255, 255, 255, 255, 255, 255, 255, 255]), () => undefined), 'COPY_FORMAT', /a COPY row has 2 fields where 1 were expected/);
    const cut = new BinaryCopyDecoder(1);
    cut.feed(Uint8Array.from([...header, 0, 1, 0, 0]), () => undefined);
    throwsCode(() => cut.finish(), 'COPY_FORMAT', /ended in the middle of a row/);
  });
});
