import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { parseQualifiedName } from '../sql/ident.js';
import { type GlobalOptions, openFromOptions } from './options.js';

interface ReportCliOptions {
  models: string;
  predictions?: string;
  recommendations?: string;
  out: string;
  feature?: string;
  groups: string;
  title?: string;
}

export function reportCommand(program: Command): void {
  program
    .command('report')
    .description('write one self-contained HTML report (runs, failures, distributions, coefficients, calibration, ROC, response curves, recommendations)')
    .requiredOption('--models <table>', 'a models table written by train')
    .option('--predictions <table>', 'a predictions table with the label column (held-out rows): calibration and ROC')
    .option('--recommendations <table>', 'a table written by recommend')
    .option('--out <file>', 'the HTML file to write', 'report.html')
    .option('--feature <name>', 'the feature of the response curves (default: the first)')
    .option('--groups <n>', 'how many sampled groups get a response curve', '12')
    .option('--title <text>', 'the report\'s title')
    .action(async (o: ReportCliOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const n = Number(o.groups);
      if (!Number.isInteger(n) || n < 0 || n > 100) throw new UsageError(`--groups must be an integer from 0 to 100, got ${JSON.stringify(o.groups)}`, undefined, 'INVALID_OPTION');
      const db = await openFromOptions(g);
      try {
        const r = await db.report({
          models: parseQualifiedName(o.models),
          predictions: o.predictions === undefined ? undefined : parseQualifiedName(o.predictions),
          recommendations: o.recommendations === undefined ? undefined : parseQualifiedName(o.recommendations),
          out: o.out,
          responseFeature: o.feature,
          responseGroups: n,
          title: o.title,
        });
        process.stdout.write(`wrote ${r.file} (${(r.bytes / 1024).toFixed(0)} KiB, ${r.charts} charts); open it in a browser, no network needed\n`);
      } finally {
        await db.close();
      }
    });
}
