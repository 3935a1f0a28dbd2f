#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { redactUrls } from '../db/errors.js';
import { CancelledError, ManyModelsError, UsageError } from '../errors.js';
import { VERSION } from '../version.js';
import { signalled } from './interrupt.js';
import { printedJson, printJson } from './options.js';
import { demoCommand } from './demo.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { modelsCommand } from './models.js';
import { predictCommand } from './predict.js';
import { recommendCommand } from './recommend.js';
import { reportCommand } from './report.js';
import { runsCommand } from './runs.js';
import { showCommand } from './show.js';
import { diffCommand } from './diff.js';
import { rollbackCommand } from './rollback.js';
import { sqlCommand } from './sql.js';
import { trainCommand } from './train.js';

/**
 * Exit codes: 0 done; 1 the run failed (a database or data problem, or no group could be fitted);
 * 2 the command was malformed; 130 / 143 cancelled by SIGINT / SIGTERM.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command();
  program
    .name('manymodels')
    .description('Train, store and score one machine-learning model per group in PostgreSQL (embedded PGlite by default).')
    .version(VERSION)
    .option('--db <url|dir>', 'a postgres:// URL, or the directory of an embedded database (default: $MANYMODELS_DB, else $DATABASE_URL, else ./.manymodels/db; only import, train and demo create one)')
    .option('-q, --quiet', 'no progress output')
    .showHelpAfterError()
    .exitOverride();
  for (const add of [demoCommand, trainCommand, predictCommand, exportCommand, recommendCommand, reportCommand, importCommand, sqlCommand, modelsCommand, showCommand, runsCommand, rollbackCommand, diffCommand]) add(program);
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return 0;
      // the parser has said what is wrong on stderr; --format json: stdout still holds one object
      if (wantsJson(argv) && !printedJson()) printJson({ error: { code: 'USAGE', message: e.message.replace(/^error: /, ''), hint: 'run the command with --help to see its options' } });
      return 2;
    }
    if (e instanceof ManyModelsError) {
      process.stderr.write(`manymodels: error [${e.code}]: ${redactUrls(e.message)}\n`);
      // --format json: a pipeline reading stdout gets one object either way, here the error's code and words
      if (wantsJson(argv) && !printedJson()) {
        const hint = e.hint === undefined ? null : redactUrls(e.hint);
        printJson({ error: { code: e.code, message: redactUrls(e.message.split('\n  hint: ')[0]), hint } });
      }
      if (e instanceof CancelledError) return signalled() === 'SIGTERM' ? 143 : 130;
      return e instanceof UsageError ? 2 : 1;
    }
    process.stderr.write(`manymodels: unexpected error: ${redactUrls((e as Error)?.stack ?? String(e))}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

/** Whether the command line asks for JSON output (--format json or --format=json). */
function wantsJson(argv: readonly string[]): boolean {
  return argv.some((a, i) => a === '--format=json' || (a === '--format' && argv[i + 1] === 'json'));
}
