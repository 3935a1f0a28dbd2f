import type { Command } from 'commander';
import { runDemo } from '../demo.js';
import { type GlobalOptions, openFromOptions } from './options.js';
import { renderTable } from './render.js';

export function demoCommand(program: Command): void {
  program
    .command('demo')
    .description("run the email-offer demo: one logistic regression per user, predictions for 9 offers, each user's best offer (recommend), and an HTML report; its tables go in the schema manymodels_demo")
    .option('--report <file>', 'where to write the HTML report', 'demo-report.html')
    .option('--replace', 'write into a schema manymodels_demo that the demo did not create, replacing its tables of the demo\'s names')
    .action(async (o: { report: string; replace?: boolean }, cmd: Command) => {
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
          { report: o.report, replace: o.replace === true },
        );
        process.stdout.write(`\nthe report: ${out.report?.file} (${out.report?.charts} charts; open it in a browser)\n`);
      } finally {
        await db.close();
      }
    });
}
