import { DatabaseError } from '../errors.js';

/**
 * Incremental decoder of PostgreSQL's binary COPY format: feed it chunks as they arrive, in any
 * sizes; it calls back once per complete row with the positions of the row's fields in a
 * buffer that is valid only during the callback. Only a partial row is ever carried over
 * between chunks, so memory stays bounded by the chunk size.
 *
 * Format: 11-byte signature, int32 flags, int32 extension length (+ extension); then rows of
 * int16 field count and, per field, int32 length (−1 for NULL) and that many bytes; then int16 −1.
 */
export interface RowFields {
  readonly buf: Uint8Array;
  readonly view: DataView;
  readonly count: number;
  /** Byte offset of field i in buf (meaningless when its length is −1). */
  readonly start: Int32Array;
  /** Length of field i, −1 for NULL. */
  readonly len: Int32Array;
}

const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00];
const EMPTY = new Uint8Array(0);

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export class BinaryCopyDecoder {
  private carry: Uint8Array = EMPTY;
  private headerDone = false;
  private finished = false;
  private readonly start: Int32Array;
  private readonly len: Int32Array;
  rows = 0;

  constructor(private readonly expectedFields: number) {
    this.start = new Int32Array(expectedFields);
    this.len = new Int32Array(expectedFields);
  }

  /**
   * Decodes what it can of carry + chunk; calls onRow for each complete row. A row split across
   * chunks is joined alone: the rest of the chunk is decoded where it is, not copied.
   */
  feed(chunk: Uint8Array, onRow: (row: RowFields) => void): void {
    let buf = chunk;
    let pos = 0;
    if (!this.headerDone) {
      buf = this.carry.length === 0 ? chunk : concat(this.carry, chunk);
      const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      if (buf.length < 19) {
        this.carry = buf.slice();
        return;
      }
      for (let i = 0; i < SIGNATURE.length; i++) {
        if (buf[i] !== SIGNATURE[i]) throw new DatabaseError('COPY_FORMAT', 'the COPY stream does not start with the binary COPY signature');
      }
      const ext = view.getInt32(15);
      if (buf.length < 19 + ext) {
        this.carry = buf.slice();
        return;
      }
      pos = 19 + ext;
      this.headerDone = true;
    } else if (this.carry.length > 0) {
      const c = this.carry.length;
      const rowEnd = this.firstRowEnd(chunk);
      if (rowEnd < 0) buf = concat(this.carry, chunk);
      else {
        // the row begun in the last chunk, completed from this one and decoded alone
        this.decode(concat(this.carry, chunk.subarray(0, rowEnd - c)), 0, onRow);
        pos = rowEnd - c;
        if (this.finished) {
          // that was the trailer: what follows it is left for finish() to refuse
          this.carry = pos < chunk.length ? chunk.slice(pos) : EMPTY;
          return;
        }
      }
    }
    this.carry = EMPTY;
    const stop = this.decode(buf, pos, onRow);
    if (stop < buf.length) this.carry = buf.slice(stop);
  }

  /**
   * Where the row that starts in the carry ends, counted in bytes of carry + chunk; −1 when that
   * is not known from these bytes (the row goes on past the chunk, or is not a row of this stream).
   */
  private firstRowEnd(chunk: Uint8Array): number {
    const carry = this.carry;
    const c = carry.length;
    const total = c + chunk.length;
    const at = (i: number): number => (i < c ? carry[i] : chunk[i - c]);
    if (total < 2) return -1;
    const count = ((at(0) << 8) | at(1)) << 16 >> 16;
    if (count === -1) return 2;
    if (count !== this.expectedFields) return -1;
    let p = 2;
    for (let f = 0; f < count; f++) {
      if (p + 4 > total) return -1;
      const l = (at(p) << 24) | (at(p + 1) << 16) | (at(p + 2) << 8) | at(p + 3);
      p += 4;
      if (l > 0) p += l;
    }
    return p <= total ? p : -1;
  }

  /** Decodes the complete rows of buf from pos; returns where the first incomplete one starts. */
  private decode(buf: Uint8Array, from: number, onRow: (row: RowFields) => void): number {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let pos = from;
    const end = buf.length;
    const { start, len } = this;
    const row: RowFields = { buf, view, count: this.expectedFields, start, len };
    while (pos + 2 <= end) {
      const count = view.getInt16(pos);
      if (count === -1) {
        this.finished = true;
        pos += 2;
        break;
      }
      if (count !== this.expectedFields) {
        throw new DatabaseError('COPY_FORMAT', `a COPY row has ${count} fields where ${this.expectedFields} were expected`);
      }
      let p = pos + 2;
      let complete = true;
      for (let f = 0; f < count; f++) {
        if (p + 4 > end) {
          complete = false;
          break;
        }
        const l = view.getInt32(p);
        p += 4;
        start[f] = p;
        len[f] = l;
        if (l > 0) {
          p += l;
          if (p > end) {
            complete = false;
            break;
          }
        }
      }
      if (!complete) break;
      this.rows++;
      onRow(row);
      pos = p;
    }
    return pos;
  }

  /** Throws unless the stream ended exactly at the trailer. */
  finish(): void {
    if (!this.headerDone || !this.finished || this.carry.length !== 0) {
      throw new DatabaseError('COPY_FORMAT', 'the COPY stream ended in the middle of a row');
    }
  }
}

/** Reads a float8 field. */
export function readFloat8(row: RowFields, f: number): number {
  return row.view.getFloat64(row.start[f]);
}

const utf8 = new TextDecoder();

export function readText(row: RowFields, f: number): string {
  return utf8.decode(row.buf.subarray(row.start[f], row.start[f] + row.len[f]));
}

/**
 * Reads a float8[] field of any dimensionality into `out` (from `outOffset`), returning its
 * dimensions; NULL elements are written as NaN and counted in `nulls`.
 */
export function readFloat8Array(
  row: RowFields,
  f: number,
  out: Float64Array,
  outOffset: number,
): { dims: number[]; count: number; nulls: number } {
  const v = row.view;
  let p = row.start[f];
  const ndim = v.getInt32(p);
  p += 12; // ndim, has-null flag, element type oid
  const dims: number[] = [];
  let count = ndim === 0 ? 0 : 1;
  for (let i = 0; i < ndim; i++) {
    const d = v.getInt32(p);
    dims.push(d);
    count *= d;
    p += 8; // size and lower bound
  }
  if (outOffset + count > out.length) return { dims, count, nulls: -1 };
  let nulls = 0;
  for (let k = 0; k < count; k++) {
    const l = v.getInt32(p);
    p += 4;
    if (l === -1) {
      out[outOffset + k] = NaN;
      nulls++;
    } else {
      out[outOffset + k] = v.getFloat64(p);
      p += 8;
    }
  }
  return { dims, count, nulls };
}

/** Reads a text[] field (any dimensionality, flattened); NULL elements are null. */
export function readTextArray(row: RowFields, f: number): { dims: number[]; values: (string | null)[] } {
  const v = row.view;
  let p = row.start[f];
  const ndim = v.getInt32(p);
  p += 12;
  const dims: number[] = [];
  let count = ndim === 0 ? 0 : 1;
  for (let i = 0; i < ndim; i++) {
    dims.push(v.getInt32(p));
    count *= dims[i];
    p += 8;
  }
  const values: (string | null)[] = new Array(count);
  for (let k = 0; k < count; k++) {
    const l = v.getInt32(p);
    p += 4;
    if (l === -1) values[k] = null;
    else {
      values[k] = utf8.decode(row.buf.subarray(p, p + l));
      p += l;
    }
  }
  return { dims, values };
}
