import type { Command } from 'commander';
import { runDemo } from '../demo.js';
import { type GlobalOptions, openFromOptions } from './options.js';
import { renderTable } from './render.js';

export function demoCommand(program: Command): void {
  program
    .command('demo')
    .description("run the email-offer demo on the embedded database: one logistic regression per user, predictions for 9 offers, each user's best offer (recommend), and an HTML report")
    .option('--report <file>', 'where to write the HTML report', 'demo-report.html')
    .action(async (o: { report: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const db = await openFromOptions(g, { create: true });
      try {
        process.stdout.write(`manymodels demo on ${db.database.description}\n`);
        const out = await runDemo(
          db,
          (title, res) => {
            process.stdout.write(`\n== ${title}\n`);
            if (res) process.stdout.write(`${renderTable(res)}\n`);
          },
          o.report,
        );
        process.stdout.write(`\nthe report: ${out.report?.file} (${out.report?.charts} charts; open it in a browser)\n`);
      } finally {
        await db.close();
      }
    });
}
