import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ManyModels } from 'manymodels';
import { backends } from '../helpers/backends.js';

/**
 * The report's pooled Brier score and AUC for labels that are not integers: a boolean label (true is
 * the class whose probability was predicted) and a numeric label spelled 1.0. The oracle is the
 * Brier score and the pairwise AUC computed here from the predictions table with the label read
 * by SQL itself (true → 1, 1.0 → 1).
 */
const SETUP = `
SELECT setseed(0.5);
CREATE TABLE obs AS
SELECT g, i, random() * 4 - 2 AS x FROM generate_series(1, 12) g, generate_series(1, 14) i;
ALTER TABLE obs ADD COLUMN yb boolean, ADD COLUMN yn numeric;
UPDATE obs SET yb = (random() < 1 / (1 + exp(-(x * (1 + g % 3))))) OR i = 1;
UPDATE obs SET yb = false WHERE i = 2;
UPDATE obs SET yn = CASE WHEN yb THEN 1.0 ELSE 0.00 END;
`;

type Row = Record<string, any>;

for (const backend of backends) {
  describe(`report of labels that are not integers, on ${backend.name}`, () => {
    let db: ManyModels;
    let dir: string;
    before(async () => {
      db = await backend.open();
      dir = mkdtempSync(join(tmpdir(), 'mm-report-labels-'));
      await db.exec(SETUP);
    });
    after(async () => {
      await db?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    for (const label of ['yb', 'yn']) {
      it(`label ${label}: Brier score and AUC as computed from the scored rows`, async () => {
        await db.train({ from: 'obs', group: 'g', features: ['x'], label, into: `m_${label}` });
        await db.predict({ models: `m_${label}`, from: 'obs', into: `p_${label}` });
        const d = (await db.report({ models: `m_${label}`, predictions: `p_${label}`, out: join(dir, `${label}.html`) })).data;
        const rows = (await db.sql<Row>(`SELECT probability AS p, (${label})::int AS y FROM p_${label} WHERE probability IS NOT NULL`)).rows;
        const pos = rows.filter((r) => r.y === 1);
        const neg = rows.filter((r) => r.y === 0);
        assert.ok(pos.length > 0 && neg.length > 0);
        let wins = 0;
        for (const a of pos) for (const b of neg) wins += a.p > b.p ? 1 : a.p === b.p ? 0.5 : 0;
        assert.ok(d.roc !== null, 'a ROC curve is drawn');
        assert.equal(d.roc.positives, pos.length);
        assert.ok(Math.abs(d.roc.auc - wins / (pos.length * neg.length)) < 1e-12, `${d.roc.auc}`);
        const brier = rows.reduce((s, r) => s + (r.p - r.y) ** 2, 0) / rows.length;
        assert.ok(d.calibration !== null);
        assert.ok(Math.abs(d.calibration.brier - brier) < 1e-12, `${d.calibration.brier} vs ${brier}`);
        // the run history is this models table's: its train and the predict that read it, not the other label's runs
        assert.deepEqual(d.runs.map((x) => [x.kind, x.output]), [['train', `"m_${label}"`], ['predict', `"p_${label}"`]]);
      });
    }
  });
}
