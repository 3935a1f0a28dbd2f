import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ManyModels, type ManyModelsError, runDemo } from 'manymodels';
import { backends } from '../helpers/backends.js';
import { assertDeepClose, exactOn } from '../helpers/close.js';
import { snapshot } from '../helpers/snapshot.js';

/**
 * Issue 9, item 9: the demo dropped the user's own offer, userlist, offers_tests, offers_raw,
 * training_set1, offers_as_feature_vec and the array_agg_array aggregate without asking. It now
 * writes into its own schema; a schema of that name it did not create is refused, naming what
 * would be replaced, unless replace is given. Checked through the catalog: every table's rows and
 * comment, and every routine, before and after.
 */
type Row = Record<string, any>;

const USER_OBJECTS = `
CREATE TABLE offer (id int PRIMARY KEY, note text); INSERT INTO offer VALUES (1, 'mine'), (2, 'also mine');
CREATE TABLE userlist (userid int); INSERT INTO userlist VALUES (7);
CREATE TABLE offers_tests (x text); INSERT INTO offers_tests VALUES ('keep');
CREATE TABLE offers_raw (features int[]); INSERT INTO offers_raw VALUES (ARRAY[42]);
CREATE TABLE training_set1 (a int); INSERT INTO training_set1 VALUES (1);
CREATE TABLE offers_as_feature_vec (b int); INSERT INTO offers_as_feature_vec VALUES (2);
CREATE TABLE trained_model_by_user (c int); INSERT INTO trained_model_by_user VALUES (3);
CREATE TABLE offer_predictions (d int); INSERT INTO offer_predictions VALUES (4);
COMMENT ON TABLE offer IS 'the offers of my shop';
CREATE INDEX offer_note ON offer (note);
CREATE FUNCTION array_append_2d(integer[][], integer[]) RETURNS integer[][] LANGUAGE sql IMMUTABLE AS $$ SELECT $1 || $2 $$;
CREATE AGGREGATE array_agg_array(integer[]) (SFUNC = array_append_2d, STYPE = integer[][], INITCOND = '{}');
CREATE VIEW my_view AS SELECT * FROM offer;
`;

async function catalog(db: ManyModels): Promise<unknown> {
  return {
    tables: await snapshot(db),
    routines: (await db.sql<Row>(`SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid) AS args, p.prokind, md5(coalesce(p.prosrc, '')) AS src
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' ORDER BY 1, 2, 3`)).rows,
    indexes: (await db.sql<Row>(`SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2, 3`)).rows,
  };
}

/**
 * The part of the catalog outside the demo's schema (and the run catalog, which records the runs by
 * design), without Citus's own views in public (citus_tables lists every distributed table, the
 * demo's too).
 */
function outside(c: any): unknown {
  return { ...c, tables: Object.fromEntries(Object.entries(c.tables).filter(([k]) => !/\bmanymodels(_demo)?(\.|$)/.test(k) && !/^table public\.citus_/.test(k))) };
}

for (const backend of backends) {
  describe(`the demo keeps out of the user's tables, on ${backend.name}`, () => {
    it('writes into its own schema and leaves every table, routine and index of the user as it was', async () => {
      const db = await backend.open();
      try {
        await db.exec(USER_OBJECTS);
        const before = await catalog(db);
        const out = await runDemo(db);
        assert.equal(out.predictions.rows.length, 18);
        assert.equal(out.train.groupsOk, 2);
        assert.deepEqual(outside(await catalog(db)), outside(before));
        assert.deepEqual((await db.sql<Row>('SELECT * FROM offer ORDER BY id')).rows, [{ id: 1, note: 'mine' }, { id: 2, note: 'also mine' }]);
        assert.equal((await db.sql<Row>('SELECT count(*)::int AS n FROM manymodels_demo.offer')).rows[0].n, 10);
        // and again: the demo's schema is its own to rebuild
        const again = await runDemo(db);
        assertDeepClose(again.predictions.rows, out.predictions.rows, exactOn(backend));
        assert.deepEqual(outside(await catalog(db)), outside(before));
      } finally {
        await db.close();
      }
    });

    it('refuses a schema of its name that it did not create, naming what it would replace, unless replace', async () => {
      const db = await backend.open();
      try {
        await db.exec(`CREATE SCHEMA manymodels_demo; CREATE TABLE manymodels_demo.offer (mine int); INSERT INTO manymodels_demo.offer VALUES (1);
                       CREATE TABLE manymodels_demo.userlist (u int); CREATE TABLE manymodels_demo.other (o int)`);
        const before = await snapshot(db);
        await assert.rejects(runDemo(db), (e: ManyModelsError) => {
          assert.equal(e.code, 'DEMO_SCHEMA_EXISTS');
          assert.match(e.message, /would replace its offer, userlist$/m);
          return true;
        });
        assert.deepEqual(await snapshot(db), before);
        const out = await runDemo(db, undefined, { replace: true });
        assert.equal(out.predictions.rows.length, 18);
        assert.equal((await db.sql<Row>('SELECT count(*)::int AS n FROM manymodels_demo.other')).rows[0].n, 0);
      } finally {
        await db.close();
      }
    });
  });
}
