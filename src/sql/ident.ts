import { UsageError } from '../errors.js';

/**
 * Identifiers. Every identifier that reaches SQL text goes through `ident`, which double-quotes
 * it and doubles any quote inside; a qualified name is a list of parts, never split on dots.
 */

/** A table (or view) name: its parts, schema first when qualified. */
export type QualifiedName = readonly string[];

/** Quotes one identifier. Throws on the empty string and on NUL, which PostgreSQL cannot store. */
export function ident(name: string): string {
  if (name.length === 0) throw new UsageError('an identifier cannot be empty');
  if (name.includes('\0')) throw new UsageError(`identifier ${JSON.stringify(name)} contains a NUL character`);
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a qualified name part by part: ["my schema", "t"] → "my schema"."t". */
export function qident(name: QualifiedName): string {
  return name.map(ident).join('.');
}

/** A string literal for the few places where PostgreSQL takes no parameter (COMMENT ON, DDL defaults). */
export function literal(value: string): string {
  if (value.includes('\0')) throw new UsageError('a string literal cannot contain a NUL character');
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * Parses a name as PostgreSQL reads one in SQL text, for the command line: parts separated by
 * dots; a part in double quotes is taken as it is ("" stands for one quote), an unquoted part is
 * folded to lower case. `public.Offer` → ["public", "offer"]; `"My Schema"."a.b"` → ["My Schema", "a.b"].
 */
export function parseQualifiedName(text: string): string[] {
  const parts: string[] = [];
  let i = 0;
  const s = text.trim();
  while (i <= s.length) {
    let part = '';
    if (s[i] === '"') {
      i++;
      while (true) {
        if (i >= s.length) throw new UsageError(`unterminated quoted identifier in ${JSON.stringify(text)}`);
        if (s[i] === '"') {
          if (s[i + 1] === '"') {
            part += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        part += s[i++];
      }
    } else {
      const start = i;
      while (i < s.length && s[i] !== '.') i++;
      part = s.slice(start, i).trim().toLowerCase();
    }
    if (part.length === 0) throw new UsageError(`empty name part in ${JSON.stringify(text)}`, 'write names as table, schema.table or "Quoted Name"');
    parts.push(part);
    if (i >= s.length) break;
    if (s[i] !== '.') throw new UsageError(`unexpected ${JSON.stringify(s[i])} after a quoted name in ${JSON.stringify(text)}`);
    i++;
  }
  if (parts.length === 0 || parts.length > 3) throw new UsageError(`${JSON.stringify(text)} is not a table name`, 'write names as table, schema.table or "Quoted Name"');
  return parts;
}

/** Parses a comma-separated list of column names with the same rules (for --group, --features). */
export function parseNameList(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out.map((p) => {
    const parts = parseQualifiedName(p);
    if (parts.length !== 1) throw new UsageError(`${JSON.stringify(p.trim())} is not a column name`, 'quote a column name that contains a dot: "a.b"');
    return parts[0];
  });
}

/** Shows a qualified name the way a user would type it. */
export function displayName(name: QualifiedName): string {
  return name.map((p) => (/^[a-z_][a-z0-9_$]*$/.test(p) ? p : ident(p))).join('.');
}
