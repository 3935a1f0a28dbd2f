import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { cancellably } from './interrupt.js';
import { parseNameList, parseQualifiedName } from '../sql/ident.js';
import { type GlobalOptions, openFromOptions, outputFormat, parseSource, printJson } from './options.js';
import { progressRenderer } from './progress.js';

interface PredictCliOptions {
  models: string;
  from: string;
  into: string;
  features?: string;
  group?: string;
  engine: string;
  replace?: boolean;
  wait: boolean;
  fallback?: string;
  format?: string;
  view?: boolean;
}

export function predictCommand(program: Command): void {
  program
    .command('predict')
    .description("score rows with their group's model into a predictions table (the rows plus probability and prediction)")
    .requiredOption('--models <table>', 'a models table written by train')
    .requiredOption('--from <table|query>', 'rows to score, with the group key and feature columns')
    .requiredOption('--into <table>', 'the predictions table to write')
    .option('--features <cols>', 'feature column(s) of --from (default: those the models were trained on)')
    .option('--group <cols>', 'group key column(s) (default: the models table\'s)')
    .option('--engine <engine>', 'sql (score in the database) or ts (stream the rows through TypeScript)', 'sql')
    .option('--view', 'make --into a view that scores the rows when it is read (SQL engine): for reading a few groups at a time')
    .option('--replace', 'overwrite the output table even if manymodels did not write it')
    .option('--no-wait', 'fail at once (OUTPUT_LOCKED) if another run is writing the output table')
    .option('--fallback <model>', "global: score rows of groups without a usable model with the global model of a table trained with --pool global (marked in a column fallback); none (default): leave them NULL")
    .option('--format <format>', 'text (default) or json: the summary as one JSON object on stdout (progress stays on stderr)')
    .action(async (o: PredictCliOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      if (!['sql', 'ts'].includes(o.engine)) throw new UsageError(`--engine must be sql or ts, got ${JSON.stringify(o.engine)}`);
      if (o.fallback !== undefined && !['global', 'none'].includes(o.fallback)) throw new UsageError(`--fallback must be global or none, got ${JSON.stringify(o.fallback)}`);
      const format = outputFormat(o.format);
      const db = await openFromOptions(g);
      const progress = progressRenderer(g.quiet === true);
      try {
        const r = await cancellably((signal) => db.predict({
          signal,
          models: parseQualifiedName(o.models),
          from: parseSource(o.from),
          into: parseQualifiedName(o.into),
          features: o.features === undefined ? undefined : parseNameList(o.features),
          group: o.group === undefined ? undefined : parseNameList(o.group),
          engine: o.engine as 'sql' | 'ts',
          replace: o.replace === true,
          wait: o.wait,
          fallback: o.fallback as 'global' | 'none' | undefined,
          view: o.view === true,
          onProgress: progress.listener,
        }));
        progress.stop();
        if (format === 'json') {
          printJson(r);
          return;
        }
        if (r.view === true) {
          process.stdout.write(`created the view ${o.into}: its rows are scored when it is read, with the models as they are then (run predict without --view for a table)\n`);
          return;
        }
        process.stdout.write(
          `scored ${r.rows} row${r.rows === 1 ? '' : 's'} into ${o.into} in ${r.seconds.toFixed(2)} s (${r.engine} engine, run ${r.runId})` +
            (r.rowsFallback !== undefined ? `\n  ${r.rowsFallback} row${r.rowsFallback === 1 ? '' : 's'} of groups without a usable model scored by the global model (fallback = true)` : '') +
            (r.rowsWithoutModel > 0 ? `\n  ${r.rowsWithoutModel} row${r.rowsWithoutModel === 1 ? '' : 's'} had no usable model: their prediction is NULL` : '') +
            (r.rowsUnscored > 0
              ? `\n  ${r.rowsUnscored} row${r.rowsUnscored === 1 ? '' : 's'} had a model but could not be scored (a NULL, NaN or infinite feature, a feature array of the wrong length, or no finite value): their prediction is NULL`
              : '') +
            '\n',
        );
      } finally {
        progress.stop();
        await db.close();
      }
    });
}
