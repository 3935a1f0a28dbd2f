import type { Command } from 'commander';
import { parseQualifiedName } from '../sql/ident.js';
import { cancellably } from './interrupt.js';
import { type GlobalOptions, intOption, openFromOptions, outputFormat, printJson } from './options.js';

export function rollbackCommand(program: Command): void {
  program
    .command('rollback')
    .description('restore an earlier state of a models table (default: the one before the latest run), in one transaction')
    .requiredOption('--models <table>', 'the models table')
    .option('--to <run>', 'the run whose state to restore (its id, or a unique prefix of 4 characters or more; see manymodels runs --models)')
    .option('--keep <n>', 'earlier versions to keep, counting the state this rollback replaces', '3')
    .option('--no-wait', 'fail at once (OUTPUT_LOCKED) if another run is writing the table')
    .option('--format <format>', 'text (default) or json: the result as one JSON object')
    .action(async (o: { models: string; to?: string; keep: string; wait: boolean; format?: string }, cmd: Command) => {
      const format = outputFormat(o.format);
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const db = await openFromOptions(g);
      try {
        const r = await cancellably((signal) => db.rollback({ models: parseQualifiedName(o.models), to: o.to, keep: intOption('--keep', o.keep, 0), wait: o.wait, signal }));
        if (format === 'json') printJson(r);
        else process.stdout.write(`restored ${o.models} as run ${r.restored} wrote it (${r.groupsOk} ok, ${r.groupsFailed} failed groups) in ${r.seconds.toFixed(2)} s (run ${r.runId}); the replaced state of run ${r.replaced} is kept as a version\n`);
      } finally {
        await db.close();
      }
    });
}
