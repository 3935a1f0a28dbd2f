/** PostgreSQL type OIDs manymodels reads features and labels from. */
export const OID = {
  bool: 16,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  float4: 700,
  float8: 701,
  bpchar: 1042,
  varchar: 1043,
  numeric: 1700,
  name: 19,
  boolArray: 1000,
  int2Array: 1005,
  int4Array: 1007,
  textArray: 1009,
  bpcharArray: 1014,
  varcharArray: 1015,
  int8Array: 1016,
  float4Array: 1021,
  float8Array: 1022,
  numericArray: 1231,
} as const;

const NUMERIC = new Set<number>([OID.int2, OID.int4, OID.int8, OID.float4, OID.float8, OID.numeric]);
const NUMERIC_ARRAY = new Set<number>([OID.int2Array, OID.int4Array, OID.int8Array, OID.float4Array, OID.float8Array, OID.numericArray]);
const TEXT = new Set<number>([OID.text, OID.varchar, OID.bpchar, OID.name]);
const TEXT_ARRAY = new Set<number>([OID.textArray, OID.varcharArray, OID.bpcharArray]);

export type ValueKind = 'number' | 'boolean' | 'text' | 'number[]' | 'boolean[]' | 'text[]' | 'other';

export function kindOf(oid: number): ValueKind {
  if (NUMERIC.has(oid)) return 'number';
  if (oid === OID.bool) return 'boolean';
  if (TEXT.has(oid)) return 'text';
  if (NUMERIC_ARRAY.has(oid)) return 'number[]';
  if (oid === OID.boolArray) return 'boolean[]';
  if (TEXT_ARRAY.has(oid)) return 'text[]';
  return 'other';
}

/**
 * Key types whose SQL equality is equality of their binary COPY form: two values are equal (one
 * GROUP BY group) exactly when their bytes are. Integers, bool, oid, uuid and the date/time types
 * stored as integers; text, varchar and name under a deterministic collation (texteq compares
 * bytes there). Not numeric (1.0 = 1.00), float (0 = −0, every NaN equal), bpchar (trailing blanks
 * ignored), nor anything else not listed.
 */
const KEY_BYTES_EQUAL = new Set<number>([OID.bool, OID.int2, OID.int4, OID.int8, 26 /* oid */, 1082 /* date */, 1083 /* time */, 1114 /* timestamp */, 1184 /* timestamptz */, 2950 /* uuid */]);
const KEY_BYTES_EQUAL_DETERMINISTIC = new Set<number>([OID.text, OID.varchar, OID.name]);

/**
 * Whether a group key of these column types can be cut where its bytes change, without the
 * engine counting each group's rows; nondeterministicCollations: whether the database has any
 * collation that is not deterministic (NONDETERMINISTIC_COLLATIONS_SQL), which could make
 * different text bytes equal.
 */
export function keyBytesAreEquality(oids: readonly number[], nondeterministicCollations: boolean): boolean {
  return oids.every((o) => KEY_BYTES_EQUAL.has(o) || (!nondeterministicCollations && KEY_BYTES_EQUAL_DETERMINISTIC.has(o)));
}

/** One row, column `any`: whether the database has a nondeterministic collation (false before PostgreSQL 12, which had none). */
export const NONDETERMINISTIC_COLLATIONS_SQL = `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_collation AS c WHERE to_jsonb(c)->>'collisdeterministic' = 'false') AS "any"`;

/** Whether any of the key types is one keyBytesAreEquality reads under a collation. */
export function keyTypesHaveCollation(oids: readonly number[]): boolean {
  return oids.some((o) => KEY_BYTES_EQUAL_DETERMINISTIC.has(o));
}
