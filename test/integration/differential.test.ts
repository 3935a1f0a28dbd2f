import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ManyModels } from 'manymodels';
import { backends } from '../helpers/backends.js';

/**
 * Differential test: random tables (key types whose equal values are spelled differently, NULL
 * keys, composite keys with NULL columns, NULL / NaN / ±Infinity / huge features, integer, text,
 * boolean and three-class labels, several widths, columns and array form), checked against
 * outside oracles on PGlite and PostgreSQL:
 *   - one models row per SQL group, holding all its rows (GROUP BY of the source);
 *   - the streaming and in-database strategies give the same groups, statuses, reasons and
 *     probabilities, where both apply (binary labels; no composite key with some NULL columns;
 *     values within the in-database strategy's range);
 *   - the SQL and TypeScript scoring engines give the same predictions;
 *   - predict writes exactly one row per source row.
 * MANYMODELS_DIFF_SCALE=10 makes the tables ten times larger (and adds tables); MANYMODELS_DIFF_SEED
 * picks another seed.
 */
const SCALE = Math.max(1, Number(process.env.MANYMODELS_DIFF_SCALE ?? 1));
const SEED = Number(process.env.MANYMODELS_DIFF_SEED ?? 20261127);
const TABLES = 10 + 2 * Math.round(Math.log2(SCALE) * 2);

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type KeyKind = 'int' | 'numeric' | 'float8' | 'interval' | 'jsonb' | 'numeric[]' | 'bpchar' | 'text' | 'composite';
type LabelKind = 'int01' | 'text' | 'bool' | 'multi' | 'bigint';
const KEY_KINDS: KeyKind[] = ['int', 'numeric', 'float8', 'interval', 'jsonb', 'numeric[]', 'bpchar', 'text', 'composite'];
const LABEL_KINDS: LabelKind[] = ['int01', 'text', 'bool', 'multi', 'bigint'];

interface Table {
  name: string;
  keyKind: KeyKind;
  labelKind: LabelKind;
  d: number;
  form: 'columns' | 'array';
  /** Whether features hold NULL, NaN, ±Infinity and huge finite values. */
  specials: boolean;
  group: string[];
  features: string[];
  ddl: string;
  rows: number;
  partlyNull: boolean;
}

/** SQL spellings of logical key g: several spellings GROUP BY treats as equal. */
function keySpellings(kind: KeyKind, g: number): string[] {
  switch (kind) {
    case 'int':
      return [String(g)];
    case 'numeric':
      return [String(g), `${g}.0`, `${g}.00`];
    case 'float8': {
      const special = [["'0'", "'-0'"], ["'NaN'", "'Infinity'::float8 - 'Infinity'::float8"], ["'Infinity'"], ["'-Infinity'"], ["'1e308'"], ["'-1e-308'"]];
      return g < special.length ? special[g] : [`'${g + 0.5}'`, `'${(g + 0.5).toExponential()}'`];
    }
    case 'interval':
      return [`'${g} days'`, `'${24 * g} hours'`];
    case 'jsonb':
      return [`'{"a":${g}.0}'`, `'{"a":${g}.00}'`, `'{"a":${g}}'`];
    case 'numeric[]':
      return [`'{${g}.0,1}'`, `'{${g},1.00}'`];
    case 'bpchar':
      return [`'k${g}'`, `'k${g}  '`];
    case 'text': {
      const words = ['a', 'B', 'é', 'é', '😀', 'ｙ', 'z z', '"q"', "o''k", ''];
      return [`'${words[g % words.length]}${Math.floor(g / words.length) || ''}'`];
    }
    case 'composite':
      return [`${g % 3 === 2 ? 'NULL' : g % 4}, ${g % 5 === 4 ? 'NULL' : `'t${g % 3}'`}`];
  }
}

function makeTable(r: () => number, i: number): { t: Table; insert: string } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const keyKind = KEY_KINDS[i % KEY_KINDS.length];
  const labelKind = i < KEY_KINDS.length ? (['int01', 'text', 'bool', 'int01', 'multi', 'bigint', 'text', 'int01', 'bool'] as LabelKind[])[i] : pick(LABEL_KINDS);
  const d = pick([1, 2, 3, 5]);
  const form = d > 1 && r() < 0.3 ? 'array' : 'columns';
  const specials = r() < 0.6;
  const name = `diff_${i}`;
  const keyCols = keyKind === 'composite' ? ['ka int', 'kb text'] : [`k ${keyKind}`];
  const group = keyKind === 'composite' ? ['ka', 'kb'] : ['k'];
  const featCols = form === 'array' ? ['xs float8[]'] : Array.from({ length: d }, (_, j) => `x${j} float8`);
  const features = form === 'array' ? ['xs'] : Array.from({ length: d }, (_, j) => `x${j}`);
  const labelType = { int01: 'int', text: 'text', bool: 'boolean', multi: 'int', bigint: 'bigint' }[labelKind];
  const ddl = `CREATE TABLE ${name} (id int, ${keyCols.join(', ')}, ${featCols.join(', ')}, y ${labelType})`;
  const values: string[] = [];
  const groups = Math.round((6 + r() * 10) * SCALE);
  let id = 0;
  let partlyNull = false;
  const labelOf = (c: number): string => {
    switch (labelKind) {
      case 'int01':
        return String(c % 2);
      case 'multi':
        return String(c % 3);
      case 'bool':
        return c % 2 === 1 ? 'true' : 'false';
      case 'text':
        return [`'😀'`, `'ｙ'`, `'a'`][c % 2 === 0 ? 0 : 1];
      case 'bigint':
        return c % 2 === 0 ? '-3' : '9007199254740991';
    }
  };
  const feature = (): string => {
    if (specials) {
      const u = r();
      if (u < 0.02) return 'NULL';
      if (u < 0.03) return `'NaN'`;
      if (u < 0.035) return `'Infinity'`;
      if (u < 0.04) return `'-Infinity'`;
      if (u < 0.045) return `'1e200'`;
    }
    return (Math.round((r() * 2 - 1) * 1e6) / 1e5).toString();
  };
  for (let g = 0; g <= groups; g++) {
    const nullKey = g === groups; // the last logical key is the NULL key
    const spellings = nullKey ? [keyKind === 'composite' ? 'NULL, NULL' : 'NULL'] : keySpellings(keyKind, g);
    if (keyKind === 'composite' && !nullKey && spellings[0].includes('NULL')) partlyNull = true;
    const n = pick([1, 2, 4, 7, 12, 20]);
    const single = r() < 0.1;
    const w = Array.from({ length: d }, () => r() * 2 - 1);
    for (let k = 0; k < n; k++) {
      const xs = Array.from({ length: d }, feature);
      const z = xs.reduce((s, x, j) => s + (Number.isFinite(Number(x)) ? Number(x) * w[j] : 0), 0);
      const p = 1 / (1 + Math.exp(-z));
      // both classes almost always present, and overlapping, so the optimum is finite
      let c = r() < p ? 1 : 0;
      if (k === 0) c = 0;
      if (k === 1) c = 1;
      if (labelKind === 'multi' && r() < 0.3) c = 2;
      if (single) c = 0;
      const label = r() < 0.03 ? 'NULL' : labelOf(c);
      const fx = form === 'array' ? [`ARRAY[${xs.map((x) => (x === 'NULL' ? 'NULL::float8' : `${x}::float8`)).join(', ')}]`] : xs;
      values.push(`(${++id}, ${spellings[k % spellings.length]}, ${fx.join(', ')}, ${label})`);
    }
  }
  // interleave the rows, so the spellings of one key are not adjacent in the table
  for (let k = values.length - 1; k > 0; k--) {
    const j = Math.floor(r() * (k + 1));
    [values[k], values[j]] = [values[j], values[k]];
  }
  const insert = `INSERT INTO ${name} VALUES ${values.join(',\n')}`;
  return { t: { name, keyKind, labelKind, d, form, specials, group, features, ddl, rows: id, partlyNull }, insert };
}

type Row = Record<string, any>;

const keyList = (t: Table, alias: string) => t.group.map((g) => `${alias}.${g}`).join(', ');
const allNull = (t: Table, alias: string) => t.group.map((g) => `${alias}.${g} IS NULL`).join(' AND ');
const keyEq = (t: Table, a: string, b: string) => t.group.map((g) => `ARRAY[${a}.${g}] = ARRAY[${b}.${g}]`).join(' AND ');

for (const backend of backends) {
  describe(`differential: random tables on ${backend.name} (scale ${SCALE}, seed ${SEED})`, () => {
    let db: ManyModels;
    const r = rng(SEED + (backend.name === 'postgres' ? 1 : 0));
    before(async () => {
      db = await backend.open();
    });
    after(async () => {
      await db?.close();
    });

    for (let i = 0; i < TABLES; i++) {
      const { t, insert } = makeTable(r, i);
      const what = `${t.name}: ${t.keyKind} key, ${t.labelKind} labels, ${t.d} feature${t.d > 1 ? 's' : ''} as ${t.form}${t.specials ? ', NULL/NaN/±Inf/huge features' : ''}`;
      describe(what, () => {
        it('one models row per SQL group, one output row per source row', async () => {
          await db.exec(`${t.ddl}; ${insert}`);
          const src = t.name;
          const s = `${src}_ms`;
          const run = await db.train({ from: src, group: t.group, features: t.features, label: 'y', into: s });

          // one models row per SQL group, holding all its rows; the all-NULL key skipped and counted
          const nullRows = (await db.sql(`SELECT count(*)::int AS n FROM ${src} AS s WHERE ${allNull(t, 's')}`)).rows[0].n;
          const sqlGroups = (await db.sql(`SELECT count(*)::int AS c FROM ${src} AS s WHERE NOT (${allNull(t, 's')}) GROUP BY ${keyList(t, 's')} ORDER BY 1`)).rows.map((x: Row) => x.c);
          const sizes = (await db.sql(`SELECT (n_rows + n_skipped)::int AS c FROM ${s} ORDER BY 1`)).rows.map((x: Row) => x.c);
          assert.equal(run.groupsOk + run.groupsFailed, sqlGroups.length, 'one group per SQL group');
          assert.deepEqual(sizes, sqlGroups, 'one models row per SQL group, holding all its rows');
          assert.equal(run.nullKeyRows, nullRows, 'rows with an all-NULL key are counted');
          // counted by GROUP BY, not a self-join on ARRAY[key] = ARRAY[key]: Citus joins distributed tables on the distribution column only
          const distinct = (await db.sql(`SELECT count(*)::int AS n FROM (SELECT 1 FROM ${s} AS a GROUP BY ${t.group.map((g) => `ARRAY[a.${g}]`).join(', ')}) AS k`)).rows[0].n;
          assert.equal(distinct, sizes.length, 'no two models rows share a key (by SQL equality)');

          for (const engine of ['sql', 'ts'] as const) {
            const p = await db.predict({ models: s, from: src, into: `${src}_p${engine}`, engine });
            assert.equal(p.rows, t.rows, `${engine}: one output row per source row`);
            const ids = (await db.sql(`SELECT count(DISTINCT id)::int AS n, count(*)::int AS c FROM ${src}_p${engine}`)).rows[0];
            assert.deepEqual(ids, { n: t.rows, c: t.rows }, `${engine}: every source row once`);
          }
        });

        it('the SQL and TypeScript engines give the same predictions', async () => {
          const src = t.name;
          const preds: Row[][] = [];
          for (const engine of ['sql', 'ts'] as const) {
            preds.push((await db.sql(`SELECT id, probability, prediction FROM ${src}_p${engine} ORDER BY id`)).rows);
          }
          const disagree: string[] = [];
          for (let k = 0; k < t.rows; k++) {
            const a = preds[0][k];
            const b = preds[1][k];
            const pa = a.probability;
            const pb = b.probability;
            const probSame = pa === null || pb === null ? pa === pb : Math.abs(pa - pb) <= 1e-9;
            const predSame = a.prediction === null || b.prediction === null ? a.prediction === b.prediction : typeof a.prediction === 'number' ? Math.abs(a.prediction - b.prediction) <= 1e-9 * Math.max(1, Math.abs(b.prediction)) : a.prediction === b.prediction;
            if (!probSame || !predSame) disagree.push(`id ${a.id}: sql ${pa}/${a.prediction} ts ${pb}/${b.prediction}`);
          }
          assert.deepEqual(disagree.slice(0, 5), [], `the SQL and TypeScript engines disagree on ${disagree.length} of ${t.rows} rows`);

        });

        it('the streaming and in-database strategies give the same models, where both apply', async () => {
          const src = t.name;
          const s = `${src}_ms`;
          const sizes = (await db.sql(`SELECT 1 FROM ${s}`)).rows;
          const d = `${src}_md`;
          const inDb = db.train({ from: src, group: t.group, features: t.features, label: 'y', into: d, strategy: 'in-database' });
          if (t.partlyNull) {
            await assert.rejects(inDb, { code: 'KEY_PARTLY_NULL' });
            return;
          }
          await inDb;
          const cmp = (await db.sql(
            `SELECT a.status AS sa, b.status AS sb, split_part(a.error, ':', 1) AS ea, split_part(b.error, ':', 1) AS eb, a.n_rows AS na, b.n_rows AS nb, a.n_skipped AS ka, b.n_skipped AS kb
             FROM ${s} AS a FULL JOIN ${d} AS b ON a.${t.group[0]} = b.${t.group[0]} AND ${keyEq(t, 'a', 'b')}`, // no partly-NULL key here; the first column's = lets Citus join on its distribution column
          )).rows;
          assert.equal(cmp.length, sizes.length, 'the same groups');
          const differ = cmp.filter((x: Row) => {
            if (t.labelKind === 'multi' && x.eb === 'UNSUPPORTED') return false; // three classes: streaming only
            if (x.eb === 'VALUE_OUT_OF_RANGE') return false; // beyond what its float8 sums can hold: streaming only
            return x.sa !== x.sb || x.ea !== x.eb || x.na !== x.nb || x.ka !== x.kb;
          });
          assert.deepEqual(differ.slice(0, 5), [], `${differ.length} groups differ between the strategies`);
          const pd = await db.predict({ models: d, from: src, into: `${src}_pd`, engine: 'ts' });
          assert.equal(pd.rows, t.rows);
          const far = (await db.sql(
            `SELECT a.id, a.probability AS pa, b.probability AS pb, a.prediction::text AS ya, b.prediction::text AS yb FROM ${src}_pts AS a JOIN ${src}_pd AS b USING (id)
             WHERE NOT (b.prediction IS NULL AND a.prediction IS NOT NULL) AND (NOT (a.probability IS NULL AND b.probability IS NULL OR abs(a.probability - b.probability) <= 1e-6) OR (a.prediction::text IS DISTINCT FROM b.prediction::text AND abs(a.probability - 0.5) > 1e-6)
               OR (a.probability IS NULL AND b.probability IS NULL AND a.prediction::text IS DISTINCT FROM b.prediction::text))`,
          )).rows;
          assert.deepEqual(far.slice(0, 5), [], `${far.length} rows score differently with the two strategies' models`);
        });
      });
    }
  });
}
