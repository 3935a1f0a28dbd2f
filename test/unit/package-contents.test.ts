/**
 * What `npm publish` would ship (issue 9, item 18): a LICENSE, no source maps pointing at sources that
 * are not shipped, no fault injection, no links out of the repository; and types that a consumer
 * compiles WITHOUT skipLibCheck, with `estimator` and error `code` as unions, and without the
 * generic typed arrays that TypeScript before 5.7 cannot read.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const ROOT = new URL('../../', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'manymodels-pack-'));
after(() => rmSync(work, { recursive: true, force: true }));

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function packedFiles(): string[] {
  const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  return (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
}

describe('the published package', () => {
  it('has the MIT licence of package.json, no source maps, no fault injection, no repository-external links', () => {
    const files = packedFiles();
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { license: string };
    assert.equal(pkg.license, 'MIT');
    assert.ok(files.includes('LICENSE'), 'LICENSE is shipped');
    assert.match(readFileSync(join(ROOT, 'LICENSE'), 'utf8'), /^MIT License\n[\s\S]*Permission is hereby granted, free of charge/);
    assert.deepEqual(files.filter((f) => f.endsWith('.map')), [], 'no source maps (their sources are not shipped)');
    assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts') && files.includes('dist/cli/main.js'));
    for (const f of files.filter((x) => x.endsWith('.js'))) {
      const text = readFileSync(join(ROOT, f), 'utf8');
      assert.ok(!/MANYMODELS_FAULT_PAUSE_AT/.test(text), `${f} holds no switch that stops a run`);
    }
    assert.ok(!files.some((f) => f.startsWith('test/') || f.startsWith('bench/') || f.endsWith('prof-train.ts')));
    assert.ok(!existsSync(join(ROOT, 'prof-train.ts')), 'no profiling script with an absolute path at the root');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.deepEqual(readme.match(/\.\.\/[\w./-]+/g) ?? [], [], 'the README points at nothing outside the repository');
    for (const m of readme.matchAll(/\]\(([^)#]+)\)/g)) {
      if (!/^https?:/.test(m[1])) assert.ok(files.includes(m[1]) || existsSync(join(ROOT, m[1])), `README link ${m[1]} exists`);
    }
    assert.match(readme, /ESM-only/);
  });

  it('compiles for a consumer with strict checks of the library types (skipLibCheck off), in a form TypeScript 5.4 reads', () => {
    const out = execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' });
    const tarball = join(work, (JSON.parse(out) as { filename: string }[])[0].filename);
    const app = join(work, 'app');
    const pkgDir = join(app, 'node_modules', 'manymodels');
    mkdirSync(pkgDir, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', pkgDir, '--strip-components=1']);
    // the package's own dependencies and Node's types, from this checkout
    for (const dep of ['@electric-sql', 'pg', 'pg-copy-streams', 'commander', 'cli-progress', '@types']) symlinkSync(join(ROOT, 'node_modules', dep), join(app, 'node_modules', dep));
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] }, files: ['index.ts'] }),
    );
    writeFileSync(
      join(app, 'index.ts'),
      `import { open, LogisticRegression, ManyModelsError, ERROR_CODES, type ErrorCode, type TrainOptions } from 'manymodels';
import { Ridge } from 'manymodels/core';
const db = await open();
const opts: TrainOptions = { from: 'offer', group: 'userid', features: ['a'], label: 'y', into: 'm', estimator: 'ridge', params: { max_iter: 5 } };
// @ts-expect-error: estimator is a union of names, not any string
const wrong: TrainOptions = { ...opts, estimator: 'svm' };
try {
  await db.train(opts);
} catch (e) {
  if (e instanceof ManyModelsError) {
    const code: ErrorCode = e.code;
    // @ts-expect-error: code is a union of the documented codes
    const bogus: ErrorCode = 'NO_SUCH_CODE';
    switch (code) {
      case 'TABLE_NOT_FOUND': break;
      case 'MULTIPLE_STATEMENTS': break;
    }
    console.log(ERROR_CODES.length, bogus, wrong);
  }
}
new LogisticRegression({ C: 1, max_iter: 50, fit_intercept: true });
new Ridge({ alpha: 1, fit_intercept: false });
`,
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', app], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    // TypeScript before 5.7 has no generic typed arrays ("Type 'Uint8Array' is not generic"): the
    // shipped declarations must not write them (checked by hand with typescript@5.4.5 as well)
    const generic = files(pkgDir).filter((f) => f.endsWith('.d.ts')).filter((f) => /\b(?:Uint8|Float64|Int32|Uint32|Float32)Array<|ArrayBufferLike/.test(readFileSync(f, 'utf8')));
    assert.deepEqual(generic.map((f) => f.slice(pkgDir.length + 1)), [], 'declarations that TypeScript 5.4 cannot read');
  });
});

it('the library takes scikit-learn spellings of parameters, as the command line does', async () => {
  const { LogisticRegression, Ridge, LinearRegression } = await import('manymodels');
  const a = new LogisticRegression({ max_iter: 7, fit_intercept: false, class_weight: 'balanced' });
  assert.deepEqual([a.maxIter, a.fitIntercept, a.classWeight], [7, false, 'balanced']);
  assert.equal(new Ridge({ fit_intercept: false }).fitIntercept, false);
  assert.equal(new LinearRegression({ fit_intercept: false }).fitIntercept, false);
  assert.throws(() => new LogisticRegression({ maxIter: 5, max_iter: 6 }), /'maxIter' is given twice, as maxIter and max_iter/);
  assert.throws(() => new LogisticRegression({ max_iterr: 5 } as never), (e: { code?: string; message: string }) => e.code === 'INVALID_PARAMETER' && /no parameter 'max_iterr'[\s\S]*maxIter \(max_iter\)/.test(e.message));
});

it("predict's --help and the README give the same default engine as the code", () => {
  const help = spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'predict', '--help'], { encoding: 'utf8' }).stdout;
  assert.match(help, /--engine <engine> +sql \(score in the database\) or ts[\s\S]*\(default: "sql"\)/);
  assert.match(readFileSync(join(ROOT, 'README.md'), 'utf8'), /`--engine sql` \(the default\)/);
});
