import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ManyModels } from 'manymodels';
import { backends } from '../helpers/backends.js';

/**
 * recommend's class must be one the models know: an unknown class used to rank nothing and write an
 * empty table with exit 0. A boolean label's class is named true / false as predict prints it, and
 * ranks exactly as its stored spelling (1 / 0) does.
 */
const SETUP = `
CREATE TABLE obs AS SELECT g, i, (i % 5)::float8 AS x, (i % 5 + g % 2 > 2) OR i = 1 AS y FROM generate_series(1, 6) g, generate_series(1, 12) i;
UPDATE obs SET y = false WHERE i = 2;
CREATE TABLE cands AS SELECT c AS x FROM generate_series(0, 4) c;
`;

type Row = Record<string, any>;

for (const backend of backends) {
  describe(`recommend checks its class, on ${backend.name}`, () => {
    let db: ManyModels;
    before(async () => {
      db = await backend.open();
      await db.exec(SETUP);
      await db.train({ from: 'obs', group: 'g', features: ['x'], label: 'y', into: 'm' });
    });
    after(async () => {
      await db?.close();
    });

    for (const engine of ['sql', 'ts'] as const) {
      it(`${engine}: an unknown class is refused, naming the classes; true ranks as 1 does`, async () => {
        await assert.rejects(
          db.recommend({ models: 'm', candidates: 'cands', candidate: 'x', into: `r_bad_${engine}`, positiveClass: 'zzz', engine }),
          (e: any) => e.code === 'INVALID_OPTION' && /class "zzz"/.test(e.message) && /0, 1/.test(e.hint),
        );
        const a = await db.recommend({ models: 'm', candidates: 'cands', candidate: 'x', into: `r_true_${engine}`, positiveClass: 'true', k: 2, engine });
        const b = await db.recommend({ models: 'm', candidates: 'cands', candidate: 'x', into: `r_one_${engine}`, positiveClass: '1', k: 2, engine });
        assert.equal(a.rows, 12);
        assert.equal(b.rows, 12);
        const rows = async (t: string) => (await db.sql<Row>(`SELECT g, x, rank, probability FROM ${t} ORDER BY g, rank`)).rows;
        assert.deepEqual(await rows(`r_true_${engine}`), await rows(`r_one_${engine}`));
      });
    }
  });
}
