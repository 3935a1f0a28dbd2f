import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type ManyModels, type ManyModelsError, open } from 'manymodels';
import { backends, freshDatabaseUrl } from '../helpers/backends.js';
import { killCliAt } from '../helpers/kill-at.js';

/**
 * Issue 9, item 10: a retrain used to DROP the models table and RENAME the new one in, losing
 * every index and GRANT on it, and a view on it made each retrain fail after the whole fit. Now
 * whatever a user put on the models table survives retrains (both strategies), compared through
 * the catalog before and after; what cannot be kept is refused before any work with a code; the
 * models table has a primary key on the group key; and SIGKILL inside the swap of a kept table
 * loses nothing.
 */
type Row = Record<string, any>;
const SETUP = `CREATE TABLE offer AS SELECT 1 + g % 60 AS userid, 1 + g % 10 AS asktimes, 1 + (g * 3) % 14 AS askbackoffdays, (g * 7 + g / 60) % 2 AS bought_offer FROM generate_series(0, 599) AS g`;
const TRAIN = { from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'models' } as const;

/** Everything attached to a table, as the catalog describes it (names of our own staging tables never appear). */
async function catalogState(db: ManyModels, table: string): Promise<Record<string, unknown>> {
  const q = async (sql: string) => (await db.sql<Row>(sql, [table])).rows;
  return {
    indexes: await q(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY 1`),
    constraints: await q(`SELECT conname, contype, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype <> 'n' ORDER BY 1`),
    grants: await q(`SELECT grantee, privilege_type FROM information_schema.role_table_grants WHERE table_name = $1 ORDER BY 1, 2`),
    columnGrants: await q(`SELECT grantee, column_name, privilege_type FROM information_schema.column_privileges WHERE table_name = $1 AND grantee <> current_user ORDER BY 1, 2, 3`),
    columnComments: await q(`SELECT attname, col_description(attrelid, attnum) AS c FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND col_description(attrelid, attnum) IS NOT NULL ORDER BY 1`),
    views: await q(`SELECT v.relname, pg_get_viewdef(v.oid) AS def FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class WHERE d.refobjid = to_regclass($1) AND v.oid <> d.refobjid GROUP BY v.relname, v.oid ORDER BY 1`),
    policies: await q(`SELECT policyname, cmd, qual FROM pg_policies WHERE tablename = $1 ORDER BY 1`),
    rls: await q(`SELECT relrowsecurity, relforcerowsecurity, pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid = to_regclass($1)`),
    triggers: await q(`SELECT tgname, pg_get_triggerdef(oid) AS def FROM pg_trigger WHERE tgrelid = to_regclass($1) AND NOT tgisinternal ORDER BY 1`),
  };
}

for (const backend of backends) {
  describe(`a retrain keeps what is attached to the models table, on ${backend.name}`, () => {
    let db: ManyModels;
    const role = `mm_reader_${randomBytes(4).toString('hex')}`;
    before(async () => {
      db = await backend.open();
      await db.exec(SETUP);
      await db.exec(`CREATE ROLE ${role}`);
    });
    after(async () => {
      if (backend.name === 'postgres') {
        await db.exec(`DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => undefined);
      }
      await db?.close();
    });

    it('the models table has a primary key on the group key', async () => {
      await db.train(TRAIN);
      const pk = (await db.sql<Row>(`SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'models'::regclass AND contype = 'p'`)).rows;
      assert.deepEqual(pk, [{ def: 'PRIMARY KEY (userid)' }]);
      assert.equal((await db.sql<Row>(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'mm_stage_%'`)).rows[0].n, 0);
      await db.train({ ...TRAIN, group: ['userid', 'asktimes'], features: ['askbackoffdays'], into: 'models_two' });
      const pk2 = (await db.sql<Row>(`SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'models_two'::regclass AND contype = 'p'`)).rows;
      assert.deepEqual(pk2, [{ def: 'PRIMARY KEY (userid, asktimes)' }]);
      // a retrain under another group key: manymodels' own primary key on the old key is not the user's, so the
      // table is replaced (it was refused with OUTPUT_TABLE_DEPENDENCY naming models_two_pkey), with the key on the new key
      await db.train({ ...TRAIN, group: 'asktimes', features: ['askbackoffdays'], into: 'models_two' });
      const pk3 = (await db.sql<Row>(`SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'models_two'::regclass AND contype = 'p'`)).rows;
      assert.deepEqual(pk3, [{ def: 'PRIMARY KEY (asktimes)' }]);
      const n = (await db.sql<Row>(`SELECT (SELECT count(*)::int FROM models_two) AS m, (SELECT count(DISTINCT asktimes)::int FROM offer) AS g`)).rows[0];
      assert.equal(n.m, n.g);
    });

    it('a grant revoked again leaves nothing attached: the next retrain replaces the table, even under a new key', async () => {
      await db.train({ ...TRAIN, into: 'models_revoked' });
      await db.exec(`GRANT SELECT ON models_revoked TO ${role}`);
      await db.exec(`REVOKE SELECT ON models_revoked FROM ${role}`);
      // what is left on the table: its owner's default privileges, written out (PostgreSQL's own default, acldefault)
      const acl = (await db.sql<Row>(`SELECT relacl IS NOT NULL AS set, relacl = acldefault('r', relowner) AS dflt FROM pg_class WHERE oid = 'models_revoked'::regclass`)).rows[0];
      assert.deepEqual(acl, { set: true, dflt: true });
      const before = (await db.sql<Row>(`SELECT 'models_revoked'::regclass::oid AS o`)).rows[0].o;
      await db.train({ ...TRAIN, group: 'asktimes', features: ['askbackoffdays'], into: 'models_revoked' });
      assert.notEqual((await db.sql<Row>(`SELECT 'models_revoked'::regclass::oid AS o`)).rows[0].o, before, 'replaced by a rename');
    });

    it('indexes, grants, comments, views, policies and triggers survive retrains by both strategies', async () => {
      // Citus refuses triggers on distributed tables, Greenplum statement triggers
      const triggers = backend.name !== 'citus' && backend.name !== 'greenplum';
      // one statement at a time: Citus sends a DDL statement's whole text to its workers
      for (const sql of [
        'CREATE INDEX models_score_idx ON models (train_score)',
        `CREATE INDEX models_ok_idx ON models (userid) WHERE status = 'ok'`,
        `GRANT SELECT ON models TO ${role}`,
        // Citus 12 refuses column privileges ('grant/revoke on column list is currently unsupported')
        ...(backend.name === 'citus' ? [] : [`GRANT UPDATE (status) ON models TO ${role}`]),
        `COMMENT ON COLUMN models.train_score IS 'accuracy on the training rows'`,
        `CREATE VIEW good_models AS SELECT userid, train_score FROM models WHERE status = 'ok'`,
        'CREATE VIEW best_models AS SELECT * FROM good_models WHERE train_score > 0.5',
        'ALTER TABLE models ENABLE ROW LEVEL SECURITY',
        `CREATE POLICY readers ON models FOR SELECT TO ${role} USING (status = 'ok')`,
        // and triggers on distributed tables ('triggers are not supported on distributed tables'); Greenplum 7
        // statement triggers ('Triggers for statements are not yet supported')
        ...(triggers
          ? [
              'CREATE TABLE swap_log (n int)',
              'CREATE FUNCTION note_swap() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO swap_log VALUES (1); RETURN NULL; END $$',
              'CREATE TRIGGER models_swapped AFTER INSERT ON models FOR EACH STATEMENT EXECUTE FUNCTION note_swap()',
            ]
          : []),
      ]) {
        await db.exec(sql);
      }
      const before = await catalogState(db, 'models');
      assert.equal((before.indexes as Row[]).length, 3); // the primary key and the two of the user
      assert.ok((before.views as Row[]).length === 1 && (before.policies as Row[]).length === 1 && (before.triggers as Row[]).length === (triggers ? 1 : 0));
      const first = (await db.sql<Row>('SELECT DISTINCT run_id::text AS id FROM models')).rows;
      for (const strategy of ['streaming', 'in-database'] as const) {
        const r = await db.train({ ...TRAIN, strategy });
        assert.equal(r.groupsOk + r.groupsFailed, 60);
        assert.deepEqual(await catalogState(db, 'models'), before, `${strategy}: everything attached is as it was`);
        const owners = (await db.sql<Row>('SELECT DISTINCT run_id::text AS id FROM models')).rows;
        assert.deepEqual(owners, [{ id: r.runId }], `${strategy}: the contents are the new run's`);
        assert.notDeepEqual(owners, first);
        assert.equal((await db.sql<Row>('SELECT count(*)::int AS n FROM models')).rows[0].n, 60);
        assert.equal((await db.sql<Row>('SELECT count(*)::int AS n FROM best_models')).rows[0].n, (await db.sql<Row>(`SELECT count(*)::int AS n FROM models WHERE status = 'ok' AND train_score > 0.5`)).rows[0].n);
      }
      // the trigger stayed attached and fired once per retrain
      if (triggers) assert.equal((await db.sql<Row>('SELECT count(*)::int AS n FROM swap_log')).rows[0].n, 2);
      // predictions into a table with an index keep it too
      await db.predict({ models: 'models', from: 'offer', into: 'preds' });
      await db.exec('CREATE INDEX preds_user_idx ON preds (userid)');
      const predsBefore = await catalogState(db, 'preds');
      await db.predict({ models: 'models', from: 'offer', into: 'preds' });
      assert.deepEqual(await catalogState(db, 'preds'), predsBefore);
      assert.equal((await db.sql<Row>('SELECT count(*)::int AS n FROM preds')).rows[0].n, 600);
      assert.equal((await db.sql<Row>(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'mm_stage_%'`)).rows[0].n, 0);
    });

    it('what cannot be kept is refused before any work, with a code, and nothing changes', async () => {
      const contents = async () => (await db.sql<Row>(`SELECT md5(string_agg(m::text, '|' ORDER BY m.userid)) AS h FROM models AS m`)).rows[0].h;
      const before = { state: await catalogState(db, 'models'), rows: await contents() };
      const runs = async () => (await db.sql<Row>('SELECT count(*)::int AS n FROM manymodels.runs')).rows[0].n;
      const runsBefore = await runs();
      // another group key would change the table's shape under the view and the indexes
      await assert.rejects(db.train({ ...TRAIN, group: 'asktimes', features: ['askbackoffdays'], label: 'bought_offer' }), (e: ManyModelsError) => {
        assert.equal(e.code, 'OUTPUT_TABLE_DEPENDENCY');
        assert.match(e.message, /good_models/);
        assert.match(e.message, /column "asktimes" is missing/);
        return true;
      });
      // a foreign key that references the models table
      await db.exec('CREATE TABLE picks (userid int REFERENCES models (userid))');
      await assert.rejects(db.train(TRAIN), (e: ManyModelsError) => e.code === 'OUTPUT_TABLE_DEPENDENCY' && /foreign key/.test(e.message) && /picks/.test(e.message));
      await db.exec('DROP TABLE picks');
      assert.equal(await runs(), runsBefore, 'no run was started');
      assert.deepEqual(await catalogState(db, 'models'), before.state);
      assert.equal(await contents(), before.rows);
      assert.equal((await db.sql<Row>(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'mm_stage_%'`)).rows[0].n, 0);
    });
  });
}



describe('SIGKILL inside the swap of a kept models table loses nothing (PostgreSQL)', () => {
  let url: string;
  let db: ManyModels;
  before(async () => {
    url = await freshDatabaseUrl();
    db = await open(url);
    await db.exec(SETUP);
    await db.train(TRAIN);
    for (const sql of ['CREATE INDEX models_score_idx ON models (train_score)', `CREATE VIEW good_models AS SELECT userid FROM models WHERE status = 'ok'`, `COMMENT ON COLUMN models.model IS 'the document'`]) await db.exec(sql);
  });
  after(async () => {
    await db?.close();
  });

  it('at swap:dropped, swap:renamed and swap:catalogued the previous table and all on it are as they were', async () => {
    const fingerprint = async () => (await db.sql<Row>(`SELECT md5(string_agg(m::text, '|' ORDER BY m.userid)) || ' ' || obj_description('models'::regclass, 'pg_class') AS f FROM models AS m`)).rows[0].f as string;
    for (const point of ['swap:dropped', 'swap:renamed', 'swap:catalogued']) {
      const before = { rows: await fingerprint(), state: await catalogState(db, 'models') };
      assert.ok((await killCliAt(url, point, ['train', '--from', 'offer', '--group', 'userid', '--features', 'asktimes,askbackoffdays', '--label', 'bought_offer', '--into', 'models'], 60_000)).reached, `the run reached ${point}`);
      assert.equal(await fingerprint(), before.rows, point);
      assert.deepEqual(await catalogState(db, 'models'), before.state, point);
      const next = await db.train(TRAIN);
      assert.equal(next.groupsOk + next.groupsFailed, 60);
      assert.deepEqual(await catalogState(db, 'models'), before.state, `${point}: the next run kept everything too`);
      assert.equal((await db.sql<Row>(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'mm_stage_%'`)).rows[0].n, 0);
      assert.equal((await db.sql<Row>(`SELECT count(*)::int AS n FROM manymodels.runs WHERE status = 'running'`)).rows[0].n, 0);
    }
  });
});
