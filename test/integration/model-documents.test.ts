import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ManyModels, ManyModelsError } from 'manymodels';
import { backends } from '../helpers/backends.js';

/**
 * predict checks every model document in SQL before using one (src/pipeline/predict.ts). Each case
 * breaks one part of one group's document; predict must refuse it with INVALID_MODEL_DOCUMENT naming
 * that group, with either engine, and the untouched table must still score. The check is written
 * without correlated subqueries over jsonb_array_elements, which Citus refuses on a distributed
 * models table; these cases pin down that it still catches what that version caught, and more
 * (a missing intercept slipped through it: NULL compared to anything is not true).
 */
const SETUP = `
CREATE TABLE offer (userid int, asktimes int, askbackoffdays int, bought_offer int);
INSERT INTO offer VALUES
  (1, 2, 1, 0), (1, 2, 3, 0), (1, 4, 7, 1), (1, 4, 7, 1), (1, 6, 7, 1),
  (2, 2, 7, 0), (2, 2, 7, 0), (2, 4, 7, 0), (2, 4, 7, 1), (2, 6, 7, 1),
  (3, 1, 2, 0), (3, 5, 2, 1), (3, 3, 9, 0), (3, 7, 1, 1);
`;

const LOGISTIC: [string, string][] = [
  ['the intercept is missing', `model #- '{state,intercept}'`],
  ['the intercept is a number, not an array', `jsonb_set(model, '{state,intercept}', '0.5')`],
  ['an intercept is a string', `jsonb_set(model, '{state,intercept}', '["0.5"]')`],
  ['a coefficient is a string', `jsonb_set(model, '{state,coef}', '[["x", 1]]')`],
  ['a coefficient row is a number', `jsonb_set(model, '{state,coef}', '[1]')`],
  ['a coefficient row is too short', `jsonb_set(model, '{state,coef}', '[[1]]')`],
  ['a coefficient row is too long', `jsonb_set(model, '{state,coef}', '[[1, 2, 3]]')`],
  ['a coefficient is null', `jsonb_set(model, '{state,coef}', '[[1, null]]')`],
  ['the coefficients are missing', `model #- '{state,coef}'`],
  ['the classes are missing', `model #- '{state,classes}'`],
  ['one class only', `jsonb_set(model, '{state,classes}', '[0]')`],
  ['two intercepts for one row of coefficients', `jsonb_set(model, '{state,intercept}', '[0.5, 0.5]')`],
  ['the classes are a string', `jsonb_set(model, '{state,classes}', '"01"')`],
  ['nFeatures is a string', `jsonb_set(model, '{state,nFeatures}', '"abc"')`],
  ['nFeatures is not a whole number', `jsonb_set(model, '{state,nFeatures}', '2.5')`],
  ['nFeatures is beyond an int', `jsonb_set(model, '{state,nFeatures}', '1e100')`],
];

const LINEAR: [string, string][] = [
  ['the intercept is missing', `model #- '{state,intercept}'`],
  ['the intercept is an array', `jsonb_set(model, '{state,intercept}', '[0.5]')`],
  ['a coefficient is a string', `jsonb_set(model, '{state,coef}', '["x", 1]')`],
  ['a coefficient is an array', `jsonb_set(model, '{state,coef}', '[[1], 1]')`],
  ['the coefficients are too few', `jsonb_set(model, '{state,coef}', '[1]')`],
  ['nFeatures is not a whole number', `jsonb_set(model, '{state,nFeatures}', '2.5')`],
];

for (const backend of backends) {
  describe(`model documents are checked before predict uses them, on ${backend.name}`, () => {
    let db: ManyModels;
    before(async () => {
      db = await backend.open();
      await db.exec(SETUP);
      await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'logistic' });
      await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'linear', estimator: 'linear' });
    });
    after(async () => {
      await db?.close();
    });

    it('the untouched tables score with both engines', async () => {
      for (const models of ['logistic', 'linear']) {
        for (const engine of ['sql', 'ts'] as const) {
          const r = await db.predict({ models, from: 'offer', into: `ok_${models}_${engine}`, engine });
          assert.equal(r.rows, 14);
          assert.equal(r.rowsWithoutModel, 0);
        }
      }
    });

    it('a valid document of another width among the others: FEATURE_COUNT_MISMATCH names that width', async () => {
      // group 2's model widened to 3 features (a third coefficient), put back after: the table then has models of widths 2 and 3
      const original = (await db.sql<{ m: string }>(`SELECT model::text AS m FROM logistic WHERE userid = 2`)).rows[0].m;
      await db.exec(`UPDATE logistic SET model = jsonb_set(jsonb_set(model, '{state,nFeatures}', '3'), '{state,coef,0}', (model->'state'->'coef'->0) || '[0.5]'::jsonb) WHERE userid = 2`);
      try {
        await assert.rejects(db.predict({ models: 'logistic', from: 'offer', into: 'scores', features: ['asktimes', 'askbackoffdays'] }), (e: ManyModelsError) => {
          assert.equal(e.code, 'FEATURE_COUNT_MISMATCH', e.message);
          assert.match(e.message, /trained on 3 features, but 2 feature columns were given/);
          return true;
        });
      } finally {
        await db.sql(`UPDATE logistic SET model = $1::jsonb WHERE userid = 2`, [original]);
      }
    });

    for (const [table, cases] of [['logistic', LOGISTIC], ['linear', LINEAR]] as const) {
      for (const [what, edit] of cases) {
        it(`${table}: ${what}`, async () => {
          // group 2's document broken in place (on a cluster the models table is distributed), put back after
          const original = (await db.sql<{ m: string }>(`SELECT model::text AS m FROM ${table} WHERE userid = 2`)).rows[0].m;
          await db.exec(`UPDATE ${table} SET model = ${edit} WHERE userid = 2`);
          try {
            for (const engine of ['sql', 'ts'] as const) {
              await assert.rejects(
                db.predict({ models: table, from: 'offer', into: 'scores', engine }),
                (e: ManyModelsError) => {
                  assert.equal(e.code, 'INVALID_MODEL_DOCUMENT', `${engine}: ${e.message}`);
                  assert.match(e.message, new RegExp(`model of group \\{"userid":2\\} in ${table} is invalid`));
                  return true;
                },
              );
            }
          } finally {
            await db.sql(`UPDATE ${table} SET model = $1::jsonb WHERE userid = 2`, [original]);
          }
        });
      }
    }
  });
}
