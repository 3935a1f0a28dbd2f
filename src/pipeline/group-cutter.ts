import { type RowFields, readFloat8Array, readText, readTextArray } from '../copy/binary-decoder.js';
import type { GroupBatch } from '../exec/batch.js';

/** How the rows of a training COPY stream are laid out after the group key fields. */
export interface RowLayout {
  /** Number of group key fields (they come first, in the stream's sort order). */
  keyFields: number;
  /** 'columns': d float8 fields; 'array': one float8[] per row; 'packed': one 2-D float8[] and one label array per group row. */
  features: { kind: 'columns'; count: number } | { kind: 'array' } | { kind: 'packed' };
  label: 'number' | 'text';
}

export interface CutterLimits {
  /** A group with more rows than this fails alone ("too large") and its rows are not kept. */
  maxGroupRows: number;
  /** A batch is handed over once it holds this many numbers... */
  batchNumbers: number;
  /** ...or this many groups. */
  batchGroups: number;
}

/** A finished group's key: the raw binary COPY fields (length-prefixed), ready to be written back. */
export type KeyBytes = Uint8Array;

/**
 * Cuts a stream of rows ordered by group key into groups, and groups into batches. Keys are
 * compared as raw bytes, so any key type works and is written back unchanged. Rows with a NULL
 * key are counted and dropped; rows with a NULL feature or label are counted per group.
 */
export class GroupCutter {
  nullKeyRows = 0;
  private keys: KeyBytes[] = [];
  private cur: KeyBytes | null = null;
  // growing storage of the open batch
  private x = new Float64Array(1 << 14);
  private xLen = 0;
  private yNum: Float64Array | null;
  private yText: string[] | null;
  private yLen = 0;
  private xStart: number[] = [];
  private rowStart: number[] = [];
  private nRows: number[] = [];
  private nFeatures: number[] = [];
  private nSkipped: number[] = [];
  private preError: (string | null)[] = [];
  // the open group
  private gRows = 0;
  private gD = -1;
  private gSkipped = 0;
  private gError: string | null = null;
  private gXStart = 0;
  private gYStart = 0;
  private readonly ready: GroupBatch[] = [];
  private rowsRead = 0;

  constructor(private readonly layout: RowLayout, private readonly limits: CutterLimits) {
    this.yNum = layout.label === 'number' ? new Float64Array(1 << 12) : null;
    this.yText = layout.label === 'text' ? [] : null;
  }

  /** Batches completed so far; the caller takes them. */
  takeReady(): GroupBatch[] {
    return this.ready.splice(0, this.ready.length);
  }

  readonly onRow = (row: RowFields): void => {
    const m = this.layout.keyFields;
    for (let f = 0; f < m; f++) {
      if (row.len[f] < 0) {
        this.nullKeyRows++;
        this.rowsRead++;
        return;
      }
    }
    const kStart = row.start[0] - 4;
    const kEnd = row.start[m - 1] + row.len[m - 1];
    const cur = this.cur;
    let same = cur !== null && cur.length === kEnd - kStart;
    if (same) {
      const b = row.buf;
      for (let i = 0; i < cur!.length; i++) {
        if (cur![i] !== b[kStart + i]) {
          same = false;
          break;
        }
      }
    }
    if (!same) {
      if (cur !== null) this.closeGroup();
      this.cur = row.buf.slice(kStart, kEnd);
      this.openGroup();
    }
    this.rowsRead++;
    if (this.layout.features.kind === 'packed') this.addPacked(row);
    else this.addRow(row);
  };

  /** Closes the last group and hands over the last batch. */
  finish(): void {
    if (this.cur !== null) this.closeGroup();
    this.cur = null;
    this.flush();
  }

  private openGroup(): void {
    this.gRows = 0;
    this.gD = this.layout.features.kind === 'columns' ? this.layout.features.count : -1;
    this.gSkipped = 0;
    this.gError = null;
    this.gXStart = this.xLen;
    this.gYStart = this.yLen;
  }

  private closeGroup(): void {
    this.keys.push(this.cur as KeyBytes);
    this.xStart.push(this.gXStart);
    this.rowStart.push(this.gYStart);
    this.nRows.push(this.gError === null ? this.gRows : 0);
    this.nFeatures.push(Math.max(this.gD, 0));
    this.nSkipped.push(this.gSkipped);
    this.preError.push(this.gError);
    if (this.gError !== null) {
      // its numbers are not needed: reclaim the space
      this.xLen = this.gXStart;
      this.yLen = this.gYStart;
      if (this.yText !== null) this.yText.length = this.yLen;
    }
    if (this.xLen >= this.limits.batchNumbers || this.keys.length >= this.limits.batchGroups) this.flush();
  }

  private flush(): void {
    if (this.keys.length === 0) return;
    const batch: GroupBatch = {
      count: this.keys.length,
      x: shared(this.x, this.xLen),
      xStart: Int32Array.from(this.xStart),
      nRows: Int32Array.from(this.nRows),
      nFeatures: Int32Array.from(this.nFeatures),
      yNum: this.yNum !== null ? shared(this.yNum, this.yLen) : null,
      yText: this.yText !== null ? this.yText.slice(0, this.yLen) : null,
      rowStart: Int32Array.from(this.rowStart),
      nSkipped: Int32Array.from(this.nSkipped),
      preError: this.preError,
      rowsRead: this.rowsRead,
      ...packKeys(this.keys),
    };
    this.rowsRead = 0;
    this.ready.push(batch);
    this.keys = [];
    this.xStart = [];
    this.rowStart = [];
    this.nRows = [];
    this.nFeatures = [];
    this.nSkipped = [];
    this.preError = [];
    this.xLen = 0;
    this.yLen = 0;
    if (this.yText !== null) this.yText = [];
    this.gXStart = 0;
    this.gYStart = 0;
  }

  private ensureX(extra: number): void {
    if (this.xLen + extra <= this.x.length) return;
    let cap = this.x.length * 2;
    while (cap < this.xLen + extra) cap *= 2;
    const next = new Float64Array(cap);
    next.set(this.x.subarray(0, this.xLen));
    this.x = next;
  }

  private pushLabel(v: number | string): void {
    if (this.yNum !== null) {
      if (this.yLen === this.yNum.length) {
        const next = new Float64Array(this.yNum.length * 2);
        next.set(this.yNum);
        this.yNum = next;
      }
      this.yNum[this.yLen++] = v as number;
    } else {
      (this.yText as string[])[this.yLen++] = v as string;
    }
  }

  private fail(reason: string): void {
    if (this.gError === null) this.gError = reason;
  }

  private tooLarge(): boolean {
    if (this.gRows < this.limits.maxGroupRows) return false;
    this.fail(`the group has more than ${this.limits.maxGroupRows} rows (maxGroupRows); raise maxGroupRows or split the group`);
    return true;
  }

  /** Long form: one observation per row. */
  private addRow(row: RowFields): void {
    if (this.gError !== null) {
      if (this.gError.includes('maxGroupRows')) this.gRows++;
      return;
    }
    const m = this.layout.keyFields;
    const feat = this.layout.features;
    const labelField = feat.kind === 'columns' ? m + feat.count : m + 1;
    if (row.len[labelField] < 0) {
      this.gSkipped++;
      return;
    }
    if (this.tooLarge()) return;
    const save = this.xLen;
    if (feat.kind === 'columns') {
      const d = feat.count;
      this.ensureX(d);
      for (let j = 0; j < d; j++) {
        if (row.len[m + j] < 0) {
          this.xLen = save;
          this.gSkipped++;
          return;
        }
        this.x[this.xLen++] = row.view.getFloat64(row.start[m + j]);
      }
    } else {
      if (row.len[m] < 0) {
        this.gSkipped++;
        return;
      }
      // an upper bound of the element count: (bytes − header) / 12 bytes per non-NULL float8
      this.ensureX(Math.max(0, (row.len[m] - 12) / 12) + 1);
      const r = readFloat8Array(row, m, this.x, this.xLen);
      if (r.nulls > 0) {
        this.gSkipped++;
        return;
      }
      if (r.dims.length > 1) {
        this.fail(`features are a ${r.dims.length}-D array in a row; long-form training needs one 1-D array per row`);
        return;
      }
      if (this.gD === -1) this.gD = r.count;
      else if (r.count !== this.gD) {
        this.fail(`feature arrays of unequal lengths within the group (${this.gD} and ${r.count}); every row needs the same number of features`);
        return;
      }
      this.xLen += r.count;
    }
    this.pushLabel(this.layout.label === 'number' ? row.view.getFloat64(row.start[labelField]) : readText(row, labelField));
    this.gRows++;
  }

  /** Packed form: one row holds a group's 2-D feature array and its label array. */
  private addPacked(row: RowFields): void {
    if (this.gError !== null) return;
    const m = this.layout.keyFields;
    if (row.len[m] < 0 || row.len[m + 1] < 0) {
      this.fail('the packed features or labels are NULL');
      return;
    }
    const base = this.xLen;
    this.ensureX(Math.max(0, (row.len[m] - 12) / 12) + 1);
    const r = readFloat8Array(row, m, this.x, base);
    let n: number;
    let d: number;
    if (r.dims.length === 2) [n, d] = r.dims;
    else if (r.dims.length === 1) [n, d] = [r.dims[0], 1];
    else if (r.dims.length === 0) [n, d] = [0, this.gD === -1 ? 1 : this.gD];
    else {
      this.fail(`packed features are a ${r.dims.length}-D array; they must be 2-D (one row per observation)`);
      return;
    }
    let labels: (number | string | null)[];
    if (this.layout.label === 'number') {
      const tmp = new Float64Array(Math.max(0, (row.len[m + 1] - 12) / 12) + 1);
      const lr = readFloat8Array(row, m + 1, tmp, 0);
      labels = Array.from(tmp.subarray(0, lr.count), (v) => (Number.isNaN(v) ? null : v));
      // a NaN label that was not NULL in the database must stay NaN, so the group fails on it
      if (lr.nulls === 0) labels = Array.from(tmp.subarray(0, lr.count));
    } else {
      labels = readTextArray(row, m + 1).values;
    }
    if (labels.length !== n) {
      this.fail(`the packed group has ${n} feature rows but ${labels.length} labels`);
      return;
    }
    if (this.gD !== -1 && n > 0 && d !== this.gD) {
      this.fail(`feature arrays of unequal lengths within the group (${this.gD} and ${d})`);
      return;
    }
    if (n > 0) this.gD = d;
    // compact out the rows with a NULL feature or label
    let w = base;
    for (let i = 0; i < n; i++) {
      let bad = labels[i] === null;
      for (let j = 0; j < d && !bad; j++) if (Number.isNaN(this.x[base + i * d + j]) && r.nulls > 0) bad = true;
      if (bad) {
        this.gSkipped++;
        continue;
      }
      if (this.gRows >= this.limits.maxGroupRows) {
        this.tooLarge();
        return;
      }
      if (w !== base + i * d) this.x.copyWithin(w, base + i * d, base + (i + 1) * d);
      w += d;
      this.pushLabel(labels[i] as number | string);
      this.gRows++;
    }
    this.xLen = w;
  }
}

/**
 * A batch's numbers live in a SharedArrayBuffer: posted to a worker without a copy, and still
 * here to retry the batch if that worker dies.
 */
function shared(src: Float64Array, len: number): Float64Array {
  const out = new Float64Array(new SharedArrayBuffer(Math.max(1, len) * 8), 0, len);
  out.set(src.subarray(0, len));
  return out;
}

function packKeys(keys: KeyBytes[]): { keys: Uint8Array; keyStart: Int32Array } {
  const keyStart = new Int32Array(keys.length + 1);
  for (let g = 0; g < keys.length; g++) keyStart[g + 1] = keyStart[g] + keys[g].length;
  const out = new Uint8Array(new SharedArrayBuffer(Math.max(1, keyStart[keys.length])), 0, keyStart[keys.length]);
  for (let g = 0; g < keys.length; g++) out.set(keys[g], keyStart[g]);
  return { keys: out, keyStart };
}
