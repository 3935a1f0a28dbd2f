import type { Command } from 'commander';
import type { CoefficientRow, ModelView } from '../pipeline/show-model.js';
import { parseQualifiedName } from '../sql/ident.js';
import { collect, type GlobalOptions, openFromOptions, outputFormat, printJson } from './options.js';
import { renderTable } from './render.js';

/** A number for people: 6 significant digits (the JSON output has every digit). */
function g(v: number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-4 || a >= 1e15) ? v.toExponential(5) : String(Number(v.toPrecision(6)));
}

function text(v: ModelView): string {
  const key = v.group.map((c) => `${c} = ${v.key[c] ?? 'NULL'}`).join(', ');
  const lines = [`${v.table}: group ${key}`];
  const conv = v.converged === null ? '' : v.converged ? ` (converged${v.nIter !== null ? ` in ${v.nIter} iterations` : ''})` : ` (not converged after ${v.nIter} iterations)`;
  lines.push(`  status:      ${v.status}${conv}${v.error !== null ? `: ${v.error}` : ''}`);
  lines.push(`  rows:        ${v.nRows ?? '-'} ${v.status === 'ok' ? 'used' : 'read'}, ${v.nSkipped ?? '-'} skipped`);
  if (v.trainScore !== null) lines.push(`  train score: ${g(v.trainScore)} (${v.estimator === 'LogisticRegression' ? 'accuracy' : 'R²'} on the training rows)`);
  if (v.estimator !== null) lines.push(`  estimator:   ${v.estimator}(${Object.entries(v.params ?? {}).map(([k, p]) => `${k}=${JSON.stringify(p)}`).join(', ')})`);
  if (v.classes !== null) lines.push(`  classes:     ${v.classes.map((c) => JSON.stringify(c)).join(', ')}`);
  for (const [k, c] of Object.entries(v.columns)) lines.push(`  ${`${k}:`.padEnd(12)} ${typeof c === 'object' && c !== null && !(c instanceof Date) ? JSON.stringify(c) : String(c)}`);
  lines.push(`  trained:     ${v.serializedOn?.toISOString() ?? '-'} (run ${v.runId ?? '-'})`);
  if (v.coefficients.length > 0) {
    const inf = v.inference;
    const multi = v.coefficients.some((r) => r.class !== undefined);
    const statName = inf?.zStats !== undefined ? 'z' : 't';
    const cols = [...(multi ? ['class'] : []), 'name', 'coef', ...(inf !== null ? ['std_err', statName, 'p_value', ...(inf.oddsRatios !== undefined ? ['odds_ratio'] : [])] : [])];
    const rows = v.coefficients.map((r: CoefficientRow) => ({
      class: r.class === undefined ? '' : String(r.class),
      name: r.name,
      coef: g(r.value),
      std_err: g(r.stdErr),
      [statName]: g(r.statistic),
      p_value: g(r.pValue),
      odds_ratio: g(r.oddsRatio),
    }));
    lines.push('', renderTable({ rows, fields: cols.map((name) => ({ name, dataTypeID: 25 })) as never }));
    if (inf !== null) {
      const extra = [
        inf.logLikelihood !== undefined ? `log-likelihood ${g(inf.logLikelihood)}` : '',
        inf.r2 !== undefined ? `R² ${g(inf.r2)}` : '',
        inf.dfResidual !== undefined && inf.dfResidual !== null ? `${inf.dfResidual} residual degrees of freedom` : '',
        `condition number ${inf.conditionNo === null ? 'infinite (singular)' : g(inf.conditionNo)}`,
      ].filter((x) => x !== '');
      lines.push(`  ${extra.join(', ')}`);
      if (inf.method === 'penalised-hessian') lines.push('  (penalised fit: the statistics come from the inverse of the penalised Hessian, not a sampling distribution)');
    } else if (v.status === 'ok') {
      lines.push('  (no inference statistics: train with --inference to store them)');
    }
  }
  return lines.join('\n');
}

export function showCommand(program: Command): void {
  program
    .command('show')
    .description("print one group's model: named coefficients (with standard errors and p-values when trained with --inference), parameters, status, rows")
    .requiredOption('--models <table>', 'a models table written by train')
    .requiredOption('--group <value>', 'the group key value, as SQL would write it for the key column\'s type; repeat it for a composite key, in key order', collect, [])
    .option('--format <format>', 'text (default) or json: the whole row as one JSON object, numbers with every digit')
    .action(async (o: { models: string; group: string[]; format?: string }, cmd: Command) => {
      const format = outputFormat(o.format);
      const gl = cmd.optsWithGlobals<GlobalOptions>();
      const db = await openFromOptions(gl);
      try {
        const v = await db.show({ models: parseQualifiedName(o.models), key: o.group });
        if (format === 'json') printJson(v);
        else process.stdout.write(`${text(v)}\n`);
      } finally {
        await db.close();
      }
    });
}
