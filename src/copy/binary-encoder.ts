/**
 * Builds binary COPY row data (no header or trailer: the connection adds those) into a growing
 * buffer; `take()` hands over what is built so far, always ending on a row boundary.
 */
const utf8 = new TextEncoder();
/** Microseconds between 1970-01-01 and PostgreSQL's epoch, 2000-01-01. */
const PG_EPOCH_MICROS = 946684800000000n;

export class BinaryCopyEncoder {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initialBytes = 1 << 16) {
    this.buf = new Uint8Array(initialBytes);
    this.view = new DataView(this.buf.buffer);
  }

  get size(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  beginRow(fields: number): void {
    this.ensure(2);
    this.view.setInt16(this.pos, fields);
    this.pos += 2;
  }

  null(): void {
    this.ensure(4);
    this.view.setInt32(this.pos, -1);
    this.pos += 4;
  }

  /** A field's bytes exactly as they came from a binary COPY out of a column of the same type. */
  raw(bytes: Uint8Array, start: number, len: number): void {
    if (len < 0) return this.null();
    this.ensure(4 + len);
    this.view.setInt32(this.pos, len);
    this.buf.set(bytes.subarray(start, start + len), this.pos + 4);
    this.pos += 4 + len;
  }

  /** Fields already framed as binary COPY fields (length prefix and bytes), such as a group key taken from a COPY out. */
  framed(bytes: Uint8Array): void {
    this.framedRange(bytes, 0, bytes.length);
  }

  /** framed(bytes.subarray(start, end)) without making the subarray: a short copy (a group key) is a loop. */
  framedRange(bytes: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    if (n > 64) this.buf.set(bytes.subarray(start, end), this.pos);
    else {
      const buf = this.buf;
      const p = this.pos - start;
      for (let i = start; i < end; i++) buf[p + i] = bytes[i];
    }
    this.pos += n;
  }

  int4(v: number | null): void {
    if (v === null) return this.null();
    this.ensure(8);
    this.view.setInt32(this.pos, 4);
    this.view.setInt32(this.pos + 4, v);
    this.pos += 8;
  }

  int8(v: number | null): void {
    if (v === null) return this.null();
    this.ensure(12);
    this.view.setInt32(this.pos, 8);
    this.view.setBigInt64(this.pos + 4, BigInt(v));
    this.pos += 12;
  }

  float8(v: number | null): void {
    if (v === null) return this.null();
    this.ensure(12);
    this.view.setInt32(this.pos, 8);
    this.view.setFloat64(this.pos + 4, v);
    this.pos += 12;
  }

  bool(v: boolean | null): void {
    if (v === null) return this.null();
    this.ensure(5);
    this.view.setInt32(this.pos, 1);
    this.buf[this.pos + 4] = v ? 1 : 0;
    this.pos += 5;
  }

  text(s: string | null): void {
    if (s === null) return this.null();
    // worst case 3 bytes per UTF-16 unit
    this.ensure(4 + 3 * s.length);
    const { written } = utf8.encodeInto(s, this.buf.subarray(this.pos + 4));
    this.view.setInt32(this.pos, written);
    this.pos += 4 + written;
  }

  /** jsonb's binary form is a version byte (1) followed by the JSON text. */
  jsonb(json: string | null): void {
    if (json === null) return this.null();
    this.ensure(5 + 3 * json.length);
    this.buf[this.pos + 4] = 1;
    const { written } = utf8.encodeInto(json, this.buf.subarray(this.pos + 5));
    this.view.setInt32(this.pos, written + 1);
    this.pos += 5 + written;
  }

  /** jsonb from JSON text already in UTF-8: src[from, to). */
  jsonbBytes(src: Uint8Array, from: number, to: number): void {
    const n = to - from;
    this.ensure(5 + n);
    this.view.setInt32(this.pos, n + 1);
    this.buf[this.pos + 4] = 1;
    this.buf.set(src.subarray(from, to), this.pos + 5);
    this.pos += 5 + n;
  }

  /** timestamptz: microseconds since 2000-01-01 UTC. */
  timestamptz(epochMillis: number): void {
    this.ensure(12);
    this.view.setInt32(this.pos, 8);
    this.view.setBigInt64(this.pos + 4, BigInt(Math.round(epochMillis * 1000)) - PG_EPOCH_MICROS);
    this.pos += 12;
  }

  /** uuid from its canonical text form. */
  uuid(text: string): void {
    const hex = text.replaceAll('-', '');
    this.ensure(20);
    this.view.setInt32(this.pos, 16);
    for (let i = 0; i < 16; i++) this.buf[this.pos + 4 + i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    this.pos += 20;
  }

  /** float8[] (one dimension, no NULLs). */
  float8Array(values: ArrayLike<number>): void {
    const n = values.length;
    const len = 20 + 12 * n;
    this.ensure(4 + len);
    const v = this.view;
    let p = this.pos;
    v.setInt32(p, len);
    v.setInt32(p + 4, 1); // ndim
    v.setInt32(p + 8, 0); // no nulls
    v.setInt32(p + 12, 701); // float8
    v.setInt32(p + 16, n);
    v.setInt32(p + 20, 1); // lower bound
    p += 24;
    for (let i = 0; i < n; i++) {
      v.setInt32(p, 8);
      v.setFloat64(p + 4, values[i]);
      p += 12;
    }
    this.pos = p;
  }

  /** The bytes built so far, without starting a new buffer (the encoder is done). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** Hands over the bytes built so far and starts a new buffer. */
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.pos);
    this.buf = new Uint8Array(Math.max(1 << 16, this.buf.length));
    this.view = new DataView(this.buf.buffer);
    this.pos = 0;
    return out;
  }
}
