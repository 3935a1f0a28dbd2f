import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ManyModels, coefficientNames } from 'manymodels';
import { backends } from '../helpers/backends.js';

type Row = Record<string, any>;

/** Every model document of a run names its inputs (`features`), whichever strategy and input form wrote it. */
const SETUP = `
CREATE TABLE obs AS
SELECT (g % 4) + 1 AS "User Id", (g * 7) % 10 AS "Ask ""Times""", (g * 5) % 14 AS "back.off",
       ((g * 7) % 10 + g / 4) % 2 AS bought
FROM generate_series(0, 79) AS g;
CREATE TABLE obs_vec AS SELECT "User Id", ARRAY["Ask ""Times""", "back.off", 1] AS "Feats", bought FROM obs;
`;

for (const backend of backends) {
  describe(`model documents name their features on ${backend.name}`, () => {
    let db: ManyModels;
    before(async () => {
      db = await backend.open();
      await db.exec(SETUP);
    });
    after(async () => db.close());

    const features = async (table: string): Promise<unknown[]> =>
      (await db.sql<Row>(`SELECT DISTINCT model->'features' AS f FROM ${table} WHERE status = 'ok'`)).rows.map((r) => r.f);

    for (const strategy of ['streaming', 'in-database'] as const) {
      it(`${strategy}: feature columns by their names as written, an array column by its elements`, async () => {
        await db.train({ from: 'obs', group: 'User Id', features: ['Ask "Times"', 'back.off'], label: 'bought', into: `cols_${strategy === 'streaming' ? 's' : 'i'}`, strategy });
        assert.deepEqual(await features(`cols_${strategy === 'streaming' ? 's' : 'i'}`), [['Ask "Times"', 'back.off']]);
        await db.train({ from: 'obs_vec', group: 'User Id', features: 'Feats', label: 'bought', into: `vec_${strategy === 'streaming' ? 's' : 'i'}`, estimator: 'ridge', strategy });
        assert.deepEqual(await features(`vec_${strategy === 'streaming' ? 's' : 'i'}`), [['Feats[1]', 'Feats[2]', 'Feats[3]']]);
        const doc = (await db.sql<Row>(`SELECT model FROM vec_${strategy === 'streaming' ? 's' : 'i'} LIMIT 1`)).rows[0].model;
        assert.deepEqual(coefficientNames(doc), ['Feats[1]', 'Feats[2]', 'Feats[3]']);
      });
    }
    it('packed form: the 2-D array column by its elements', async () => {
      await db.exec(`CREATE TABLE packed AS SELECT "User Id", array_agg(ARRAY["Ask ""Times""", "back.off"] ORDER BY "Ask ""Times""", "back.off", bought) AS x,
        array_agg(bought ORDER BY "Ask ""Times""", "back.off", bought) AS y FROM obs GROUP BY 1`);
      await db.train({ from: 'packed', group: 'User Id', features: 'x', label: 'y', into: 'packed_models' });
      assert.deepEqual(await features('packed_models'), [['x[1]', 'x[2]']]);
    });
  });
}
