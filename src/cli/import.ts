import type { Command } from 'commander';
import { parseQualifiedName } from '../sql/ident.js';
import { type GlobalOptions, openFromOptions } from './options.js';

export function importCommand(program: Command): void {
  program
    .command('import')
    .description('import a CSV file with a header line into a new table (column types are inferred)')
    .argument('<file>', 'the CSV file')
    .requiredOption('--into <table>', 'the table to create')
    .option('--replace', 'overwrite the table if it exists')
    .option('--delimiter <c>', 'field delimiter', ',')
    .action(async (file: string, o: { into: string; replace?: boolean; delimiter: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const db = await openFromOptions(g, { create: true });
      try {
        const r = await db.importCsv(file, { into: parseQualifiedName(o.into), replace: o.replace === true, delimiter: o.delimiter });
        process.stdout.write(`imported ${r.rows} rows into ${o.into} in ${r.seconds.toFixed(2)} s: ${r.columns.map((c) => `${c.name} ${c.type}`).join(', ')}\n`);
      } finally {
        await db.close();
      }
    });
}
