import { GRAM_WASM_BASE64 } from './gram-wasm.js';

/** The little of the WebAssembly API used here (the core's tsconfig has no DOM library). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

/**
 * The weighted Gram kernel of gram.wat (WebAssembly SIMD), with the memory it works in. Null
 * where WebAssembly or its SIMD is not available: callers then use their JavaScript loops.
 */
export interface GramKernel {
  readonly memory: WasmMemory;
  /** See gram.wat: offsets and lengths in float64 elements of `memory`. */
  gram(h: number, x: number, n: number, d: number, out: number, tmp: number): void;
  /** z = b + X·w over column-major X. */
  xw(x: number, n: number, d: number, w: number, b: number, z: number): void;
  /** g = Xᵀ·r over column-major X. */
  xtr(x: number, n: number, d: number, r: number, g: number): void;
  /**
   * Per row: e = exp(−|z|), p = σ(z), r = s·(p − y), h = s·p·(1 − p), ex = e (bit for bit what the
   * JavaScript expressions with Math.exp give). Uses 12 numbers of scratch past ex + n.
   */
  logistic(z: number, y: number, s: number, n: number, r: number, h: number, ex: number): void;
  /** dst = the row-major n×d src, column by column (the two must not overlap). */
  transpose(src: number, n: number, d: number, dst: number): void;
}

let kernel: GramKernel | null | undefined;

export function gramKernel(): GramKernel | null {
  if (kernel !== undefined) return kernel;
  try {
    const bin = atob(GRAM_WASM_BASE64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    kernel = inst.exports as unknown as GramKernel;
  } catch {
    kernel = null;
  }
  return kernel;
}

/** A Float64Array over the kernel's memory of at least `len` numbers (grown as needed; earlier views are then stale). */
export function kernelArray(k: GramKernel, len: number): Float64Array {
  const need = len * 8;
  const have = k.memory.buffer.byteLength;
  if (need > have) k.memory.grow(Math.ceil((need - have) / 65536));
  return new Float64Array(k.memory.buffer);
}
