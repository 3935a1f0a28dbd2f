import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { parseQualifiedName } from '../sql/ident.js';
import { type GlobalOptions, openFromOptions } from './options.js';

interface ExportCliOptions {
  models: string;
  format: string;
  out?: string;
  intoColumn?: boolean;
  replace?: boolean;
}

export function exportCommand(program: Command): void {
  program
    .command('export')
    .description('export the ok models of a models table: one ONNX model or one scikit-learn pickle per group')
    .requiredOption('--models <table>', 'a models table written by train')
    .requiredOption('--format <format>', 'onnx (ai.onnx.ml LinearClassifier / LinearRegressor) or sklearn (a pickle scikit-learn 1.2.1 loads)')
    .option('--out <dir>', 'the directory to write: one file per group and manifest.json')
    .option('--into-column', 'sklearn: also write each pickle into a `pickle bytea` column of the models table')
    .option('--replace', 'replace the contents of a non-empty --out directory')
    .action(async (o: ExportCliOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      if (o.format !== 'onnx' && o.format !== 'sklearn') throw new UsageError(`--format must be onnx or sklearn, got ${JSON.stringify(o.format)}`);
      if (o.out === undefined && o.intoColumn !== true) throw new UsageError('give --out DIR, or --into-column with --format sklearn');
      const db = await openFromOptions(g);
      try {
        const r = await db.exportModels({ models: parseQualifiedName(o.models), format: o.format, out: o.out, intoColumn: o.intoColumn === true, replace: o.replace === true });
        const where = [r.out === null ? null : `${r.out}`, r.column === null ? null : `column ${r.column} of ${o.models}`].filter((x) => x !== null).join(' and ');
        process.stdout.write(`exported ${r.models} ${o.format === 'onnx' ? 'ONNX model' : 'scikit-learn pickle'}${r.models === 1 ? '' : 's'} into ${where} in ${r.seconds.toFixed(2)} s\n`);
      } finally {
        await db.close();
      }
    });
}
