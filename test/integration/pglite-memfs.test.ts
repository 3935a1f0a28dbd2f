import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { open } from 'manymodels';
import { amortiseMemfsGrowth } from '../../src/db/pglite-memfs.js';

/**
 * PGlite's in-memory files grow geometrically when PostgreSQL extends them with fallocate
 * (src/db/pglite-memfs.ts), instead of being reallocated and copied whole at every extension. The
 * oracle is POSIX: ftruncate keeps a file's first bytes, and the bytes it adds read as zeros, whatever
 * the file held before it was shrunk; and tables written through it hold exactly the rows written,
 * checked against sums computed here in closed form.
 */
describe('PGlite in-memory files grow in amortised constant time', () => {
  it('is installed on PGlite (it fails here if a PGlite upgrade removed the hook)', async () => {
    const pg = await PGlite.create();
    try {
      assert.equal(amortiseMemfsGrowth(pg), true);
      assert.equal(amortiseMemfsGrowth(pg), true, 'installing twice is harmless');
    } finally {
      await pg.close();
    }
  });

  it('keeps ftruncate semantics: prefix kept, new bytes zero, after shrinking too', async () => {
    const pg = await PGlite.create();
    try {
      amortiseMemfsGrowth(pg);
      type Fs = { writeFile(p: string, d: Uint8Array): void; readFile(p: string): Uint8Array; truncate(p: string, n: number): void; stat(p: string): { size: number }; unlink(p: string): void };
      const FS = (pg as unknown as { Module: { FS: Fs } }).Module.FS;
      const path = '/tmp/mm_memfs_probe';
      const data = Uint8Array.from({ length: 3000 }, (_, i) => 1 + (i % 250));
      FS.writeFile(path, data);
      // the expected contents, kept by POSIX's rule: truncate keeps the first bytes and zero-fills the rest
      let model = data.slice();
      // grow, shrink and grow again through sizes on both sides of MEMFS's 1 MiB growth-factor switch
      for (const next of [5000, 100, 2_000_000, 777, 1_500_000, 64, 3_000_000]) {
        FS.truncate(path, next);
        const m = new Uint8Array(next);
        m.set(model.subarray(0, Math.min(model.length, next)));
        model = m;
        assert.equal(FS.stat(path).size, next);
        const got = FS.readFile(path);
        assert.equal(got.length, next);
        for (let i = 0; i < next; i++) if (got[i] !== model[i]) assert.fail(`byte ${i} after truncate(${next}) is ${got[i]}, expected ${model[i]}`);
        // bytes written past the end and cut off again must not come back when the file regrows
        const grown = new Uint8Array(next + 10).fill(9);
        grown.set(got);
        FS.writeFile(path, grown);
        FS.truncate(path, next);
      }
      FS.unlink(path);
    } finally {
      await pg.close();
    }
  });

  it('tables written in bulk, emptied and rewritten hold exactly their rows', async () => {
    const db = await open();
    try {
      const N = 400_000;
      const sums = (n: number) => ({ n, a: (n * (n + 1)) / 2, b: Array.from({ length: n }, (_, i) => (i + 1) % 97).reduce((s, v) => s + v, 0) });
      const check = async (n: number) => {
        const r = (await db.sql<{ n: number; a: number; b: number }>(`SELECT count(*)::float8 AS n, sum(a)::float8 AS a, sum(b)::float8 AS b FROM mm_bulk`)).rows[0];
        assert.deepEqual({ n: r.n, a: r.a, b: r.b }, sums(n));
      };
      await db.exec(`CREATE TABLE mm_bulk AS SELECT g AS a, g % 97 AS b, repeat('x', g % 50) AS pad FROM generate_series(1, ${N}) g`);
      await check(N);
      await db.exec(`TRUNCATE mm_bulk; INSERT INTO mm_bulk SELECT g, g % 97, repeat('y', g % 30) FROM generate_series(1, ${N / 4}) g`);
      await check(N / 4);
      await db.exec(`INSERT INTO mm_bulk SELECT g, g % 97, '' FROM generate_series(${N / 4 + 1}, ${N}) g`);
      await db.exec('VACUUM FULL mm_bulk');
      await check(N);
    } finally {
      await db.close();
    }
  });
});
