import { decodePreprocess } from './document.js';
import { categoryIndexes, type CategoryIndex, expandedWidth, type PreprocessDoc, transformInto } from './transform.js';

/** A model's stored preprocessing, ready to turn raw input rows into its features (the TypeScript engines). */
export interface Preprocessor {
  readonly doc: PreprocessDoc;
  /**
   * The features of one raw row (numbers in x, NaN for NULL; category values in c), or null when
   * the row cannot be scored: not a 1-D array of one value per input column, or a missing number
   * with no imputer. The result is a view of a buffer reused by the next call.
   */
  apply(x: Float64Array, oneDimensional: boolean, c: readonly (string | null)[] | null): Float64Array | null;
}

/** The preprocessor of a parsed model document, or null when it stores none (invalid: throws INVALID_MODEL_DOCUMENT). */
export function preprocessor(doc: unknown, nFeatures: number): Preprocessor | null {
  const p = decodePreprocess(doc, nFeatures);
  if (p === null) return null;
  const idx: CategoryIndex = categoryIndexes(p);
  const out = new Float64Array(expandedWidth(p));
  return {
    doc: p,
    apply(x, oneDimensional, c) {
      if (!oneDimensional || x.length !== p.columns.length) return null;
      return transformInto(p, x, c, out, 0, idx) ? out : null;
    },
  };
}
