import type { FailureSummary } from '../index.js';

/**
 * A failure summary, per code: one line when all its failures have one kind of reason, else the
 * count per kind with an example each (so a mixed INVALID_GROUP shows unequal arrays and oversized
 * groups apart).
 */
export function failureLines(failures: readonly FailureSummary[], indent: string, count: (n: number) => string, maxCodes = Infinity): string[] {
  const lines: string[] = [];
  for (const f of failures.slice(0, maxCodes)) {
    if (f.reasons.length <= 1 && f.otherKinds === 0) {
      lines.push(`${indent}${count(f.count)} ${f.example}`);
      continue;
    }
    const kinds = f.reasons.length + f.otherKinds;
    lines.push(`${indent}${count(f.count)} ${f.code}, for ${kinds} kinds of reason:`);
    for (const r of f.reasons) lines.push(`${indent}  ${String(r.count).padStart(8)} × ${r.example}`);
    if (f.otherKinds > 0) lines.push(`${indent}  ${' '.repeat(8)}   … and ${f.otherKinds} more (the error column of the models table has each group's reason)`);
  }
  if (failures.length > maxCodes) lines.push(`${indent}… and ${failures.length - maxCodes} more codes`);
  return lines;
}
