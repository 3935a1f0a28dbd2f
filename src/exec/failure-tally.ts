/**
 * Failure reasons grouped for a summary: by code, and within a code by kind: the reason with its
 * numbers masked, so that "the group has 3 usable rows" and "... 4 usable rows" are one kind while
 * "feature arrays of unequal lengths" and "more rows than maxGroupRows" (both INVALID_GROUP) are two.
 */
export const REASON_NUMBER = '-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?';
const NUMBER_RE = new RegExp(REASON_NUMBER, 'g');

/** How many kinds of reason a summary keeps per code, most frequent first. */
export const KINDS_PER_CODE = 5;

export function reasonKind(reason: string): string {
  return reason.replace(NUMBER_RE, '#');
}

export interface ReasonCount {
  /** One full reason of this kind, as stored in the error column. */
  example: string;
  count: number;
}

/** Per code: the count, and the counts per kind of reason (with one example each). */
export type FailureTally = Record<string, { count: number; example: string; kinds: Record<string, ReasonCount> }>;

export function tallyFailure(t: FailureTally, reason: string): void {
  const code = reason.slice(0, Math.max(0, reason.indexOf(':')));
  const kind = reasonKind(reason);
  const f = t[code];
  if (f === undefined) {
    t[code] = { count: 1, example: reason, kinds: { [kind]: { example: reason, count: 1 } } };
    return;
  }
  f.count++;
  const k = f.kinds[kind];
  if (k === undefined) f.kinds[kind] = { example: reason, count: 1 };
  else k.count++;
}

export function mergeTally(into: FailureTally, from: FailureTally): void {
  for (const [code, f] of Object.entries(from)) {
    const have = into[code];
    if (have === undefined) {
      into[code] = { count: f.count, example: f.example, kinds: { ...Object.fromEntries(Object.entries(f.kinds).map(([k, v]) => [k, { ...v }])) } };
      continue;
    }
    have.count += f.count;
    for (const [kind, k] of Object.entries(f.kinds)) {
      const hk = have.kinds[kind];
      if (hk === undefined) have.kinds[kind] = { ...k };
      else hk.count += k.count;
    }
  }
}

/** The most frequent kinds first, at most KINDS_PER_CODE. */
export function topReasons(kinds: Record<string, ReasonCount>): { reasons: ReasonCount[]; otherKinds: number } {
  const all = Object.values(kinds).sort((a, b) => b.count - a.count || (a.example < b.example ? -1 : 1));
  return { reasons: all.slice(0, KINDS_PER_CODE), otherKinds: Math.max(0, all.length - KINDS_PER_CODE) };
}
