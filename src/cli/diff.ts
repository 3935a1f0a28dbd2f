import type { Command } from 'commander';
import type { DiffKey } from '../index.js';
import { parseQualifiedName } from '../sql/ident.js';
import { type GlobalOptions, intOption, openFromOptions, outputFormat, printJson } from './options.js';

const key = (k: DiffKey): string => Object.values(k).map((v) => (v === null ? 'NULL' : v)).join(', ');

export function diffCommand(program: Command): void {
  program
    .command('diff')
    .description('what changed between the states two runs wrote to a models table: groups added, removed, refitted, and the largest changes')
    .argument('<run-a>', 'the earlier run (its id, or a unique prefix)')
    .argument('<run-b>', 'the later run')
    .option('--models <table>', 'the models table (default: the one run B wrote)')
    .option('--limit <n>', 'groups listed per kind', '10')
    .option('--format <format>', 'text (default) or json: the result as one JSON object')
    .action(async (runA: string, runB: string, o: { models?: string; limit: string; format?: string }, cmd: Command) => {
      const format = outputFormat(o.format);
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const db = await openFromOptions(g);
      try {
        const d = await db.diff({ runA, runB, models: o.models === undefined ? undefined : parseQualifiedName(o.models), limit: intOption('--limit', o.limit, 0) });
        if (format === 'json') {
          printJson(d);
          return;
        }
        const more = (n: number, shown: number) => (n > shown ? `, ... (${n - shown} more)` : '');
        const lines = [
          `${d.table}: run ${d.runA} → run ${d.runB}`,
          `  added ${d.added}, removed ${d.removed}, refitted ${d.refitted}, unchanged ${d.unchanged}`,
          ...(d.added > 0 ? [`  added: ${d.addedGroups.map(key).join('; ')}${more(d.added, d.addedGroups.length)}`] : []),
          ...(d.removed > 0 ? [`  removed: ${d.removedGroups.map(key).join('; ')}${more(d.removed, d.removedGroups.length)}`] : []),
          ...(d.refitted > 0 ? [`  refitted: ${d.refittedGroups.map(key).join('; ')}${more(d.refitted, d.refittedGroups.length)}`] : []),
        ];
        if (d.coefficientChanges.length > 0) lines.push('  largest coefficient changes:', ...d.coefficientChanges.map((c) => `    ${key(c.key)}: ${c.maxAbsChange.toPrecision(4)}`));
        if (d.scoreChanges.length > 0) lines.push('  largest train_score changes:', ...d.scoreChanges.map((c) => `    ${key(c.key)}: ${c.before.toFixed(4)} → ${c.after.toFixed(4)}`));
        if (d.metricChanges.length > 0) lines.push('  largest metric changes:', ...d.metricChanges.map((c) => `    ${key(c.key)}: ${c.metric} ${c.before.toPrecision(4)} → ${c.after.toPrecision(4)}`));
        if (d.statusChanges.length > 0) lines.push('  status changes:', ...d.statusChanges.map((c) => `    ${key(c.key)}: ${c.before} → ${c.after}`));
        process.stdout.write(`${lines.join('\n')}\n`);
      } finally {
        await db.close();
      }
    });
}
