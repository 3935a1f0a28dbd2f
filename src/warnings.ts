/**
 * Where the numerical core reports what is not an error but should not pass silently
 * (a solver that stopped at maxIter). The default prints with console.warn; the per-group
 * pipeline installs its own handler and records the condition per group instead.
 */
/** Codes of warnings (and of the notes a fitted group keeps in its row); docs/errors.md describes each. */
export const WARNING_CODES = ['CONVERGENCE', 'PERFECT_SEPARATION', 'POOLED', 'NOT_EVALUATED'] as const;
export type WarningCode = (typeof WARNING_CODES)[number];

export interface CoreWarning {
  code: WarningCode;
  message: string;
}

let handler: (w: CoreWarning) => void = (w) => console.warn(`manymodels ${w.code} warning: ${w.message}`);

/** Replaces the warning handler; returns the previous one. */
export function setWarningHandler(fn: (w: CoreWarning) => void): (w: CoreWarning) => void {
  const prev = handler;
  handler = fn;
  return prev;
}

export function warn(w: CoreWarning): void {
  handler(w);
}
