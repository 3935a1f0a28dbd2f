/**
 * Issue 13, item 4: `export --format onnx` and `--format sklearn`. The oracles are outside
 * manymodels: onnxruntime (onnxruntime-node, CPU) runs every exported ONNX model, and scikit-learn
 * 1.2.1 (Debian's, under /usr/bin/python3) unpickles every exported pickle and runs its own
 * predict_proba / predict; both must agree with the in-process scorer (itself checked against the
 * SQL engine in scorer.test.ts): ONNX to float32 precision (its operators hold float coefficients
 * and give float outputs), scikit-learn to 1e-12.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ManyModels, Scorer } from 'manymodels';
import { backends, freshDatabaseUrl, cluster } from '../helpers/backends.js';
import { OFFER_SQL } from '../helpers/offers.js';
import { snapshot } from '../helpers/snapshot.js';

const PYTHON = '/usr/bin/python3';
const sklearnSkip = (() => {
  if (!existsSync(PYTHON)) return `no ${PYTHON}: apt-get install python3-sklearn to check the pickles with scikit-learn`;
  const r = spawnSync(PYTHON, ['-c', 'import sklearn'], { encoding: 'utf8' });
  return r.status === 0 ? false : `${PYTHON} has no scikit-learn: apt-get install python3-sklearn to check the pickles with scikit-learn`;
})();
if (sklearnSkip) process.stderr.write(`export.test.ts: skipped the scikit-learn checks: ${sklearnSkip}\n`);

/**
 * onnxruntime-node (a dev dependency), imported by a computed name so that a checkout whose
 * node_modules predates it still typechecks; its ONNX checks are then skipped with the reason.
 */
type OrtOutputs = Record<string, { data: ArrayLike<unknown>; dims: readonly number[] }>;
interface OrtSession {
  run(feeds: Record<string, unknown>): Promise<OrtOutputs>;
}
interface Ort {
  Tensor: new (type: 'float64', data: Float64Array, dims: number[]) => unknown;
  InferenceSession: { create(model: Uint8Array): Promise<OrtSession> };
}
const ORT_MODULE = 'onnxruntime-node';
const ort: Ort | null = await import(ORT_MODULE).then((m) => (m.default ?? m) as Ort, () => null);
const onnxSkip = ort === null ? 'onnxruntime-node is not installed: run npm ci (it is a dev dependency)' : false;
if (onnxSkip) process.stderr.write(`export.test.ts: skipped the ONNX checks: ${onnxSkip}\n`);

const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;

/** Feature rows every model is scored on: the training grid and beyond it. */
const XS: number[][] = [];
for (let a = 0; a <= 12; a += 2) for (let b = -1; b <= 15; b += 4) XS.push([a, b]);

interface Manifest {
  format: string;
  group: string[];
  features: string[];
  models: { key: (string | null)[]; file: string }[];
}

const readManifest = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));

/** Runs every pickle of a directory through scikit-learn: per file, predict_proba (classifiers) or predict, and predict. */
function sklearnScores(dir: string, files: string[]): Record<string, { proba: number[][] | null; pred: unknown[]; cls: string }> {
  const py = `
import json, pickle, sys, warnings
warnings.simplefilter('error')   # an InconsistentVersionWarning (another sklearn than 1.2.1) or any other is a failure
d, files, X = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
out = {}
for f in files:
    with open(d + '/' + f, 'rb') as fh:
        m = pickle.loads(fh.read())
    proba = m.predict_proba(X).tolist() if hasattr(m, 'predict_proba') else None
    out[f] = {'proba': proba, 'pred': [p.item() if hasattr(p, 'item') else p for p in m.predict(X)], 'cls': type(m).__module__ + '.' + type(m).__name__}
print(json.dumps(out))
`;
  const r = spawnSync(PYTHON, ['-c', py, dir, JSON.stringify(files), JSON.stringify(XS)], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

for (const backend of backends) {
  describe(`export on ${backend.name}`, () => {
    let db: ManyModels;
    const dirs: string[] = [];
    const tmp = (): string => {
      const d = mkdtempSync(join(tmpdir(), 'mm-export-'));
      dirs.push(d);
      return d;
    };
    before(async () => {
      db = await backend.open();
      await db.exec(OFFER_SQL(12, { singleClass: [4] }));
      await db.exec(`ALTER TABLE offer ADD COLUMN kind text, ADD COLUMN spend float8, ADD COLUMN flag boolean, ADD COLUMN region text`);
      await db.exec(`UPDATE offer SET kind = (ARRAY['low','mid','top'])[1 + (offerid * 7 + asktimes) % 3], spend = asktimes * 2.5 - askbackoffdays * 0.75 + (offerid % 5) * 0.1,
        flag = bought_offer = 1, region = CASE WHEN userid % 2 = 0 THEN 'north' ELSE 'south.x/y' END`);
      await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'm_bin' });
      await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'kind', into: 'm_multi', params: { C: 0.5, classWeight: 'balanced' } });
      await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'spend', into: 'm_ridge', estimator: 'ridge', params: { alpha: 0.3 } });
      await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'spend', into: 'm_linear', estimator: 'linear' });
      await db.train({ from: 'offer', group: ['region', 'userid'], features: ['asktimes', 'askbackoffdays'], label: 'flag', into: 'm_bool' });
    });
    after(async () => {
      await db?.close();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    const keyOf = (s: Scorer, key: (string | null)[]) => (s.info.group.length === 1 ? key[0] : key);

    for (const table of ['m_bin', 'm_multi', 'm_ridge', 'm_linear', 'm_bool']) {
      it(`${table}: every ONNX model, run by onnxruntime, agrees with the scorer to float32 precision`, { skip: onnxSkip }, async () => {
        if (ort === null) return;
        const dir = join(tmp(), 'onnx');
        const r = await db.exportModels({ models: table, format: 'onnx', out: dir });
        const scorer = await db.loadModels(table);
        const man = readManifest(dir);
        assert.equal(r.models, man.models.length);
        assert.equal(man.models.length, scorer.size, 'one file per ok group');
        assert.equal(readdirSync(dir).length, man.models.length + 1);
        const rt: Ort = ort;
        const input: unknown = new rt.Tensor('float64', Float64Array.from(XS.flat()), [XS.length, 2]);
        let compared = 0;
        for (const { key, file } of man.models) {
          const session: OrtSession = await rt.InferenceSession.create(readFileSync(join(dir, file)));
          const out: OrtOutputs = await session.run({ features: input });
          const k = keyOf(scorer, key) as any;
          if (table === 'm_ridge' || table === 'm_linear') {
            const y = out.variable.data as Float32Array;
            XS.forEach((x, i) => {
              const want = scorer.predict(k, x) as number;
              assert.ok(Math.abs(y[i] - want) <= 1e-5 * (1 + Math.abs(want)), `${file} row ${i}: ${y[i]} vs ${want}`);
              compared++;
            });
            continue;
          }
          const probs = out.probabilities.data as Float32Array;
          const labels = Array.from(out.label.data as ArrayLike<unknown>);
          const K: number = out.probabilities.dims[1];
          const classes = scorer.classes(k)!;
          assert.equal(K, classes.length);
          XS.forEach((x, i) => {
            const want = scorer.predictProba(k, x)!;
            for (let c = 0; c < K; c++) assert.ok(Math.abs(probs[i * K + c] - want[c]) <= 1e-5, `${file} row ${i} class ${c}: ${probs[i * K + c]} vs ${want[c]}`);
            // the label where the probabilities are not within float32 noise of a tie
            const sorted = [...want].sort((a, b) => b - a);
            if (sorted[0] - sorted[1] > 1e-4) {
              const label = labels[i];
              const pred = scorer.predict(k, x);
              assert.equal(typeof pred === 'boolean' ? Number(pred) : String(pred), typeof pred === 'boolean' ? Number(label) : String(label), `${file} row ${i}`);
            }
            compared++;
          });
        }
        assert.ok(compared >= XS.length * 10, `compared ${compared}`);
      });

      it(`${table}: every scikit-learn pickle, loaded by scikit-learn 1.2.1, agrees with the scorer to 1e-12`, { skip: sklearnSkip }, async () => {
        const dir = join(tmp(), 'pkl');
        await db.exportModels({ models: table, format: 'sklearn', out: dir });
        const scorer = await db.loadModels(table);
        const man = readManifest(dir);
        assert.equal(man.models.length, scorer.size);
        const got = sklearnScores(dir, man.models.map((m) => m.file));
        for (const { key, file } of man.models) {
          const k = keyOf(scorer, key) as any;
          const s = got[file];
          assert.equal(s.cls, { m_ridge: 'sklearn.linear_model._ridge.Ridge', m_linear: 'sklearn.linear_model._base.LinearRegression' }[table] ?? 'sklearn.linear_model._logistic.LogisticRegression');
          XS.forEach((x, i) => {
            if (s.proba === null) {
              const want = scorer.predict(k, x) as number;
              assert.ok(Math.abs((s.pred[i] as number) - want) <= 1e-12 * (1 + Math.abs(want)), `${file} row ${i}`);
              return;
            }
            const want = scorer.predictProba(k, x)!;
            s.proba[i].forEach((p, c) => assert.ok(Math.abs(p - want[c]) <= 1e-12, `${file} row ${i} class ${c}: ${p} vs ${want[c]}`));
            // the class, unless two classes tie to within rounding (scikit-learn's BLAS sums in another order)
            const sorted = [...want].sort((a, b) => b - a);
            if (sorted[0] - sorted[1] > 1e-9) assert.equal(s.pred[i], scorer.predict(k, x), `${file} row ${i}`);
          });
        }
      });
    }

    it('--into-column: a pickle bytea column beside each ok model (NULL for failed groups), the same bytes as the files', async () => {
      const dir = join(tmp(), 'pkl');
      const r = await db.exportModels({ models: 'm_bin', format: 'sklearn', out: dir, intoColumn: true });
      assert.equal(r.column, 'pickle');
      const rows = (await db.sql<{ userid: number; status: string; h: string | null }>(`SELECT userid, status, encode(pickle, 'hex') AS h FROM m_bin ORDER BY userid`)).rows;
      const man = readManifest(dir);
      for (const row of rows) {
        if (row.status !== 'ok') {
          assert.equal(row.h, null);
          continue;
        }
        const file = man.models.find((m) => m.key[0] === String(row.userid))!.file;
        assert.equal(row.h, readFileSync(join(dir, file)).toString('hex'), `user ${row.userid}`);
      }
      assert.equal(rows.filter((x) => x.h !== null).length, man.models.length);
      // again (e.g. after a retrain): the column is rewritten in place
      const again = await db.exportModels({ models: 'm_bin', format: 'sklearn', intoColumn: true });
      assert.equal(again.models, man.models.length);
      assert.equal(again.out, null);
      // the models table still predicts and loads as before
      assert.equal((await db.loadModels('m_bin')).size, man.models.length);
    });

    it('a failed export leaves the table and the directory as they were (MODEL_NOT_SUPPORTED, OUTPUT_EXISTS)', async () => {
      // models with stored preprocessing are refused by both exports (the scorer applies it: scorer.test.ts)
      await db.train({ from: 'offer', group: 'userid', features: ['asktimes', 'askbackoffdays'], label: 'bought_offer', into: 'm_prep', standardize: true });
      const dir = join(tmp(), 'out');
      await db.exportModels({ models: 'm_bin', format: 'onnx', out: dir });
      const filesBefore = readdirSync(dir).sort();
      const before = await snapshot(db);
      await assert.rejects(db.exportModels({ models: 'm_prep', format: 'sklearn', out: dir, intoColumn: true, replace: true }), { code: 'MODEL_NOT_SUPPORTED', message: /stores preprocessing \(standardize asktimes; standardize askbackoffdays\)/ });
      await assert.rejects(db.exportModels({ models: 'm_prep', format: 'onnx', out: join(tmp(), 'p') }), { code: 'MODEL_NOT_SUPPORTED' });
      assert.deepEqual(await snapshot(db), before, 'no pickle column, nothing changed');
      assert.deepEqual(readdirSync(dir).sort(), filesBefore, 'the directory is as it was');
      assert.equal(readdirSync(join(dir, '..')).length, 1, 'no temporary directory left beside it');
      await assert.rejects(db.exportModels({ models: 'm_bin', format: 'onnx', out: dir }), { code: 'OUTPUT_EXISTS' });
      await assert.rejects(db.exportModels({ models: 'm_bin', format: 'onnx', intoColumn: true }), { code: 'USAGE' });
      await assert.rejects(db.exportModels({ models: 'offer', format: 'onnx', out: join(tmp(), 'x') }), { code: 'NOT_A_MODELS_TABLE' });
      // --replace swaps the new export in
      const r = await db.exportModels({ models: 'm_multi', format: 'onnx', out: dir, replace: true });
      assert.equal(readManifest(dir).models.length, r.models);
      assert.match(readFileSync(join(dir, 'manifest.json'), 'utf8'), /m_multi/);
    });

    it('file names: each key part percent-encoded, so keys with / and . stay inside the directory', async () => {
      const dir = join(tmp(), 'onnx');
      await db.exportModels({ models: 'm_bool', format: 'onnx', out: dir });
      const man = readManifest(dir);
      assert.deepEqual(man.group, ['region', 'userid']);
      const f = man.models.find((m) => m.key[0] === 'south.x/y' && m.key[1] === '1');
      assert.equal(f?.file, 'south%2Ex%2Fy,1.onnx');
      assert.ok(existsSync(join(dir, f!.file)));
    });
  });
}

describe('manymodels export (command line)', { skip: cluster !== null ? 'the command line is checked in the default pass' : false }, () => {
  it('writes the files and the column; a malformed command exits 2, a non-empty directory 1', async () => {
    const url = await freshDatabaseUrl();
    const dir = mkdtempSync(join(tmpdir(), 'mm-export-cli-'));
    try {
      const run = (...args: string[]) => spawnSync(process.execPath, [CLI, '--db', url, '--quiet', ...args], { encoding: 'utf8' });
      let r = run('sql', OFFER_SQL(5).replace(/;\s*$/, ''));
      assert.equal(r.status, 0, r.stderr);
      r = run('train', '--from', 'offer', '--group', 'userid', '--features', 'asktimes,askbackoffdays', '--label', 'bought_offer', '--into', 'models');
      assert.equal(r.status, 0, r.stderr);
      r = run('export', '--models', 'models', '--format', 'onnx', '--out', join(dir, 'onnx'));
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^exported 5 ONNX models into /);
      assert.equal(readdirSync(join(dir, 'onnx')).length, 6);
      r = run('export', '--models', 'models', '--format', 'sklearn', '--into-column');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^exported 5 scikit-learn pickles into column pickle of models/);
      r = run('sql', 'SELECT count(pickle) AS n FROM models', '--format', 'csv');
      assert.equal(r.stdout, 'n\n5\n');
      r = run('export', '--models', 'models', '--format', 'pmml', '--out', join(dir, 'x'));
      assert.equal(r.status, 2);
      assert.match(r.stderr, /\[USAGE\]: --format must be onnx or sklearn/);
      r = run('export', '--models', 'models', '--format', 'onnx', '--out', join(dir, 'onnx'));
      assert.equal(r.status, 2, 'OUTPUT_EXISTS is a usage error');
      assert.match(r.stderr, /\[OUTPUT_EXISTS\]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
