#!/usr/bin/env node
/**
 * Hand-made mutants of the code the tests must guard (the group cutter, the scorers, the loss
 * gradient, the table swap): each flips a comparison, shifts an index by one or drops a step,
 * in a copy of the repository (never this checkout); the copy is built and the tests that should
 * notice are run. A mutant is "killed" when at least one of them fails.
 *
 *   node scripts/mutants.mjs [id ...]        (all mutants by default; prints a Markdown table)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const UNIT = (f) => ['unit', `test/unit/${f}.test.ts`];
const INT = (f) => ['integration', `test/integration/${f}.test.ts`];

const MUTANTS = [
  // the group cutter
  { id: 'cutter-limit-off-by-one', file: 'src/pipeline/group-cutter.ts', from: 'if (this.gRows < this.limits.maxGroupRows) return false;', to: 'if (this.gRows <= this.limits.maxGroupRows) return false;', tests: [UNIT('group-cutter')] },
  { id: 'cutter-key-bytes', file: 'src/pipeline/group-cutter.ts', from: 'this.pushKey(row.buf, row.start[0] - 4, row.start[m - 1] + Math.max(0, row.len[m - 1]));', to: 'this.pushKey(row.buf, row.start[0] - 4, row.start[m - 1] + Math.max(0, row.len[m - 1]) - 1);', tests: [UNIT('group-cutter')] },
  { id: 'cutter-key-compare', file: 'src/pipeline/group-cutter.ts', from: 'for (let i = 0; i < n; i++) if (src[kStart + i] !== key[at + i]) return true;', to: 'for (let i = 0; i < n - 1; i++) if (src[kStart + i] !== key[at + i]) return true;', tests: [UNIT('group-cutter')] },
  { id: 'cutter-group-size', file: 'src/pipeline/group-cutter.ts', from: 'this.left = n;', to: 'this.left = n - 1;', tests: [UNIT('group-cutter')] },
  { id: 'cutter-batch-groups', file: 'src/pipeline/group-cutter.ts', from: 'this.groups >= this.limits.batchGroups', to: 'this.groups > this.limits.batchGroups', tests: [UNIT('group-cutter')] },
  { id: 'cutter-null-key', file: 'src/pipeline/group-cutter.ts', from: 'for (let f = 0; f < keyFields; f++) if (row.len[f] >= 0) return false;', to: 'for (let f = 0; f < keyFields; f++) if (row.len[f] > 0) return false;', tests: [UNIT('group-cutter')] },
  { id: 'key-bytes-types', file: 'src/sql/types.ts', from: '2950 /* uuid */]);', to: '2950 /* uuid */, OID.numeric, OID.float8]);', tests: [INT('group-keys')] },
  // the scorers: SQL functions and the TypeScript estimator
  { id: 'sql-sigmoid-sign', file: 'src/sql/scoring.ts', from: 'WHEN z >= 0 THEN 1 / (1 + exp(-least(z, 700)))', to: 'WHEN z > 0 THEN 1 / (1 + exp(-least(z, 700)))', tests: [INT('train-predict')], note: 'z = 0 exactly is never scored: equivalent mutant' },
  { id: 'sql-sigmoid-flip', file: 'src/sql/scoring.ts', from: 'WHEN z >= 0 THEN 1 / (1 + exp(-least(z, 700)))', to: 'WHEN z >= 0 THEN 1 / (1 + exp(least(z, 700)))', tests: [INT('train-predict')] },
  { id: 'sql-proba-order', file: 'src/sql/scoring.ts', from: 'ARRAY[1 - p, p]', to: 'ARRAY[p, 1 - p]', tests: [INT('train-predict')] },
  { id: 'sql-feature-index', file: 'src/sql/scoring.ts', from: 'x[array_lower(x, 1) + c.i - 1]', to: 'x[array_lower(x, 1) + c.i]', tests: [INT('train-predict')] },
  { id: 'ts-proba-sign', file: 'src/estimators/logistic-regression.ts', from: 'const p1 = sigmoid(z[i]);', to: 'const p1 = sigmoid(-z[i]);', tests: [UNIT('logistic-fixtures')] },
  // the loss gradient
  { id: 'grad-residual-sign', file: 'src/loss/binary-logistic.ts', from: 'xt[R + i] = si * (p - y[i]);', to: 'xt[R + i] = si * (y[i] - p);', tests: [UNIT('logistic-fixtures')] },
  { id: 'grad-penalised-intercept', file: 'src/loss/binary-logistic.ts', from: 'grad[d] = scale * g;', to: 'grad[d] = scale * g + this.l2 * w[d];', tests: [UNIT('logistic-fixtures')] },
  { id: 'grad-kernel-no-penalty', file: 'src/loss/binary-logistic.ts', from: 'grad[j] = scale * xt[W + d + j] + this.l2 * w[j];', to: 'grad[j] = scale * xt[W + d + j];', tests: [UNIT('logistic-fixtures')] },
  { id: 'grad-loop-off-by-one', file: 'src/loss/binary-logistic.ts', from: 'for (let i = 0; i < n; i++) g += xt[R + i] * xt[o + i];', to: 'for (let i = 1; i < n; i++) g += xt[R + i] * xt[o + i];', tests: [UNIT('logistic-fixtures')] },
  // the table swap and the clean-up of a failed run
  { id: 'swap-cascade', file: 'src/pipeline/output-table.ts', from: 'await conn.exec(`DROP TABLE IF EXISTS ${qident(s.target)}`);', to: 'await conn.exec(`DROP TABLE IF EXISTS ${qident(s.target)} CASCADE`);', tests: [INT('train-predict'), INT('error-code-pins')] },
  { id: 'swap-no-transaction', file: 'src/pipeline/output-table.ts', from: "const name = s.target[s.target.length - 1];\n  await conn.exec('BEGIN');", to: "const name = s.target[s.target.length - 1];\n  await conn.exec('SELECT 1');", tests: [INT('pglite-sigkill')] },
  { id: 'abandon-keeps-staging', file: 'src/pipeline/output-table.ts', from: 'for (const t of workTablesOf(s))', to: 'for (const t of workTablesOf(s).slice(1))', tests: [INT('bad-input')] },
];

function run(cmd, args, cwd, env = {}) {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 28 });
}

const only = process.argv.slice(2);
const rows = [];
const copy = mkdtempSync(join(tmpdir(), 'manymodels-mutants-'));
try {
  cpSync(ROOT, copy, { recursive: true, filter: (src) => !/\/(node_modules|\.git|dist|\.manymodels)(\/|$)/.test(src.slice(ROOT.length - 1)) });
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  for (const m of MUTANTS) {
    if (only.length > 0 && !only.includes(m.id)) continue;
    const path = join(copy, m.file);
    const original = readFileSync(path, 'utf8');
    const t0 = Date.now();
    let result;
    if (!original.includes(m.from)) {
      result = 'not applicable (the code changed)';
    } else {
      writeFileSync(path, original.replace(m.from, m.to));
      try {
        execFileSync(process.execPath, [join(copy, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: copy, stdio: 'pipe' });
        const failed = [];
        for (const [kind, file] of m.tests) {
          const r = kind === 'unit'
            ? run(process.execPath, ['--import', 'tsx', '--test', file], copy)
            : run(process.execPath, ['--import', 'tsx', 'test/run.ts', file], copy);
          if (r.status !== 0) failed.push(`${file.replace(/^test\//, '')} (${(r.stdout.match(/^# fail (\d+)/m) ?? [])[1] ?? '?'} failed)`);
        }
        result = failed.length > 0 ? `killed by ${failed.join(', ')}` : 'SURVIVED';
      } catch (e) {
        result = `killed by the compiler: ${String(e.stderr ?? e).split('\n')[0]}`;
      } finally {
        writeFileSync(path, original);
      }
    }
    const row = `| ${m.id} | \`${m.file}\` | ${result}${m.note && result === 'SURVIVED' ? ` (${m.note})` : ''} | ${((Date.now() - t0) / 1000).toFixed(0)} s |`;
    rows.push(row);
    process.stderr.write(`${row}\n`);
  }
} finally {
  rmSync(copy, { recursive: true, force: true });
}
process.stdout.write(`| mutant | file | result | time |\n| --- | --- | --- | --- |\n${rows.join('\n')}\n`);
process.exit(rows.some((r) => r.includes('SURVIVED')) ? 1 : 0);
