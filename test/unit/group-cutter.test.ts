import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ManyModels, open } from 'manymodels';
import { BinaryCopyDecoder } from '../../dist/copy/binary-decoder.js';
import { GroupCutter } from '../../dist/pipeline/group-cutter.js';
import { pick, rng } from '../helpers/random.js';

/**
 * The group cutter through its public interface (rows of a binary COPY in, each with its SQL group's
 * size as the pipeline sends them; batches of groups out), against SQL's own GROUP BY of the same
 * rows on PGlite: the same groups, the same row counts per
 * group, the same sums of the used features and labels, NULL keys counted, oversized groups
 * failed alone, batches within their limits.
 */
type Group = { key: string; used: number; skipped: number; sx: number; sy: number; error: string | null };

function readKey(keys: Uint8Array, from: number, to: number): string {
  // framed fields: int32 length (−1 NULL), bytes; int4 then text
  const v = new DataView(keys.buffer, keys.byteOffset, keys.byteLength);
  const a = v.getInt32(from + 4);
  const len = v.getInt32(from + 8);
  assert.equal(from + 12 + len, to);
  return `${a}|${new TextDecoder().decode(keys.subarray(from + 12, to))}`;
}

/** keyBytes: cut where the key's bytes change (no group size in the rows), as train does for int and text keys. */
async function cut(db: ManyModels, limits: { maxGroupRows: number; batchGroups: number; batchNumbers: number }, keyBytes = false) {
  const cutter = new GroupCutter({ keyFields: 2, features: { kind: 'columns', count: 2 }, label: 'number', ...(keyBytes ? { keyBytes } : {}) }, limits);
  const decoder = new BinaryCopyDecoder(keyBytes ? 5 : 6);
  const groups: Group[] = [];
  const batches: { count: number; numbers: number; rowsRead: number }[] = [];
  const take = () => {
    for (const b of cutter.takeReady()) {
      let numbers = 0;
      for (let g = 0; g < b.count; g++) {
        const n = b.nRows[g];
        const d = b.nFeatures[g];
        let sx = 0;
        let sy = 0;
        for (let i = 0; i < n * d; i++) sx += b.x[b.xStart[g] + i];
        for (let i = 0; i < n; i++) sy += b.yNum![b.rowStart[g] + i];
        numbers += n * d;
        groups.push({ key: readKey(b.keys, b.keyStart[g], b.keyStart[g + 1]), used: n, skipped: b.nSkipped[g], sx, sy, error: b.preError[g] });
      }
      batches.push({ count: b.count, numbers, rowsRead: b.rowsRead });
    }
  };
  const size = keyBytes ? '' : ', count(*) OVER (PARTITION BY a, t)';
  for await (const chunk of db.database.main.copyOut(`(SELECT a, t, x1::float8, x2::float8, y::float8${size} FROM rows ORDER BY a, t)`, 'binary')) {
    decoder.feed(chunk, cutter.onRow);
    take();
  }
  decoder.finish();
  cutter.finish();
  take();
  return { groups, batches, nullKeyRows: cutter.nullKeyRows };
}

/** Random rows: small integer and text keys (both NULL sometimes), features and labels NULL sometimes. */
function rowsSql(seed: number, n: number): string {
  const r = rng(seed);
  const texts = ['a', 'b', 'A', 'a ', ' a', 'é', 'e\u0301', '', 'ab', 'b"'];
  const lit = (v: number | null) => (v === null ? 'NULL' : String(v));
  const values = Array.from({ length: n }, () => {
    const nullKey = r() < 0.04;
    const a = nullKey ? null : Math.floor(r() * 4);
    const t = nullKey ? 'NULL' : `'${pick(r, texts).replaceAll("'", "''")}'`;
    const x1 = r() < 0.05 ? null : Math.floor(r() * 100) / 4;
    const x2 = r() < 0.05 ? null : Math.floor(r() * 100) / 8;
    const y = r() < 0.05 ? null : Math.floor(r() * 3);
    return `(${lit(a)}, ${t}, ${lit(x1)}, ${lit(x2)}, ${lit(y)})`;
  });
  return `INSERT INTO rows VALUES ${values.join(', ')}`;
}

describe('the group cutter against SQL GROUP BY', () => {
  for (const keyBytes of [false, true]) {
    it(`cuts random rows into SQL’s groups, for many batch limits (property test, 6 seeds; groups ended ${keyBytes ? 'where the key bytes change' : 'by their SQL size'})`, async () => {
      const db = await open();
      try {
        await db.exec('CREATE TABLE rows (a int, t text COLLATE "C", x1 float8, x2 float8, y float8)');
        for (const seed of [1, 2, 3, 4, 5, 6]) {
          await db.exec(`TRUNCATE rows; ${rowsSql(seed * 7717, 150 + seed * 60)}`);
          const sql = (await db.sql<{ key: string; used: number; skipped: number; sx: number; sy: number; n: number }>(
            `SELECT a || '|' || t AS key,
                    count(*) FILTER (WHERE x1 IS NOT NULL AND x2 IS NOT NULL AND y IS NOT NULL)::int AS used,
                    count(*) FILTER (WHERE x1 IS NULL OR x2 IS NULL OR y IS NULL)::int AS skipped,
                    coalesce(sum(x1 + x2) FILTER (WHERE y IS NOT NULL), 0)::float8 AS sx,
                    coalesce(sum(y) FILTER (WHERE x1 IS NOT NULL AND x2 IS NOT NULL), 0)::float8 AS sy,
                    count(*)::int AS n
             FROM rows WHERE a IS NOT NULL AND t IS NOT NULL GROUP BY a, t ORDER BY a, t`,
          )).rows;
          const nullKeys = (await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM rows WHERE a IS NULL OR t IS NULL')).rows[0].n;
          const biggest = Math.max(...sql.map((g) => g.used));
          for (const limits of [
            { maxGroupRows: 1_000_000, batchGroups: 4096, batchNumbers: 1 << 18 },
            { maxGroupRows: 1_000_000, batchGroups: 1, batchNumbers: 1 << 18 },
            { maxGroupRows: 1_000_000, batchGroups: 3, batchNumbers: 7 },
            { maxGroupRows: biggest - 1, batchGroups: 5, batchNumbers: 1 << 18 },
          ]) {
            const got = await cut(db, limits, keyBytes);
            const what = `seed ${seed}, limits ${JSON.stringify(limits)}`;
            assert.equal(got.nullKeyRows, nullKeys, what);
            assert.deepEqual(got.groups.map((g) => g.key), sql.map((g) => g.key), `${what}: the groups`);
            got.groups.forEach((g, k) => {
              const s = sql[k];
              if (s.used > limits.maxGroupRows) {
                // the limit counts usable rows (NULL-feature/label rows are skipped before it)
                assert.match(g.error ?? '', new RegExp(`more than ${limits.maxGroupRows} rows \\(maxGroupRows\\)`), `${what}: ${g.key} is too large`);
                assert.equal(g.used, 0);
                return;
              }
              assert.equal(g.error, null, `${what}: ${g.key}`);
              assert.deepEqual([g.used, g.skipped, g.sx, g.sy], [s.used, s.skipped, s.sx, s.sy], `${what}: group ${g.key}`);
            });
            // every row with a key is counted as read in exactly one batch (NULL-key rows: see below)
            const read = got.batches.reduce((t, b) => t + b.rowsRead, 0);
            const all = sql.reduce((t, g) => t + g.n, 0);
            assert.ok(read === all + nullKeys || read === all, `${what}: ${read} rows read of ${all} + ${nullKeys} NULL-key rows`);
            for (const b of got.batches) {
              assert.ok(b.count >= 1 && b.count <= limits.batchGroups, `${what}: a batch of ${b.count} groups`);
            }
            // a batch closes once it holds batchNumbers numbers: only its last group may cross the line
            if (limits.batchNumbers === 7) assert.ok(got.batches.length > sql.length / 3, what);
          }
        }
      } finally {
        await db.close();
      }
    });
  }

  for (const keyBytes of [false, true]) {
    it(`an empty text key is a key like any other, only NULL is none (${keyBytes ? 'key bytes' : 'group sizes'})`, async () => {
      const db = await open();
      try {
        await db.exec(`CREATE TABLE one (t text, x float8, y float8); INSERT INTO one VALUES ('', 1, 0), ('', 2, 1), (NULL, 3, 1), ('a', 4, 0), (NULL, 5, 0)`);
        const cutter = new GroupCutter({ keyFields: 1, features: { kind: 'columns', count: 1 }, label: 'number', ...(keyBytes ? { keyBytes } : {}) }, { maxGroupRows: 100, batchGroups: 100, batchNumbers: 1 << 18 });
        const decoder = new BinaryCopyDecoder(keyBytes ? 3 : 4);
        const size = keyBytes ? '' : ', count(*) OVER (PARTITION BY t)';
        for await (const chunk of db.database.main.copyOut(`(SELECT t, x, y${size} FROM one ORDER BY t)`, 'binary')) decoder.feed(chunk, cutter.onRow);
        decoder.finish();
        cutter.finish();
        const [b] = cutter.takeReady();
        assert.equal(b.count, 2, 'the groups "" and "a"');
        assert.deepEqual(Array.from(b.nRows), [2, 1]);
        assert.deepEqual(Array.from(b.keys.subarray(b.keyStart[0], b.keyStart[1])), [0, 0, 0, 0], 'the key "": length 0, no bytes');
        assert.equal(cutter.nullKeyRows, 2);
      } finally {
        await db.close();
      }
    });
  }

  it('puts each group’s rows in one order, whatever order the engine sends them in', async () => {
    const db = await open();
    try {
      await db.exec('CREATE TABLE rows (a int, t text COLLATE "C", x1 float8, x2 float8, y float8)');
      await db.exec(rowsSql(4242, 400));
      // ties of equal features broken by the label, and −0 against 0
      await db.exec(`INSERT INTO rows VALUES (1, 'a', 0, 1, 1), (1, 'a', 0, 1, 0), (1, 'a', '-0', 1, 1), (1, 'a', 0, 1, 1)`);
      const batches = async (order: string) => {
        const cutter = new GroupCutter({ keyFields: 2, features: { kind: 'columns', count: 2 }, label: 'number', keyBytes: true }, { maxGroupRows: 1_000_000, batchGroups: 4096, batchNumbers: 1 << 18 });
        const decoder = new BinaryCopyDecoder(5);
        for await (const chunk of db.database.main.copyOut(`(SELECT a, t, x1::float8, x2::float8, y::float8 FROM rows ORDER BY a, t, ${order})`, 'binary')) decoder.feed(chunk, cutter.onRow);
        decoder.finish();
        cutter.finish();
        const [b] = cutter.takeReady();
        return { x: Buffer.from(b.x.buffer, b.x.byteOffset, b.x.byteLength), y: Buffer.from(b.yNum!.buffer, b.yNum!.byteOffset, b.yNum!.byteLength), n: Array.from(b.nRows) };
      };
      const one = await batches('x1, x2, y');
      for (const order of ['x1 DESC, x2 DESC, y DESC', 'md5(x1::text || y::text)', 'y, x2 DESC']) {
        const other = await batches(order);
        assert.deepEqual(other.n, one.n, order);
        assert.ok(other.x.equals(one.x), `${order}: the features, bit for bit`);
        assert.ok(other.y.equals(one.y), `${order}: the labels, bit for bit`);
      }
    } finally {
      await db.close();
    }
  });

  it('counts NULL-key rows that come after the last full batch as read (progress rowsDone)', { todo: 'NULL keys sort last; when the last group fills its batch, flush() has no group to carry them and their rowsRead is dropped' }, async () => {
    const db = await open();
    try {
      await db.exec("CREATE TABLE rows (a int, t text COLLATE \"C\", x1 float8, x2 float8, y float8); INSERT INTO rows VALUES (1, 'a', 1, 2, 0), (1, 'a', 2, 1, 1), (NULL, NULL, 1, 1, 1)");
      const got = await cut(db, { maxGroupRows: 100, batchGroups: 1, batchNumbers: 1 << 18 });
      assert.equal(got.batches.reduce((t, b) => t + b.rowsRead, 0), 3);
    } finally {
      await db.close();
    }
  });
});
