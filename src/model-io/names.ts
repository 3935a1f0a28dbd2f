import { expandedNames } from '../preprocess/transform.js';
import type { ModelDocument } from './document.js';

/**
 * The names of a model's coefficient columns, one per input of the estimator (state.nFeatures of
 * them, in the order of each row of state.coef): the document's `features` when it names every
 * input, else scikit-learn's default names `x0`, `x1`, ... (documents written before `features`
 * existed, and models fitted by the library without names). With stored preprocessing, the
 * expanded columns: a number column's name, `column=value` per one-hot category (`column=NULL`
 * for the NULL category).
 */
export function coefficientNames(doc: Pick<ModelDocument, 'features' | 'state' | 'preprocess'>): string[] {
  const n = doc.state.nFeatures;
  if (doc.preprocess !== undefined && doc.preprocess !== null) return expandedNames(doc.preprocess);
  if (Array.isArray(doc.features) && doc.features.length === n) return doc.features.slice();
  return Array.from({ length: n }, (_, i) => `x${i}`);
}
