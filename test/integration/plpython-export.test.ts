/**
 * Issue 13, item 4: the original demo's own PL/Python scoring runs on manymodels' models table.
 * A PostgreSQL 15 server from Debian's binaries (with postgresql-plpython3-15 and python3-sklearn)
 * runs the demo's SQL (test/fixtures/seed_plpython.sql, a copy of ../shared/refs/seed_plpython.sql)
 * with its training (sections 2 and 3: scikit-learn in PL/Python) replaced by `manymodels train`
 * into the same table name and `export --format sklearn --into-column`; the demo's
 * logreg_predict_proba function and its offer_predictions query then run as written, reading the
 * `pickle` column where the demo read `model`. The 18 probabilities scikit-learn computes in the
 * server must equal the in-process scorer's to 1e-12, and the original demo's (scikit-learn's own
 * training) to 1e-4, the distance between its stopping point and the exact optimum.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type ManyModels, open } from 'manymodels';
import { cluster } from '../helpers/backends.js';
import { plpythonSkip, startDebianPostgres } from '../helpers/debian-postgres.js';

const skip = cluster !== null ? 'a cluster pass: this test starts its own single server' : plpythonSkip();
if (skip) process.stderr.write(`plpython-export.test.ts: skipped: ${skip}\n`);

const SEED = readFileSync(new URL('../fixtures/seed_plpython.sql', import.meta.url), 'utf8');

/** Section n of the demo's SQL (between its `-- n. ...` banner and the next banner). */
function section(n: number): string {
  const parts = SEED.split(/^-{79}\n-- (\d+)\. .*\n-{79}\n/m);
  const i = parts.indexOf(String(n));
  assert.ok(i > 0, `section ${n} of seed_plpython.sql`);
  return parts[i + 1];
}

function reference(): { userid: number; features: number[]; probability: number }[] {
  const text = readFileSync(new URL('../fixtures/seed_plpython.out', import.meta.url), 'utf8');
  const line = text.split('\n').find((l) => l.startsWith('{"plpython_seed_reference"'));
  assert.ok(line);
  return JSON.parse(line).plpython_seed_reference.predictions;
}

describe('the demo\'s PL/Python scoring on manymodels\' table (Debian PostgreSQL 15 + plpython3u + scikit-learn)', { skip }, () => {
  let server: { url: string; stop(): void } | null = null;
  let db: ManyModels;
  before(async () => {
    if (skip) return;
    server = await startDebianPostgres();
    db = await open(server.url);
  });
  after(async () => {
    await db?.close();
    server?.stop();
  });

  it('pickle.loads(m.pickle).predict_proba([features]) gives the scorer\'s probabilities, and the demo\'s', async () => {
    // 1. the offer table, as the demo makes it (and CREATE EXTENSION plpython3u)
    await db.exec(SEED.slice(0, SEED.indexOf('-------')) + section(1));
    // 2-3. instead of scikit-learn in PL/Python: manymodels, into the demo's table name, then the pickles
    const trained = await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'trained_model_by_user' });
    assert.equal(trained.groupsOk, 2);
    const exported = await db.exportModels({ models: 'trained_model_by_user', format: 'sklearn', intoColumn: true });
    assert.equal(exported.models, 2);
    // 4. the test offers, as the demo makes them (userlist from trained_model_by_user)
    await db.exec(section(4));
    // 5. the demo's scoring function and query, reading the pickle column where the demo read model
    const five = section(5);
    const seedCall = 'logreg_predict_proba(m.model, t.features)';
    assert.equal(five.split(seedCall).length, 2, 'the demo scores with logreg_predict_proba(m.model, t.features) once');
    await db.exec(five.replace(seedCall, 'logreg_predict_proba(m.pickle, t.features)'));
    const rows = (await db.sql<{ userid: number; features: number[]; probability: number }>(`SELECT userid, features, probability FROM offer_predictions ORDER BY userid, features[1]`)).rows;
    assert.equal(rows.length, 18);
    const scorer = await db.loadModels('trained_model_by_user');
    const ref = reference();
    rows.forEach((r, i) => {
      const mine = scorer.predictProba(r.userid, r.features)![1];
      assert.ok(Math.abs(r.probability - mine) <= 1e-12, `user ${r.userid} offer ${r.features}: scikit-learn in PL/Python ${r.probability}, the scorer ${mine}`);
      assert.equal(r.userid, ref[i].userid);
      assert.deepEqual(r.features, ref[i].features);
      assert.ok(Math.abs(r.probability - ref[i].probability) <= 1e-4, `user ${r.userid} offer ${r.features}: ${r.probability} vs the demo's ${ref[i].probability}`);
    });
    // what the server's scikit-learn unpickled: a LogisticRegression with manymodels' coefficients
    await db.exec(`CREATE FUNCTION mm_describe(model bytea) RETURNS text AS $$
import json, pickle, sklearn
m = pickle.loads(model)
return json.dumps({'type': type(m).__name__, 'sklearn': sklearn.__version__, 'coef': m.coef_.tolist(), 'intercept': m.intercept_.tolist(), 'classes': m.classes_.tolist(), 'n_features_in': m.n_features_in_})
$$ LANGUAGE plpython3u`);
    const described = (await db.sql<{ userid: number; d: string; model: any }>(`SELECT userid, mm_describe(pickle) AS d, model FROM trained_model_by_user ORDER BY userid`)).rows;
    for (const r of described) {
      const d = JSON.parse(r.d);
      assert.equal(d.type, 'LogisticRegression');
      assert.deepEqual(d.coef, r.model.state.coef, 'the same coefficients, bit for bit');
      assert.deepEqual(d.intercept, r.model.state.intercept);
      assert.deepEqual(d.classes, [0, 1]);
      assert.equal(d.n_features_in, 2);
    }
  });
});
