/**
 * Scratch buffers for the minimisers, reused across fits of the same size. A worker that fits a
 * million 3-parameter models allocates these once.
 */
export class Workspace {
  private readonly byDim = new Map<number, Float64Array[]>();

  /** `count` buffers of `dim` numbers, plus (last) one of dim*dim+dim for matrix work, all zeroed lazily by callers. */
  buffers(dim: number): Float64Array[] {
    let b = this.byDim.get(dim);
    if (b === undefined) {
      b = [];
      for (let i = 0; i < 8; i++) b.push(new Float64Array(dim));
      b.push(new Float64Array(dim * dim), new Float64Array(dim * dim), new Float64Array(dim * dim + dim));
      if (this.byDim.size > 64) this.byDim.clear();
      this.byDim.set(dim, b);
    }
    return b;
  }
}

export const sharedWorkspace = new Workspace();
