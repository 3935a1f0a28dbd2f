import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { type GlobalOptions, openFromOptions } from './options.js';
import { type Format, render } from './render.js';

export function sqlCommand(program: Command): void {
  program
    .command('sql')
    .description('run one SQL statement and print its rows')
    .argument('<query>', 'the statement')
    .option('--format <format>', 'table, csv or json', 'table')
    .action(async (query: string, o: { format: string }, cmd: Command) => {
      if (!['table', 'csv', 'json'].includes(o.format)) throw new UsageError(`--format must be table, csv or json, got ${JSON.stringify(o.format)}`);
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const db = await openFromOptions(g);
      try {
        const r = await db.sql(query);
        if (r.fields.length > 0) process.stdout.write(`${render(r, o.format as Format)}\n`);
        else process.stdout.write(`OK${r.rowCount !== null ? ` (${r.rowCount} row${r.rowCount === 1 ? '' : 's'})` : ''}\n`);
      } finally {
        await db.close();
      }
    });
}
