import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { open } from 'manymodels';
import { BinaryCopyDecoder, type RowFields, readFloat8, readFloat8Array, readText } from '../../dist/copy/binary-decoder.js';
import { BinaryCopyEncoder } from '../../dist/copy/binary-encoder.js';
import { pick, rng } from '../helpers/random.js';

/**
 * The binary COPY codec (src/copy) against PostgreSQL itself (PGlite): rows the encoder writes are
 * read by the server's COPY FROM as the values they stand for, and rows the server's COPY TO writes
 * are read by the decoder as the values SELECT returns, whatever the chunk boundaries.
 */
const HEADER = new Uint8Array([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
const TRAILER = new Uint8Array([0xff, 0xff]);

type Row = { i: number | null; b: number | null; f: number | null; t: string | null; a: number[] | null; ok: boolean | null };
const TEXTS = ['', 'a', 'é', '表', '🙂', "'; DROP TABLE x; --", 'tab\there', 'line\nbreak', '\\', '"'];
const FLOATS = [0, -0, 1, -1.5, 1e-308, 5e-324, 1.7976931348623157e308, Math.PI, -1e-10, 123456789.125];

function randomRow(r: () => number): Row {
  const maybe = <T>(v: T): T | null => (r() < 0.15 ? null : v);
  const n = Math.floor(r() * 5);
  return {
    i: maybe(Math.floor((r() - 0.5) * 2 ** 32)),
    b: maybe(Math.floor((r() - 0.5) * 2 ** 53)),
    f: maybe(r() < 0.5 ? pick(r, FLOATS) : (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20)),
    t: maybe(Array.from({ length: Math.floor(r() * 4) }, () => pick(r, TEXTS)).join('')),
    a: maybe(Array.from({ length: n }, () => pick(r, FLOATS))),
    ok: maybe(r() < 0.5),
  };
}

function encode(rows: Row[]): Uint8Array {
  const e = new BinaryCopyEncoder(16); // small: the buffer must grow
  for (const x of rows) {
    e.beginRow(6);
    e.int4(x.i);
    e.int8(x.b);
    e.float8(x.f);
    e.text(x.t);
    if (x.a === null) e.null();
    else e.float8Array(x.a);
    e.bool(x.ok);
  }
  return e.bytes().slice();
}

function decodeAll(chunks: Uint8Array[]): Row[] {
  const d = new BinaryCopyDecoder(6);
  const out: Row[] = [];
  const onRow = (row: RowFields) => {
    assert.equal(row.count, 6);
    const nul = (f: number) => row.len[f] < 0;
    const a = new Float64Array(16);
    out.push({
      i: nul(0) ? null : row.view.getInt32(row.start[0]),
      b: nul(1) ? null : Number(row.view.getBigInt64(row.start[1])),
      f: nul(2) ? null : readFloat8(row, 2),
      t: nul(3) ? null : readText(row, 3),
      a: nul(4) ? null : Array.from(a.subarray(0, readFloat8Array(row, 4, a, 0).count)),
      ok: nul(5) ? null : row.buf[row.start[5]] === 1,
    });
  };
  for (const c of chunks) d.feed(c, onRow);
  d.finish();
  assert.equal(d.rows, out.length);
  return out;
}

/** Splits bytes at random points (1-byte chunks included). */
function chop(r: () => number, bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let p = 0; p < bytes.length; ) {
    const n = r() < 0.3 ? 1 : 1 + Math.floor(r() * 64);
    out.push(bytes.slice(p, p + n));
    p += n;
  }
  return out;
}

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/** Object.is, so that -0 and 0 differ. */
function sameRows(a: Row[], b: Row[]): void {
  assert.equal(a.length, b.length);
  a.forEach((x, k) => {
    for (const key of Object.keys(x) as (keyof Row)[]) {
      const u = x[key];
      const v = b[k][key];
      if (typeof u === 'number' || typeof v === 'number') assert.ok(Object.is(u, v), `row ${k} ${key}: ${u} vs ${v}`);
      else assert.deepEqual(u, v, `row ${k} ${key}`);
    }
  });
}

const SQL_ROW = `SELECT i, b::text AS b, f::text AS f, t, a::text[] AS a, ok FROM codec ORDER BY n`;
/** PostgreSQL's text of a float8 is exact (extra_float_digits 1): parse it back. */
const fromSql = (x: any): Row => ({ i: x.i, b: x.b === null ? null : Number(x.b), f: x.f === null ? null : Number(x.f), t: x.t, a: x.a === null ? null : x.a.map(Number), ok: x.ok });

describe('binary COPY codec', () => {
  it('decodes what it encodes, in any chunking (200 random rows × 20 splits)', () => {
    const r = rng(4242);
    const rows = Array.from({ length: 200 }, () => randomRow(r));
    const bytes = concat(HEADER, encode(rows), TRAILER);
    for (let k = 0; k < 20; k++) sameRows(decodeAll(chop(r, bytes)), rows);
  });

  it('refuses a stream cut short, and one without the signature', () => {
    const bytes = concat(HEADER, encode([randomRow(rng(1))]), TRAILER);
    assert.throws(() => decodeAll([bytes.subarray(0, bytes.length - 3)]), /ended in the middle of a row/);
    const bad = bytes.slice();
    bad[0] = 0x51;
    assert.throws(() => decodeAll([bad]), /binary COPY signature/);
  });

  it('PostgreSQL reads the encoder’s rows as their values, and the decoder reads the server’s', async () => {
    const db = await open();
    try {
      await db.exec('CREATE TABLE codec (i int4, b int8, f float8, t text, a float8[], ok boolean, n serial)');
      const r = rng(99);
      const rows = Array.from({ length: 300 }, () => randomRow(r));
      await db.database.main.copyIn('codec (i, b, f, t, a, ok)', 'binary', [encode(rows)]);
      await db.exec('SET extra_float_digits = 3');
      sameRows((await db.sql(SQL_ROW)).rows.map(fromSql), rows);
      const chunks: Uint8Array[] = [];
      for await (const c of db.database.main.copyOut('(SELECT i, b, f, t, a, ok FROM codec ORDER BY n)', 'binary')) chunks.push(c.slice());
      sameRows(decodeAll(chop(r, concat(...chunks))), rows);
    } finally {
      await db.close();
    }
  });
});
