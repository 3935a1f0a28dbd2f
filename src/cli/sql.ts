import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { type GlobalOptions, openFromOptions } from './options.js';
import { type Format, OutputClosedError, resultWriter, writerTo } from './text-output.js';

export function sqlCommand(program: Command): void {
  program
    .command('sql')
    .description("run one SQL statement and print its result as PostgreSQL prints it (a query's rows stream, in any number)")
    .argument('<statement>', 'one statement (several in one text are refused: run them one at a time)')
    .option('--format <format>', "table (psql's aligned format), csv (PostgreSQL's: NULL empty, '' quoted) or json (an array of objects; a repeated column name gets _2, _3)", 'table')
    .action(async (statement: string, o: { format: string }, cmd: Command) => {
      if (!['table', 'csv', 'json'].includes(o.format)) throw new UsageError(`--format must be table, csv or json, got ${JSON.stringify(o.format)}`);
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const db = await openFromOptions(g);
      try {
        const write = writerTo(process.stdout);
        const out = resultWriter(o.format as Format, write);
        const r = await db.sqlText(statement, out);
        if (r.returnedRows) await out.end();
        else await write(`OK${r.rowCount !== null ? ` (${r.rowCount} row${r.rowCount === 1 ? '' : 's'})` : ''}\n`);
      } catch (e) {
        // the reader closed the pipe (| head): the query is rolled back and the command ends quietly
        if (!(e instanceof OutputClosedError)) throw e;
      } finally {
        await db.close();
      }
    });
}
