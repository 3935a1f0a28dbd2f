/**
 * docs/errors.md lists every code the product can emit, and nothing else (issue 9): the codes are
 * collected from the source text (string literals in UPPER_SNAKE_CASE, codes passed to error
 * constructors, `CODE: reason` texts of failed groups, the SQLSTATE table), compared with the
 * tables of docs/errors.md and with ERROR_CODES and WARNING_CODES, the lists behind the `ErrorCode`
 * and `WarningCode` types.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { ERROR_CODES, WARNING_CODES } from 'manymodels';

const ROOT = new URL('../../', import.meta.url).pathname;

/** Literals that look like codes and are not: each with its reason. */
const NOT_CODES: Record<string, string> = {
  PG_VERSION: "the file that marks a PGlite data directory (db/open.ts)",
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function codesInSource(): Map<string, string> {
  const found = new Map<string, string>();
  const add = (code: string, file: string): void => {
    if (!(code in NOT_CODES) && !found.has(code)) found.set(code, file.slice(ROOT.length));
  };
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    let text = readFileSync(file, 'utf8');
    // the list itself is what is checked, not a place where codes are emitted
    if (file.endsWith('/src/errors.ts')) text = text.replace(/export const ERROR_CODES = \[[\s\S]*?\] as const;/, '');
    for (const m of text.matchAll(/'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'/g)) add(m[1], file);
    // one-word codes where a code goes: an error's first argument, UsageError's third, a `code:` field
    for (const m of text.matchAll(/(?:new \w*Error|super)\(\s*'([A-Z][A-Z0-9_]*)'/g)) add(m[1], file);
    for (const m of text.matchAll(/\bcode(?:\??: [\w ]+)?\s*[:=]\s*'([A-Z][A-Z0-9_]*)'/g)) add(m[1], file);
    for (const m of text.matchAll(/UsageError\([^;]*?,\s*'([A-Z][A-Z0-9_]*)'\s*\)/g)) add(m[1], file);
    // the reasons of failed groups, written as 'CODE: message' in TypeScript or in generated SQL
    for (const m of text.matchAll(/['`]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*): /g)) add(m[1], file);
  }
  return found;
}

function codesInDocs(): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync(join(ROOT, 'docs/errors.md'), 'utf8').split('\n')) {
    const first = /^\| ([^|]+) \|/.exec(line)?.[1];
    if (first === undefined) continue;
    for (const m of first.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) out.add(m[1]);
  }
  return out;
}

it('every code in the source is in docs/errors.md and in ERROR_CODES, and the other way round', () => {
  const source = codesInSource();
  const docs = codesInDocs();
  const listed = new Set<string>([...ERROR_CODES, ...WARNING_CODES]);
  const missingInDocs = [...source.keys()].filter((c) => !docs.has(c)).map((c) => `${c} (${source.get(c)})`);
  assert.deepEqual(missingInDocs, [], 'codes the source emits that docs/errors.md does not describe');
  const notEmitted = [...docs].filter((c) => !source.has(c));
  assert.deepEqual(notEmitted, [], 'codes docs/errors.md describes that nothing in the source emits');
  assert.deepEqual([...listed].filter((c) => !source.has(c)), [], 'ERROR_CODES / WARNING_CODES entries that nothing emits');
  assert.deepEqual([...source.keys()].filter((c) => !listed.has(c)), [], 'emitted codes missing from ERROR_CODES / WARNING_CODES');
  assert.ok(source.size >= 50, `the scan found ${source.size} codes: it is looking in the right place`);
});

it('the scan finds codes in each of the places codes are written', () => {
  const source = codesInSource();
  for (const [code, where] of [
    ['USAGE', 'src/errors.ts'], // a default argument
    ['SINGLE_CLASS', 'src/errors.ts'], // super('SINGLE_CLASS', ...)
    ['WORKER_CRASHED', 'src/exec/pool.ts'], // a group's reason text
    ['UNSUPPORTED', 'src/sql/in-database.ts'], // a reason written by generated SQL
    ['CONVERGENCE', 'src/warnings.ts'], // a warning's code field
  ] as const) {
    assert.ok(source.has(code), `${code} is found`);
    assert.ok(readFileSync(join(ROOT, where), 'utf8').includes(code), `${code} is written in ${where}`);
  }
});
