import { ModelDocumentError } from '../errors.js';
import { expandedWidth, type PreprocessColumn, type PreprocessDoc } from './transform.js';

function fail(what: string): never {
  throw new ModelDocumentError(`invalid model document: ${what}`, 'retrain the model with this version of manymodels');
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * The `preprocess` field of a parsed model document, checked (types, shapes, finiteness, a scale
 * above 0, categories without duplicates, as many expanded features as the model has), or null
 * when the document has none. Documents are data: nothing in them is evaluated.
 */
export function decodePreprocess(doc: unknown, nFeatures: number): PreprocessDoc | null {
  if (doc === null || typeof doc !== 'object') return null;
  const p = (doc as Record<string, unknown>).preprocess;
  if (p === undefined) return null;
  if (p === null || typeof p !== 'object' || Array.isArray(p)) fail('preprocess must be an object');
  const cols = (p as Record<string, unknown>).columns;
  if (!Array.isArray(cols) || cols.length === 0) fail('preprocess.columns must be a non-empty array');
  const columns: PreprocessColumn[] = cols.map((c: unknown, j): PreprocessColumn => {
    if (c === null || typeof c !== 'object' || Array.isArray(c)) fail(`preprocess.columns[${j}] must be an object`);
    const o = c as Record<string, unknown>;
    if (typeof o.name !== 'string') fail(`preprocess.columns[${j}].name must be a string`);
    if (o.kind === 'category') {
      const cats = o.categories;
      if (!Array.isArray(cats) || cats.length === 0) fail(`preprocess.columns[${j}].categories must be a non-empty array`);
      for (const v of cats) if (v !== null && typeof v !== 'string') fail(`preprocess.columns[${j}].categories must hold strings or null`);
      if (new Set(cats).size !== cats.length) fail(`preprocess.columns[${j}].categories has duplicates`);
      return { name: o.name, kind: 'category', categories: (cats as (string | null)[]).slice() };
    }
    if (o.kind !== 'number') fail(`preprocess.columns[${j}].kind must be "number" or "category"`);
    const out: PreprocessColumn = { name: o.name, kind: 'number' };
    if (o.fill !== undefined) {
      if (!finite(o.fill)) fail(`preprocess.columns[${j}].fill must be a finite number`);
      out.fill = o.fill;
    }
    if (o.mean !== undefined || o.scale !== undefined) {
      if (!finite(o.mean) || !finite(o.scale) || !(o.scale > 0)) fail(`preprocess.columns[${j}] needs a finite mean and a scale above 0`);
      out.mean = o.mean;
      out.scale = o.scale;
    }
    return out;
  });
  const res: PreprocessDoc = { columns };
  if (expandedWidth(res) !== nFeatures) fail(`preprocess expands to ${expandedWidth(res)} features but the model has ${nFeatures}`);
  return res;
}
