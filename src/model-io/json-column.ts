const utf8 = new TextEncoder();

/**
 * One batch's column of JSON values (the models table's `model`), as UTF-8 text back to back in
 * one growing buffer: value g is bytes[start[g], end[g]), NULL when empty (a JSON text never
 * is). Written value by value; the COPY encoder copies each range out without a string between.
 */
export class JsonColumn {
  bytes: Uint8Array = new Uint8Array(1 << 14);
  /** Bytes written so far. */
  length = 0;
  readonly start: Int32Array;
  readonly end: Int32Array;

  constructor(readonly count: number) {
    this.start = new Int32Array(count);
    this.end = new Int32Array(count);
  }

  /** Whether value g is NULL (never written). */
  isNull(g: number): boolean {
    return this.end[g] <= this.start[g];
  }

  /** Value g as text (null for NULL). */
  text(g: number): string | null {
    return this.isNull(g) ? null : new TextDecoder().decode(this.bytes.subarray(this.start[g], this.end[g]));
  }

  /** Sets value g to the JSON text `json`. */
  setText(g: number, json: string): void {
    // at most 3 bytes per UTF-16 unit
    this.ensure(3 * json.length);
    this.start[g] = this.length;
    this.length += utf8.encodeInto(json, this.bytes.subarray(this.length)).written;
    this.end[g] = this.length;
  }

  /** Room for `n` more bytes; returns the buffer to write them into, at `length`. */
  ensure(n: number): Uint8Array {
    if (this.length + n > this.bytes.length) {
      let cap = this.bytes.length * 2;
      while (cap < this.length + n) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.bytes.subarray(0, this.length));
      this.bytes = next;
    }
    return this.bytes;
  }
}
