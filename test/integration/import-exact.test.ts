import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ManyModels } from 'manymodels';
import { backends } from '../helpers/backends.js';

/**
 * import keeps every number exactly as written: each imported value, read back as text by
 * PostgreSQL, equals PostgreSQL's own numeric reading of the CSV's text (the oracle), and keys
 * beyond 2^53 that a float8 would merge stay two groups.
 */
const COLUMNS: Record<string, string[]> = {
  ids: ['9007199254740992', '9007199254740993', '-9223372036854775808', '1'],
  huge: ['123456789012345678901234567890', '7', '-3'],
  mixed: ['9007199254740993', '0.5', '2'],
  tiny: ['1e-400', '2.5', '1e400'],
  plain: ['0.25', '3', '-1e10'],
};

type Row = Record<string, any>;

for (const backend of backends) {
  describe(`import keeps numbers exact, on ${backend.name}`, () => {
    let db: ManyModels;
    let dir: string;
    before(async () => {
      db = await backend.open();
      dir = mkdtempSync(join(tmpdir(), 'mm-import-'));
    });
    after(async () => {
      await db?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    for (const [name, values] of Object.entries(COLUMNS)) {
      it(`column ${name}: ${values.join(', ')}`, async () => {
        const file = join(dir, `${name}.csv`);
        writeFileSync(file, `v\n${values.join('\n')}\n`);
        await db.importCsv(file, { into: `t_${name}` });
        const got = (await db.sql<Row>(`SELECT (t.v::numeric)::text AS out FROM t_${name} AS t ORDER BY t.v::numeric`))
          .rows.map((r) => r.out);
        const want = (await db.sql<Row>(`SELECT (x::numeric)::text AS v FROM unnest($1::text[]) AS x ORDER BY x::numeric`, [values])).rows.map((r) => r.v);
        assert.deepEqual(got, want);
      });
    }

    it('keys beyond 2^53 stay apart: two groups, two models', async () => {
      const rows = ['user_id,x,y'];
      for (let i = 0; i < 10; i++) rows.push(`9007199254740992,${i},${i % 2}`, `9007199254740993,${i},${(i + 1) % 2}`);
      const file = join(dir, 'keys.csv');
      writeFileSync(file, `${rows.join('\n')}\n`);
      await db.importCsv(file, { into: 'keys' });
      const r = await db.train({ from: 'keys', group: 'user_id', features: ['x'], label: 'y', into: 'm_keys' });
      assert.equal(r.groupsOk, 2);
      const keys = (await db.sql<Row>(`SELECT user_id::text AS k FROM m_keys ORDER BY user_id`)).rows.map((x) => x.k);
      assert.deepEqual(keys, ['9007199254740992', '9007199254740993']);
    });
  });
}
