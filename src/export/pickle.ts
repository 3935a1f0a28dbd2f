import { LogisticRegression } from '../estimators/logistic-regression.js';
import type { CompiledModel } from './compiled.js';

/**
 * A fitted model as the pickle scikit-learn 1.2.1 itself writes for it, by hand (pickle protocol 3,
 * https://docs.python.org/3/library/pickle.html, opcodes of Lib/pickletools.py): what
 * `pickle.loads` rebuilds is a genuine sklearn.linear_model.LogisticRegression / LinearRegression /
 * Ridge, so `pickle.loads(model).predict_proba([features])` (the original demo's PL/Python scoring)
 * runs on it unchanged.
 *
 * The object is made as protocol 2+ makes any object without a __reduce__ of its own:
 * `cls.__new__(cls)` (NEWOBJ with no arguments) then BUILD with its __dict__, which calls
 * BaseEstimator.__setstate__: the constructor's parameters under scikit-learn's names, the learned
 * attributes (coef_, intercept_, classes_, n_features_in_, n_iter_) and `_sklearn_version` '1.2.1'.
 * numpy arrays are written as numpy's ndarray.__reduce__ writes them:
 * `numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')` then BUILD with
 * (1, shape, dtype, False, raw little-endian bytes), the raw data a list for object arrays
 * (text classes); a dtype is `numpy.dtype('f8', False, True)` with its state
 * (3, '<', None, None, None, -1, -1, 0).
 *
 * LinearRegression's and Ridge's intercept_ is a Python float (scikit-learn's is a numpy.float64:
 * both act the same in predict).
 */
export const SKLEARN_VERSION = '1.2.1';

type Py =
  | { t: 'none' }
  | { t: 'bool'; v: boolean }
  | { t: 'int'; v: number }
  | { t: 'float'; v: number }
  | { t: 'str'; v: string }
  | { t: 'bytes'; v: Uint8Array }
  | { t: 'tuple'; v: Py[] }
  | { t: 'list'; v: Py[] }
  | { t: 'dict'; v: [Py, Py][] }
  | { t: 'array'; dtype: 'f8' | 'i8' | 'i4' | 'b1' | 'O8'; shape: number[]; data: ArrayLike<number> | Py[] };

const none: Py = { t: 'none' };
const str = (v: string): Py => ({ t: 'str', v });
const float = (v: number): Py => ({ t: 'float', v });
const int = (v: number): Py => ({ t: 'int', v });
const bool = (v: boolean): Py => ({ t: 'bool', v });

class PickleWriter {
  private out: number[] = [];

  byte(...b: number[]): void {
    for (const x of b) this.out.push(x);
  }

  u32(n: number): void {
    this.byte(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }

  raw(b: Uint8Array): void {
    for (const x of b) this.out.push(x);
  }

  global(module: string, name: string): void {
    this.byte(0x63); // GLOBAL
    this.raw(new TextEncoder().encode(`${module}\n${name}\n`));
  }

  value(p: Py): void {
    switch (p.t) {
      case 'none':
        return this.byte(0x4e); // NONE
      case 'bool':
        return this.byte(p.v ? 0x88 : 0x89); // NEWTRUE / NEWFALSE
      case 'int': {
        if (!Number.isSafeInteger(p.v)) throw new RangeError(`not an integer: ${p.v}`);
        if (p.v >= -(2 ** 31) && p.v < 2 ** 31) {
          this.byte(0x4a); // BININT: 4-byte signed little-endian
          const b = new Uint8Array(4);
          new DataView(b.buffer).setInt32(0, p.v, true);
          return this.raw(b);
        }
        // LONG1: n bytes of two's complement, little-endian
        let x = BigInt(p.v);
        const bytes: number[] = [];
        while (!(bytes.length > 0 && ((x === 0n && (bytes[bytes.length - 1] & 0x80) === 0) || (x === -1n && (bytes[bytes.length - 1] & 0x80) !== 0)))) {
          bytes.push(Number(BigInt.asUintN(8, x)));
          x >>= 8n;
        }
        this.byte(0x8a, bytes.length);
        return this.byte(...bytes);
      }
      case 'float': {
        this.byte(0x47); // BINFLOAT: 8-byte big-endian double
        const b = new Uint8Array(8);
        new DataView(b.buffer).setFloat64(0, p.v, false);
        return this.raw(b);
      }
      case 'str': {
        const b = new TextEncoder().encode(p.v);
        this.byte(0x58); // BINUNICODE
        this.u32(b.length);
        return this.raw(b);
      }
      case 'bytes':
        this.byte(0x42); // BINBYTES (protocol 3)
        this.u32(p.v.length);
        return this.raw(p.v);
      case 'tuple':
        if (p.v.length === 0) return this.byte(0x29); // EMPTY_TUPLE
        if (p.v.length <= 3) {
          for (const x of p.v) this.value(x);
          return this.byte([0x85, 0x86, 0x87][p.v.length - 1]); // TUPLE1..3
        }
        this.byte(0x28); // MARK
        for (const x of p.v) this.value(x);
        return this.byte(0x74); // TUPLE
      case 'list':
        this.byte(0x5d); // EMPTY_LIST
        if (p.v.length === 0) return;
        this.byte(0x28);
        for (const x of p.v) this.value(x);
        return this.byte(0x65); // APPENDS
      case 'dict':
        this.byte(0x7d); // EMPTY_DICT
        if (p.v.length === 0) return;
        this.byte(0x28);
        for (const [k, v] of p.v) {
          this.value(k);
          this.value(v);
        }
        return this.byte(0x75); // SETITEMS
      case 'array':
        return this.array(p);
    }
  }

  private dtype(code: 'f8' | 'i8' | 'i4' | 'b1' | 'O8'): void {
    this.global('numpy', 'dtype');
    this.value({ t: 'tuple', v: [str(code), bool(false), bool(true)] });
    this.byte(0x52); // REDUCE
    const order = code === 'O8' || code === 'b1' ? '|' : '<';
    this.value({ t: 'tuple', v: [int(3), str(order), none, none, none, int(-1), int(-1), int(code === 'O8' ? 63 : 0)] });
    this.byte(0x62); // BUILD
  }

  private array(p: Extract<Py, { t: 'array' }>): void {
    this.global('numpy.core.multiarray', '_reconstruct');
    this.global('numpy', 'ndarray');
    this.value({ t: 'tuple', v: [int(0)] });
    this.value({ t: 'bytes', v: new Uint8Array([0x62]) });
    this.byte(0x87, 0x52); // TUPLE3, REDUCE
    // state: (version 1, shape, dtype, is_fortran False, data)
    this.byte(0x28); // MARK
    this.value(int(1));
    this.value({ t: 'tuple', v: p.shape.map(int) });
    this.dtype(p.dtype);
    this.value(bool(false));
    if (p.dtype === 'O8') this.value({ t: 'list', v: p.data as Py[] });
    else {
      const n = (p.data as ArrayLike<number>).length;
      const size = p.dtype === 'i4' ? 4 : p.dtype === 'b1' ? 1 : 8;
      const b = new Uint8Array(n * size);
      const dv = new DataView(b.buffer);
      const data = p.data as ArrayLike<number>;
      for (let i = 0; i < n; i++) {
        if (p.dtype === 'f8') dv.setFloat64(i * 8, data[i], true);
        else if (p.dtype === 'i8') dv.setBigInt64(i * 8, BigInt(data[i]), true);
        else if (p.dtype === 'i4') dv.setInt32(i * 4, data[i], true);
        else dv.setUint8(i, data[i] ? 1 : 0);
      }
      this.value({ t: 'bytes', v: b });
    }
    this.byte(0x74, 0x62); // TUPLE, BUILD
  }

  /** `module.name.__new__(module.name)` then BUILD with the __dict__, as protocol 2+ pickles an object. */
  object(module: string, name: string, state: [string, Py][]): Uint8Array {
    this.byte(0x80, 3); // PROTO 3
    this.global(module, name);
    this.byte(0x29, 0x81); // EMPTY_TUPLE, NEWOBJ
    this.value({ t: 'dict', v: state.map(([k, v]) => [str(k), v]) });
    this.byte(0x62, 0x2e); // BUILD, STOP
    return Uint8Array.from(this.out);
  }
}

/** The classes_ array: int64 for whole numbers, bool for a boolean label, object (Python str) otherwise. */
function classesArray(classes: CompiledModel['classes']): Py {
  if (classes.every((c) => typeof c === 'boolean')) return { t: 'array', dtype: 'b1', shape: [classes.length], data: classes.map((c) => (c ? 1 : 0)) };
  if (classes.every((c) => typeof c === 'number' && Number.isSafeInteger(c))) return { t: 'array', dtype: 'i8', shape: [classes.length], data: classes as number[] };
  return { t: 'array', dtype: 'O8', shape: [classes.length], data: classes.map((c) => (typeof c === 'number' ? float(c) : str(String(c)))) };
}

function classWeight(cw: unknown, classes: CompiledModel['classes']): Py {
  if (cw === null || cw === undefined) return none;
  if (typeof cw === 'string') return str(cw);
  const numeric = classes.every((c) => typeof c === 'number');
  return {
    t: 'dict',
    v: Object.entries(cw as Record<string, number>).map(([k, w]): [Py, Py] => [numeric && Number.isSafeInteger(Number(k)) ? int(Number(k)) : str(k), float(w)]),
  };
}

/** The scikit-learn pickle of one model (see the module comment). */
export function sklearnPickle(m: CompiledModel): Uint8Array {
  const est = m.estimator;
  const d = m.nFeatures;
  const w = new PickleWriter();
  const common: [string, Py][] = [];
  if (est instanceof LogisticRegression) {
    const R = m.kind === 'binary' ? 1 : m.classes.length;
    return w.object('sklearn.linear_model._logistic', 'LogisticRegression', [
      ['penalty', est.penalty === null ? none : str(est.penalty)],
      ['dual', bool(false)],
      ['tol', float(est.tol)],
      ['C', float(est.C)],
      ['fit_intercept', bool(est.fitIntercept)],
      ['intercept_scaling', int(1)],
      ['class_weight', classWeight(est.classWeight, m.classes)],
      ['random_state', none],
      ['solver', str('lbfgs')],
      ['max_iter', int(est.maxIter)],
      ['multi_class', str('auto')],
      ['verbose', int(0)],
      ['warm_start', bool(false)],
      ['n_jobs', none],
      ['l1_ratio', none],
      ['n_features_in_', int(d)],
      ['classes_', classesArray(m.classes)],
      ['n_iter_', { t: 'array', dtype: 'i4', shape: [1], data: [Math.min(est.nIter_, 2 ** 31 - 1)] }],
      ['coef_', { t: 'array', dtype: 'f8', shape: [R, d], data: m.coef }],
      ['intercept_', { t: 'array', dtype: 'f8', shape: [R], data: m.intercept }],
      ['_sklearn_version', str(SKLEARN_VERSION)],
    ]);
  }
  const params = est.getParams() as { fitIntercept: boolean; alpha?: number };
  const fitted: [string, Py][] = [
    ['n_features_in_', int(d)],
    ['coef_', { t: 'array', dtype: 'f8', shape: [d], data: m.coef }],
    ['intercept_', float(m.intercept[0])],
  ];
  if (est.estimatorName === 'Ridge') {
    common.push(['alpha', float(params.alpha ?? 1)], ['fit_intercept', bool(params.fitIntercept)], ['copy_X', bool(true)], ['max_iter', none], ['tol', float(1e-4)], ['solver', str('auto')], ['positive', bool(false)], ['random_state', none]);
    return w.object('sklearn.linear_model._ridge', 'Ridge', [...common, ...fitted, ['n_iter_', none], ['_sklearn_version', str(SKLEARN_VERSION)]]);
  }
  common.push(['fit_intercept', bool(params.fitIntercept)], ['copy_X', bool(true)], ['n_jobs', none], ['positive', bool(false)]);
  return w.object('sklearn.linear_model._base', 'LinearRegression', [...common, ...fitted, ['_sklearn_version', str(SKLEARN_VERSION)]]);
}
