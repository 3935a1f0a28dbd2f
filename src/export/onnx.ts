import type { CompiledModel } from './compiled.js';
import { ProtoWriter } from './protobuf.js';

/**
 * One model as an ONNX ModelProto (onnx.proto, IR version 8), written by hand with the field
 * numbers of https://github.com/onnx/onnx/blob/main/onnx/onnx.proto. The graph is one node of the
 * ai.onnx.ml domain (opset 1):
 *
 * - LogisticRegression → LinearClassifier. Input `features` (double, [N, d]); outputs `label`
 *   ([N], int64 class labels, or strings for text classes) and `probabilities` ([N, K], float, in
 *   classes_ order). Binary models are written as two rows (−w, −b) and (w, b) under
 *   post_transform LOGISTIC, so the two columns are σ(−z) = 1 − p and σ(z) = p, and the label is
 *   classes_[1] exactly when z > 0 (a tie goes to the first class, as in scikit-learn);
 *   multinomial models as their K rows under SOFTMAX.
 * - LinearRegression, Ridge → Cast to float, then LinearRegressor (onnxruntime has it for float input
 *   only): input `features` (double), output `variable` ([N, 1], float).
 *
 * The operators hold their coefficients as float32 attributes and give float32 outputs: scores
 * agree with manymodels' double-precision scorer to about 1e-7 relative, not to the last bit.
 */

// onnx.proto field numbers
const MODEL = { irVersion: 1, producerName: 2, producerVersion: 3, docString: 6, graph: 7, opsetImport: 8, metadataProps: 14 } as const;
const OPSET = { domain: 1, version: 2 } as const;
const GRAPH = { node: 1, name: 2, input: 11, output: 12 } as const;
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;
const ATTR = { name: 1, i: 3, s: 4, floats: 7, ints: 8, strings: 9, type: 20 } as const;
const ATTR_TYPE = { INT: 2, STRING: 3, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;
const VALUE_INFO = { name: 1, type: 2 } as const;
const TYPE_TENSOR = 1;
const TENSOR_TYPE = { elemType: 1, shape: 2 } as const;
const SHAPE_DIM = 1;
const DIM = { value: 1, param: 2 } as const;
const ELEM = { FLOAT: 1, INT64: 7, STRING: 8, DOUBLE: 11 } as const;

export const ONNX_IR_VERSION = 8;
export const ONNX_ML_DOMAIN = 'ai.onnx.ml';

function attr(name: string, fill: (a: ProtoWriter) => void): ProtoWriter {
  const a = new ProtoWriter().string(ATTR.name, name);
  fill(a);
  return a;
}

const floats = (name: string, v: ArrayLike<number>): ProtoWriter =>
  attr(name, (a) => {
    for (let i = 0; i < v.length; i++) a.float(ATTR.floats, v[i]);
    a.int(ATTR.type, ATTR_TYPE.FLOATS);
  });
const int = (name: string, v: number): ProtoWriter => attr(name, (a) => a.int(ATTR.i, v).int(ATTR.type, ATTR_TYPE.INT));
const str = (name: string, v: string): ProtoWriter => attr(name, (a) => a.string(ATTR.s, v).int(ATTR.type, ATTR_TYPE.STRING));
const ints = (name: string, v: readonly number[]): ProtoWriter =>
  attr(name, (a) => {
    for (const x of v) a.int(ATTR.ints, x);
    a.int(ATTR.type, ATTR_TYPE.INTS);
  });
const strings = (name: string, v: readonly string[]): ProtoWriter =>
  attr(name, (a) => {
    for (const x of v) a.string(ATTR.strings, x);
    a.int(ATTR.type, ATTR_TYPE.STRINGS);
  });

/** A tensor ValueInfo: name, element type, dims (a string is a symbolic dimension). */
function tensor(name: string, elem: number, dims: readonly (number | string)[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims) shape.message(SHAPE_DIM, typeof d === 'number' ? new ProtoWriter().int(DIM.value, d) : new ProtoWriter().string(DIM.param, d));
  const t = new ProtoWriter().int(TENSOR_TYPE.elemType, elem).message(TENSOR_TYPE.shape, shape);
  return new ProtoWriter().string(VALUE_INFO.name, name).message(VALUE_INFO.type, new ProtoWriter().message(TYPE_TENSOR, t));
}

export interface OnnxModelOptions {
  /** The graph's name (the group key, as text). */
  name: string;
  /** Written into the model's metadata_props (group key, features, classes, ...). */
  metadata: Record<string, string>;
  producerVersion: string;
}

/** The ONNX model (serialised ModelProto bytes) of one compiled model. */
export function onnxModel(m: CompiledModel, opts: OnnxModelOptions): Uint8Array {
  const d = m.nFeatures;
  let node = new ProtoWriter().string(NODE.input, 'features');
  const graph = new ProtoWriter();
  if (m.kind === 'regressor') {
    // onnxruntime implements LinearRegressor for float input only: a Cast keeps the model's input double like the classifiers'
    const cast = new ProtoWriter().string(NODE.input, 'features').string(NODE.output, 'features_float').string(NODE.name, 'cast').string(NODE.opType, 'Cast').message(NODE.attribute, int('to', ELEM.FLOAT));
    graph.message(GRAPH.node, cast);
    node = new ProtoWriter()
      .string(NODE.input, 'features_float')
      .string(NODE.output, 'variable')
      .string(NODE.name, 'linear_regressor')
      .string(NODE.opType, 'LinearRegressor')
      .string(NODE.domain, ONNX_ML_DOMAIN)
      .message(NODE.attribute, floats('coefficients', m.coef))
      .message(NODE.attribute, floats('intercepts', m.intercept))
      .message(NODE.attribute, str('post_transform', 'NONE'))
      .message(NODE.attribute, int('targets', 1));
    graph.message(GRAPH.node, node).string(GRAPH.name, opts.name).message(GRAPH.input, tensor('features', ELEM.DOUBLE, ['N', d])).message(GRAPH.output, tensor('variable', ELEM.FLOAT, ['N', 1]));
  } else {
    const K = m.classes.length;
    let coef: Float64Array = m.coef;
    let intercept: Float64Array = m.intercept;
    if (m.kind === 'binary') {
      coef = new Float64Array(2 * d);
      for (let j = 0; j < d; j++) {
        coef[j] = -m.coef[j];
        coef[d + j] = m.coef[j];
      }
      intercept = Float64Array.of(-m.intercept[0], m.intercept[0]);
    }
    // booleans as 0 / 1, whole numbers as int64, anything else as text
    const labels = m.classes.map((c) => (typeof c === 'boolean' ? Number(c) : c));
    const asInts = labels.every((c) => typeof c === 'number' && Number.isSafeInteger(c));
    node
      .string(NODE.output, 'label')
      .string(NODE.output, 'probabilities')
      .string(NODE.name, 'linear_classifier')
      .string(NODE.opType, 'LinearClassifier')
      .string(NODE.domain, ONNX_ML_DOMAIN)
      .message(NODE.attribute, asInts ? ints('classlabels_ints', labels as number[]) : strings('classlabels_strings', labels.map(String)))
      .message(NODE.attribute, floats('coefficients', coef))
      .message(NODE.attribute, floats('intercepts', intercept))
      .message(NODE.attribute, int('multi_class', 0))
      .message(NODE.attribute, str('post_transform', m.kind === 'binary' ? 'LOGISTIC' : 'SOFTMAX'));
    graph
      .message(GRAPH.node, node)
      .string(GRAPH.name, opts.name)
      .message(GRAPH.input, tensor('features', ELEM.DOUBLE, ['N', d]))
      .message(GRAPH.output, tensor('label', asInts ? ELEM.INT64 : ELEM.STRING, ['N']))
      .message(GRAPH.output, tensor('probabilities', ELEM.FLOAT, ['N', K]));
  }
  const model = new ProtoWriter()
    .int(MODEL.irVersion, ONNX_IR_VERSION)
    .string(MODEL.producerName, 'manymodels')
    .string(MODEL.producerVersion, opts.producerVersion)
    .string(MODEL.docString, `manymodels ${m.estimator.estimatorName} of group ${opts.name}`)
    .message(MODEL.graph, graph)
    .message(MODEL.opsetImport, new ProtoWriter().string(OPSET.domain, '').int(OPSET.version, 13))
    .message(MODEL.opsetImport, new ProtoWriter().string(OPSET.domain, ONNX_ML_DOMAIN).int(OPSET.version, 1));
  for (const [k, v] of Object.entries(opts.metadata)) model.message(MODEL.metadataProps, new ProtoWriter().string(1, k).string(2, v));
  return model.finish();
}
