import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ManyModels } from 'manymodels';
import { backends } from '../helpers/backends.js';
import { rng } from '../helpers/random.js';

/**
 * Property test: names made of quotes, semicolons, dots, spaces, backslashes, unicode and
 * PostgreSQL's 63-byte limit, for schemas, tables and columns, go through train and predict
 * untouched, and nothing else in the database is affected (an injected statement would be).
 */
const PIECES = ['"', "'", ';', '.', ' ', '\\', '--', '/*', 'é', 'ß', '表', '🙂', 'DROP TABLE x', 'a', 'B', '$1', '%s', ')', '(', ','];


const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** A hostile name of at most 63 bytes; every third one is exactly at the limit. */
function hostile(r: () => number, i: number): string {
  let name = '';
  const target = i % 3 === 0 ? 63 : 4 + Math.floor(r() * 30);
  while (true) {
    const next = name + PIECES[Math.floor(r() * PIECES.length)];
    if (bytes(next) > target) break;
    name = next;
  }
  while (bytes(name) < target) name += 'x';
  return name;
}

async function roundTrip(db: ManyModels, seed: number): Promise<void> {
  const r = rng(seed);
  const names = Array.from({ length: 7 }, (_, i) => hostile(r, i + seed));
  // distinct, as the tables need
  for (let i = 0; i < names.length; i++) names[i] = Array.from(names[i]).slice(0, -1).join('') + String.fromCharCode(65 + i);
  const [schema, table, key, f1, f2, label, out] = names;
  const q = (s: string) => `"${s.replaceAll('"', '""')}"`;
  await db.exec(`CREATE SCHEMA ${q(schema)}; CREATE TABLE ${q(schema)}.${q(table)} (${q(key)} text, ${q(f1)} int, ${q(f2)} float8, ${q(label)} int)`);
  await db.exec(`INSERT INTO ${q(schema)}.${q(table)} SELECT 'k' || (g % 5) || ${`'${"'; DROP TABLE canary; --".replaceAll("'", "''")}'`}, g % 7, (g * 3) % 11, (g + g / 5) % 2 FROM generate_series(0, 99) g`);
  const t = await db.train({ from: [schema, table], group: key, features: [f1, f2], label, into: [schema, out] });
  const twoClass = (await db.sql<{ n: number }>(`SELECT count(*)::int AS n FROM (SELECT 1 FROM ${q(schema)}.${q(table)} GROUP BY ${q(key)} HAVING count(DISTINCT ${q(label)}) = 2) g`)).rows[0].n;
  assert.deepEqual([t.groupsOk, t.groupsFailed], [twoClass, 5 - twoClass], JSON.stringify(names));
  const p = await db.predict({ models: [schema, out], from: [schema, table], into: [schema, `${Array.from(out).slice(0, -1).join('')}P`] });
  assert.equal(p.rows, 100);
  const keys = (await db.sql<{ k: string }>(`SELECT ${q(key)} AS k FROM ${q(schema)}.${q(out)} ORDER BY 1`)).rows.map((x) => x.k);
  assert.deepEqual(keys, [0, 1, 2, 3, 4].map((i) => `k${i}'; DROP TABLE canary; --`));
  const cols = (await db.sql<{ c: string }>(`SELECT column_name AS c FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, [schema, out])).rows.map((x) => x.c);
  assert.equal(cols[0], key);
}

for (const backend of backends) {
  describe(`hostile names on ${backend.name}`, () => {
    it('train and predict with 8 random hostile name sets', async () => {
      const db = await backend.open();
      try {
        await db.exec('CREATE TABLE canary (alive int); INSERT INTO canary VALUES (1)');
        for (let seed = 1; seed <= 8; seed++) await roundTrip(db, seed * 7919);
        assert.deepEqual((await db.sql('SELECT alive FROM canary')).rows, [{ alive: 1 }]);
      } finally {
        await db.close();
      }
    });
  });
}
