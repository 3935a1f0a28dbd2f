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
