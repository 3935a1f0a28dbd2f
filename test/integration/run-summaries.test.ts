/**
 * Issue 9, item 17: what a run reports about itself. A failure summary showed one example reason
 * for a code whose failures had different reasons; predict counted rows with a model but NULL
 * features as "no usable model"; predict's progress said "0 groups" and a cancelled run still sent
 * its final (done) event; the rate and ETA counted the wait for a query's first row (PGlite runs the
 * whole query first), so the ETA was many times too long.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { CancelledError, type ManyModels } from 'manymodels';
import { ProgressTracker, type ProgressEvent } from '../../dist/pipeline/progress.js';
import { backends } from '../helpers/backends.js';

for (const backend of backends) {
  describe(`run summaries on ${backend.name}`, () => {
    let db: ManyModels;
    before(async () => {
      db = await backend.open();
      await db.exec(`
        CREATE TABLE obs (g int, i int, x float8[], y int);
        INSERT INTO obs SELECT g, i, ARRAY[(i % 5)::float8, (i % 3)::float8], (i % 2) FROM generate_series(1, 6) g, generate_series(1, 12) i;
        -- group 2: feature arrays of unequal lengths; group 3: too many rows; groups 5 and 6: one class
        UPDATE obs SET x = ARRAY[1, 2, 3]::float8[] WHERE g = 2 AND i = 4;
        INSERT INTO obs SELECT 3, 100 + i, ARRAY[1, 2]::float8[], i % 2 FROM generate_series(1, 30) i;
        UPDATE obs SET y = 0 WHERE g = 5;
        UPDATE obs SET y = 1 WHERE g = 6;`);
    });
    after(async () => {
      await db?.close();
    });

    it('the failure summary gives every kind of reason under a code, with its count', async () => {
      const r = await db.train({ from: 'obs', group: 'g', features: 'x', label: 'y', into: 'm', maxGroupRows: 20 });
      assert.equal(r.groupsFailed, 4);
      const invalid = r.failures.find((f) => f.code === 'INVALID_GROUP')!;
      assert.equal(invalid.count, 2);
      assert.equal(invalid.reasons.length, 2, JSON.stringify(invalid));
      assert.deepEqual(invalid.reasons.map((k) => k.count), [1, 1]);
      assert.ok(invalid.reasons.some((k) => /unequal|length/i.test(k.example)), JSON.stringify(invalid.reasons));
      assert.ok(invalid.reasons.some((k) => /maxGroupRows/.test(k.example)), JSON.stringify(invalid.reasons));
      // two single-class groups (classes 0 and 1) are one code with two kinds of reason
      const single = r.failures.find((f) => f.code === 'SINGLE_CLASS')!;
      assert.equal(single.count, 2);
      // the error column is the oracle: the summary of the table agrees with it, per code and kind
      const errors = (await db.sql<{ error: string }>(`SELECT error FROM m WHERE status = 'failed'`)).rows.map((x) => x.error);
      const s = await db.describeModels('m');
      for (const f of s.failures) {
        assert.equal(f.count, errors.filter((e) => e.startsWith(`${f.code}:`)).length);
        assert.equal(f.reasons.reduce((a, k) => a + k.count, 0), f.count);
        for (const k of f.reasons) assert.ok(errors.includes(k.example));
      }
      assert.equal(s.failures.find((f) => f.code === 'INVALID_GROUP')!.reasons.length, 2);
    });

    it('predict counts rows with a model but unusable features apart from rows without a model', async () => {
      await db.exec(`
        CREATE TABLE score AS SELECT g, i, x FROM obs WHERE g IN (1, 4) AND i <= 3;
        INSERT INTO score VALUES (1, 50, NULL), (4, 51, ARRAY[1, NULL]::float8[]), (2, 52, ARRAY[1, 2]::float8[]), (99, 53, ARRAY[1, 2]::float8[]);`);
      for (const engine of ['sql', 'ts'] as const) {
        const r = await db.predict({ models: 'm', from: 'score', into: `p_${engine}`, engine });
        assert.equal(r.rows, 10);
        assert.equal(r.rowsUnscored, 2, `${engine}: the NULL feature rows of groups 1 and 4`);
        assert.equal(r.rowsWithoutModel, 2, `${engine}: the failed group 2 and the unknown group 99`);
        const nulls = (await db.sql<{ n: number }>(`SELECT count(*)::int AS n FROM p_${engine} WHERE prediction IS NULL`)).rows[0].n;
        assert.equal(nulls, r.rowsUnscored + r.rowsWithoutModel);
      }
    });

    it("predict's TypeScript engine reports the groups it scored", async () => {
      const events: ProgressEvent[] = [];
      await db.predict({ models: 'm', from: 'score', into: 'p_progress', engine: 'ts', onProgress: (e) => events.push(e) });
      const last = events.at(-1)!;
      assert.equal(last.done, true);
      assert.equal(last.rowsDone, 10);
      assert.equal(last.groupsDone, 2, 'groups 1 and 4 have a model');
    });

    it('a cancelled run sends no final (done) event', async () => {
      const events: ProgressEvent[] = [];
      const ac = new AbortController();
      await db.exec(`CREATE TABLE many AS SELECT g % 50 AS g, ARRAY[(g % 5)::float8, (g % 3)::float8] AS x FROM generate_series(1, 20000) g`);
      const run = db.predict({
        models: 'm', from: 'many', into: 'p_cancel', engine: 'ts', signal: ac.signal,
        onProgress: (e) => {
          events.push(e);
          ac.abort('test');
        },
      });
      await assert.rejects(run, (e: unknown) => e instanceof CancelledError);
      assert.ok(events.length > 0, 'the run reported progress before it was cancelled');
      assert.equal(events.filter((e) => e.done).length, 0, JSON.stringify(events.at(-1)));
      assert.equal((await db.sql(`SELECT to_regclass('p_cancel') AS t`)).rows[0].t, null, 'nothing was written');
    });
  });
}

describe('progress rate and ETA', () => {
  it('count from the first row, not from the start of a query that sends nothing for a while', async () => {
    const events: { e: ProgressEvent; at: number }[] = [];
    const t = new ProgressTracker('train', 10_000, (e) => events.push({ e, at: performance.now() }), 0);
    await sleep(600); // the backend runs the whole query before its first row (PGlite)
    const first = performance.now();
    t.add(10, 1000);
    await sleep(150);
    t.add(10, 1000);
    const { e, at } = events.at(-1)!;
    const rate = 1000 / ((at - first) / 1000); // the rows after the first chunk, over the time since it came
    const eta = (10_000 - 2000) / rate;
    assert.ok(e.etaSeconds !== null);
    assert.ok(Math.abs(e.etaSeconds - eta) <= 0.2 * eta, `eta ${e.etaSeconds} vs ${eta}`);
    assert.ok(Math.abs(e.rowsPerSecond - rate) <= 0.2 * rate, `rate ${e.rowsPerSecond} vs ${rate}`);
  });

  it('a tracker whose signal has fired sends no done event', () => {
    const ac = new AbortController();
    const events: ProgressEvent[] = [];
    const t = new ProgressTracker('predict', null, (e) => events.push(e), 0, ac.signal);
    t.add(0, 5);
    ac.abort();
    t.finish();
    assert.equal(events.length, 1);
    assert.equal(events[0].done, false);
  });
});
