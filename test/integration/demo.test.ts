import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { runDemo } from 'manymodels';
import { backends } from '../helpers/backends.js';

/** scikit-learn's predictions from the original PL/Python demo (../shared/refs/seed_plpython.out, its JSON line). */
function reference(): { userid: number; features: number[]; probability: number }[] {
  const text = readFileSync(new URL('../fixtures/seed_plpython.out', import.meta.url), 'utf8');
  const line = text.split('\n').find((l) => l.startsWith('{"plpython_seed_reference"'));
  assert.ok(line, 'the reference output has its JSON line');
  return JSON.parse(line).plpython_seed_reference.predictions;
}

for (const backend of backends) {
  describe(`the demo on ${backend.name}`, () => {
    it('prints 18 probabilities that agree with scikit-learn to 1e-4, and the best offer per user', async () => {
      const db = await backend.open();
      try {
        const seen: string[] = [];
        const out = await runDemo(db, (title) => seen.push(title));
        assert.equal(seen.length, 5);
        assert.equal(out.train.groupsOk, 2);
        const ref = reference();
        assert.equal(ref.length, 18);
        const rows = out.predictions.rows as { userid: number; features: number[]; probability: number }[];
        assert.equal(rows.length, 18);
        for (let i = 0; i < 18; i++) {
          assert.equal(rows[i].userid, ref[i].userid);
          assert.deepEqual(rows[i].features, ref[i].features);
          assert.ok(Math.abs(rows[i].probability - ref[i].probability) <= 1e-4, `user ${ref[i].userid} offer ${ref[i].features}: ${rows[i].probability} vs ${ref[i].probability}`);
        }
        // the best offer is the one with the highest reference probability
        for (const best of out.bestOffers.rows as { userid: number; best_offer: number[] }[]) {
          const mine = ref.filter((r) => r.userid === best.userid).sort((a, b) => b.probability - a.probability)[0];
          assert.deepEqual(best.best_offer, mine.features);
        }
        // the demo can run again on the same database: the same predictions (on a cluster to 1e-12: its
        // array_agg gathers a user's rows from the segments in no defined order, so sums may round apart)
        const again = await runDemo(db);
        if (backend.name === 'pglite' || backend.name === 'postgres') assert.deepEqual(again.predictions.rows, out.predictions.rows);
        else {
          const [a, b] = [again.predictions.rows as typeof rows, rows];
          assert.deepEqual(a.map((r) => [r.userid, r.features]), b.map((r) => [r.userid, r.features]));
          for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i].probability - b[i].probability) <= 1e-12, `row ${i}`);
        }
      } finally {
        await db.close();
      }
    });
  });
}
