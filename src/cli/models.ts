import type { Command } from 'commander';
import { parseQualifiedName } from '../sql/ident.js';
import { type GlobalOptions, openFromOptions, outputFormat, printJson } from './options.js';
import { failureLines } from './failures.js';
import type { HeldOutSummary } from '../pipeline/models-summary.js';

function num(v: number | null, digits = 4): string {
  return v === null ? '-' : Number.isInteger(v) ? String(v) : v.toFixed(digits);
}

export function modelsCommand(program: Command): void {
  program
    .command('models')
    .description('summarise a models table: counts by status, failure reasons, convergence, score distribution')
    .argument('<table>', 'a models table written by train')
    .option('--format <format>', 'text (default) or json: the summary as one JSON object')
    .action(async (table: string, o: { format?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const format = outputFormat(o.format);
      const db = await openFromOptions(g);
      try {
        const s = await db.describeModels(parseQualifiedName(table));
        if (format === 'json') {
          printJson(s);
          return;
        }
        const feats = s.meta.features.kind === 'columns' ? s.meta.features.names.join(', ') : `${s.meta.features.name} (array)`;
        const lines = [
          `${s.table}: ${s.meta.estimator} per ${s.meta.group.join(', ')} on ${feats} → ${s.meta.label} (run ${s.meta.runId})`,
          `  groups:      ${s.groups.ok} ok, ${s.groups.failed} failed`,
          `  rows:        ${s.rows.used} used, ${s.rows.skipped} skipped`,
          `  converged:   ${s.converged.yes} yes, ${s.converged.no} no`,
          `  iterations:  min ${num(s.nIter.min)}, mean ${num(s.nIter.mean, 1)}, max ${num(s.nIter.max)}`,
          `  train score: min ${num(s.trainScore.min)}, 25% ${num(s.trainScore.q25)}, median ${num(s.trainScore.median)}, 75% ${num(s.trainScore.q75)}, max ${num(s.trainScore.max)}, mean ${num(s.trainScore.mean)}`,
          `  serialized:  ${s.serializedOn.first?.toISOString() ?? '-'} … ${s.serializedOn.last?.toISOString() ?? '-'}`,
        ];
        const pool = s.meta.pool;
        if (pool !== undefined) {
          const how = pool.chosenBy === 'cv' ? `chosen by ${pool.folds}-fold CV over ${pool.groups} groups` : 'given';
          lines.push(`  pooled:      towards one global model, C = ${pool.C} (${how}), intercept C = ${pool.interceptC}; ${s.pooled ?? 0} group${s.pooled === 1 ? '' : 's'} could not be fitted alone (POOLED)`);
        }
        if (s.heldOut != null) lines.push(...heldOutLines(s.heldOut));
        if (s.failures.length > 0) {
          lines.push('  failures:');
          lines.push(...failureLines(s.failures, '    ', (n) => `${String(n).padStart(8)} ×`));
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      } finally {
        await db.close();
      }
    });
}

/** The held-out metrics' quantiles across groups, and the parameters the searches chose. */
function heldOutLines(h: HeldOutSummary): string[] {
  const out = [`  held out:    ${h.split}, ${h.groups} group${h.groups === 1 ? '' : 's'} evaluated${h.notEvaluated > 0 ? `, ${h.notEvaluated} too small to split (NOT_EVALUATED)` : ''}`];
  for (const [name, q] of Object.entries(h.metrics)) {
    out.push(`    ${name.padEnd(9)} min ${num(q.min)}, 25% ${num(q.q25)}, median ${num(q.median)}, 75% ${num(q.q75)}, max ${num(q.max)}, mean ${num(q.mean)}${q.groups < h.groups ? ` (${q.groups} groups; undefined in the others)` : ''}`);
  }
  if (h.chosen.length > 0) out.push(`  chosen:      ${h.chosen.map((c) => `${JSON.stringify(c.params)} ${c.groups}×`).join(', ')}`);
  return out;
}
