import { type RowFields, readFloat8Array, readText, readTextArray } from '../copy/binary-decoder.js';
import type { GroupBatch } from '../exec/batch.js';

/**
 * How the rows of a training COPY stream are laid out: the group key fields, the features, the
 * label, then (unless keyBytes) one int8 field, the number of rows of the row's SQL group (the
 * engine's count(*) OVER (PARTITION BY key), under the key's own equality).
 */
export interface RowLayout {
  /** Number of group key fields (they come first, in the stream's sort order). */
  keyFields: number;
  /** 'columns': d float8 fields; 'array': one float8[] per row; 'packed': one 2-D float8[] and one label array per group row. */
  features:
    | {
        kind: 'columns';
        count: number;
        /** Per column: a text field (a one-hot category column), kept as an index into the batch's strings, NaN for NULL. */
        categories?: readonly boolean[];
        /** A NULL (or NaN) number is kept as NaN for the imputer instead of skipping the row. */
        keepMissing?: boolean;
      }
    | { kind: 'array' }
    | { kind: 'packed' };
  /** 'int8': a bigint class label, exact up to 2^53 (a group with a larger one fails rather than merge classes). */
  label: 'number' | 'text' | 'int8';
  /** One float8 field after the label: the row's sample weight (a row with a NULL weight is skipped). */
  weight?: boolean;
  /** A float8 fold id after the label (train's folds, long form only): kept per row beside the label. */
  fold?: boolean;
  /**
   * true: a group ends where the key's bytes change, which only key types whose equality is
   * equality of their binary form allow (sql/types.ts keyBytesAreEquality). Otherwise each row
   * ends with its SQL group's size, and a group ends after that many rows.
   */
  keyBytes?: boolean;
}

/** The number of fields of a row of the layout. */
export function rowFieldCount(layout: RowLayout): number {
  const f = layout.features;
  return layout.keyFields + (f.kind === 'columns' ? f.count : 1) + 1 + (layout.weight === true ? 1 : 0) + (layout.fold === true ? 1 : 0) + (layout.keyBytes === true ? 0 : 1);
}

export interface CutterLimits {
  /** A group with more rows than this fails alone ("too large") and its rows are not kept. */
  maxGroupRows: number;
  /** A batch is handed over once it holds this many numbers... */
  batchNumbers: number;
  /** ...or this many groups. */
  batchGroups: number;
}

/**
 * Cuts a stream of rows ordered by group key into groups, and groups into batches. Where a group
 * ends follows SQL's equality of the key: keys that GROUP BY treats as equal, such as numeric 1.0
 * and 1.00, float 0 and -0, or text under a nondeterministic collation, are one group however
 * their bytes differ. For such key types each row carries the size of its SQL group, and a group
 * ends after that many rows; for key types whose equality is equality of bytes (integers, uuid,
 * dates, text under deterministic collations) a group ends where the key's bytes change, which
 * spares the server a window aggregate over every row. Either way the rows of a group come out
 * together because the stream is ordered by the key. A group's key is written back as the bytes
 * of its first row. Rows whose key columns are all NULL are counted and
 * dropped; a composite key with some NULL columns is a group, as in GROUP BY. Rows with a NULL
 * feature or label are counted per group.
 */
export class GroupCutter {
  nullKeyRows = 0;
  /** Whether a group is open (false while the rows of a NULL key go by). */
  private inGroup = false;
  /** The open batch's group keys, back to back (the open group's last); group g's end at keyStart[g + 1]. */
  private keyBuf = new Uint8Array(1 << 12);
  private keyLen = 0;
  /** Rows of the current SQL group still to come (layouts with the group size). */
  private left = 0;
  /** sortGroupRows' permutation, its scratch copy, and the open group's width and category columns. */
  private sortIdx = new Int32Array(64);
  private sortScratch = new Float64Array(256);
  private sortD = 0;
  private sortCats: readonly boolean[] | undefined = undefined;
  /** Where the open group's key starts in keyBuf. */
  private openKey = 0;
  /** Whether the rows going by have an all-NULL key (a run of them is dropped; key-bytes layouts). */
  private nullRun = false;
  // growing storage of the open batch
  private x = new Float64Array(1 << 14);
  private xLen = 0;
  private yNum: Float64Array | null;
  private yText: string[] | null;
  private yLen = 0;
  private w: Float64Array | null;
  private strings: string[] = [];
  private stringIndex = new Map<string, number>();
  /** Fold ids, indexed as labels (when the layout has them). */
  private fold: Float64Array | null;
  /** Closed groups of the open batch, and their columns (group g at index g), grown together. */
  private groups = 0;
  private xStart = new Int32Array(256);
  private rowStart = new Int32Array(256);
  private nRows = new Int32Array(256);
  private nFeatures = new Int32Array(256);
  private nSkipped = new Int32Array(256);
  private keyStart = new Int32Array(257);
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

  /** Groups end where the key's bytes change (the layout's keyBytes). */
  private readonly keyBytes: boolean;
  /** Feature columns of the plain layout (float8 columns, a float8 label, nothing else), or −1. */
  private readonly plainColumns: number;

  constructor(private readonly layout: RowLayout, private readonly limits: CutterLimits) {
    const f = layout.features;
    const plain = f.kind === 'columns' && f.categories === undefined && f.keepMissing !== true && layout.label === 'number' && layout.weight !== true && layout.fold !== true;
    this.plainColumns = plain ? f.count : -1;
    this.keyBytes = layout.keyBytes === true;
    this.yNum = layout.label !== 'text' ? new Float64Array(1 << 12) : null;
    this.yText = layout.label === 'text' ? [] : null;
    this.w = layout.weight === true ? new Float64Array(1 << 12) : null;
    this.fold = layout.fold === true ? new Float64Array(1 << 12) : null;
  }

  /** Batches completed so far; the caller takes them. */
  takeReady(): GroupBatch[] {
    return this.ready.splice(0, this.ready.length);
  }

  readonly onRow = (row: RowFields): void => {
    if (this.keyBytes ? this.keyChanged(row) : this.left === 0) this.startGroup(row);
    this.left--;
    this.rowsRead++;
    if (!this.inGroup) {
      this.nullKeyRows++;
      return;
    }
    if (this.layout.features.kind === 'packed') this.addPacked(row);
    else if (this.plainColumns >= 0) this.addPlainRow(row);
    else this.addRow(row);
  };

  /** Closes the open group (if any) and opens the one of row, the first row of the next SQL group. */
  private startGroup(row: RowFields): void {
    if (this.inGroup) this.closeGroup();
    this.inGroup = false;
    if (!this.keyBytes) {
      const sizeField = row.count - 1;
      if (row.len[sizeField] !== 8) throw new Error('the training stream has no group size on the first row of a group');
      const n = row.view.getInt32(row.start[sizeField]) * 4294967296 + row.view.getUint32(row.start[sizeField] + 4);
      if (!(n >= 1)) throw new Error(`the training stream has a group of ${n} rows`);
      this.left = n;
    }
    const m = this.layout.keyFields;
    this.nullRun = allNullKey(row, m);
    if (this.nullRun) return;
    // the key fields with their length prefixes (a NULL field's start is just past its prefix)
    this.openKey = this.keyLen;
    this.pushKey(row.buf, row.start[0] - 4, row.start[m - 1] + Math.max(0, row.len[m - 1]));
    this.inGroup = true;
    this.openGroup();
  }

  /** Whether row's key differs from the open group's, byte for byte (NULL fields included). */
  private keyChanged(row: RowFields): boolean {
    const m = this.layout.keyFields;
    if (!this.inGroup) return !(this.nullRun && allNullKey(row, m));
    const kStart = row.start[0] - 4;
    const n = row.start[m - 1] + Math.max(0, row.len[m - 1]) - kStart;
    const at = this.openKey;
    if (n !== this.keyLen - at) return true;
    const src = row.buf;
    const key = this.keyBuf;
    for (let i = 0; i < n; i++) if (src[kStart + i] !== key[at + i]) return true;
    return false;
  }

  /** Closes the last group and hands over the last batch. */
  finish(): void {
    if (this.inGroup) this.closeGroup();
    this.inGroup = false;
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
    if (this.gError === null && this.gRows > 1) this.sortGroupRows();
    const g = this.groups;
    if (g === this.nRows.length) this.growGroups();
    this.xStart[g] = this.gXStart;
    this.rowStart[g] = this.gYStart;
    this.nRows[g] = this.gError === null ? this.gRows : 0;
    this.nFeatures[g] = Math.max(this.gD, 0);
    this.nSkipped[g] = this.gSkipped;
    this.keyStart[g + 1] = this.keyLen;
    this.preError.push(this.gError);
    this.groups = g + 1;
    if (this.gError !== null) {
      // its numbers are not needed: reclaim the space
      this.xLen = this.gXStart;
      this.yLen = this.gYStart;
      if (this.yText !== null) this.yText.length = this.yLen;
    }
    if (this.xLen >= this.limits.batchNumbers || this.groups >= this.limits.batchGroups) this.flush();
  }

  /**
   * Puts the open group's rows in one order, whatever order they came in: SQL orders a group's rows
   * by nothing, and a parallel or distributed sort, or one that spills to disk, sends them in
   * another order from run to run, which changes a fit's sums in their last bits. Sorted by their
   * features, then label, weight and fold id (sortCompare), the same rows give the same model to
   * the bit; rows equal in all of these are alike. A packed group's rows too, so that the long and
   * the packed form of the same rows give the same model.
   */
  private sortGroupRows(): void {
    const n = this.gRows;
    const d = Math.max(this.gD, 0);
    const f0 = this.layout.features;
    this.sortD = d;
    this.sortCats = f0.kind === 'columns' ? f0.categories : undefined;
    if (this.sortIdx.length < n) this.sortIdx = new Int32Array(Math.max(n, this.sortIdx.length * 2));
    const idx = this.sortIdx;
    let sorted = true;
    idx[0] = 0;
    for (let i = 1; i < n; i++) {
      idx[i] = i;
      if (sorted && this.sortCompare(i - 1, i) > 0) sorted = false;
    }
    if (sorted) return;
    if (n <= 32) {
      // insertion sort: groups are small, and it allocates nothing
      for (let i = 1; i < n; i++) {
        const v = idx[i];
        let j = i - 1;
        while (j >= 0 && this.sortCompare(idx[j], v) > 0) {
          idx[j + 1] = idx[j];
          j--;
        }
        idx[j + 1] = v;
      }
    } else {
      idx.set(Array.from(idx.subarray(0, n)).sort((a, b) => this.sortCompare(a, b)));
    }
    // move the rows into that order through a scratch copy
    if (this.sortScratch.length < Math.max(n * d, n)) this.sortScratch = new Float64Array(Math.max(n * d, n, this.sortScratch.length * 2));
    const tmp = this.sortScratch;
    const x = this.x;
    const x0 = this.gXStart;
    for (let i = 0; i < n; i++) {
      const from = x0 + idx[i] * d;
      for (let f = 0; f < d; f++) tmp[i * d + f] = x[from + f];
    }
    x.set(tmp.subarray(0, n * d), x0);
    const y0 = this.gYStart;
    if (this.yNum !== null) permute(this.yNum, y0, idx, n, tmp);
    if (this.w !== null) permute(this.w, y0, idx, n, tmp);
    if (this.fold !== null) permute(this.fold, y0, idx, n, tmp);
    if (this.yText !== null) {
      const yt = this.yText;
      const copy = yt.slice(y0, y0 + n);
      for (let i = 0; i < n; i++) yt[y0 + i] = copy[idx[i]];
    }
  }

  /** The order of sortGroupRows: rows i and j of the open group by features, label, weight, fold id. */
  private sortCompare(i: number, j: number): number {
    const d = this.sortD;
    const x = this.x;
    const cats = this.sortCats;
    const xi = this.gXStart + i * d;
    const xj = this.gXStart + j * d;
    for (let f = 0; f < d; f++) {
      const a = x[xi + f];
      const b = x[xj + f];
      if (a === b && a !== 0) continue;
      const c = cats !== undefined && cats[f] ? compareCategories(this.strings, a, b) : compareNumbers(a, b);
      if (c !== 0) return c;
    }
    const yi = this.gYStart + i;
    const yj = this.gYStart + j;
    let c: number;
    if (this.yNum !== null) c = compareNumbers(this.yNum[yi], this.yNum[yj]);
    else {
      const a = (this.yText as string[])[yi];
      const b = (this.yText as string[])[yj];
      c = a < b ? -1 : a > b ? 1 : 0;
    }
    if (c === 0 && this.w !== null) c = compareNumbers(this.w[yi], this.w[yj]);
    if (c === 0 && this.fold !== null) c = compareNumbers(this.fold[yi], this.fold[yj]);
    return c;
  }

  /** Appends the open group's key (binary COPY fields with their length prefixes) to the batch's keys. */
  private pushKey(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (this.keyLen + n > this.keyBuf.length) {
      let cap = this.keyBuf.length * 2;
      while (cap < this.keyLen + n) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.keyBuf.subarray(0, this.keyLen));
      this.keyBuf = next;
    }
    const buf = this.keyBuf;
    const at = this.keyLen - start;
    for (let i = start; i < end; i++) buf[at + i] = src[i];
    this.keyLen += n;
  }

  private growGroups(): void {
    const cap = this.nRows.length * 2;
    const grow = (a: Int32Array, len: number): Int32Array<ArrayBuffer> => {
      const next = new Int32Array(len);
      next.set(a);
      return next;
    };
    this.xStart = grow(this.xStart, cap);
    this.rowStart = grow(this.rowStart, cap);
    this.nRows = grow(this.nRows, cap);
    this.nFeatures = grow(this.nFeatures, cap);
    this.nSkipped = grow(this.nSkipped, cap);
    this.keyStart = grow(this.keyStart, cap + 1);
  }

  private flush(): void {
    const n = this.groups;
    if (n === 0) return;
    // a batch is flushed between groups: every key in keyBuf is a closed group's
    const keysEnd = this.keyLen;
    const keys = new Uint8Array(new SharedArrayBuffer(Math.max(1, keysEnd)), 0, keysEnd);
    keys.set(this.keyBuf.subarray(0, keysEnd));
    const batch: GroupBatch = {
      count: n,
      x: shared(this.x, this.xLen),
      xStart: this.xStart.slice(0, n),
      nRows: this.nRows.slice(0, n),
      nFeatures: this.nFeatures.slice(0, n),
      yNum: this.yNum !== null ? shared(this.yNum, this.yLen) : null,
      yText: this.yText !== null ? this.yText.slice(0, this.yLen) : null,
      w: this.w !== null ? shared(this.w, this.yLen) : null,
      strings: this.strings.length > 0 ? this.strings : null,
      ...(this.fold !== null ? { fold: shared(this.fold, this.yLen) } : {}),
      rowStart: this.rowStart.slice(0, n),
      nSkipped: this.nSkipped.slice(0, n),
      preError: this.preError,
      rowsRead: this.rowsRead,
      keys,
      keyStart: this.keyStart.slice(0, n + 1),
    };
    this.rowsRead = 0;
    this.ready.push(batch);
    this.groups = 0;
    this.keyLen = 0;
    this.preError = [];
    this.xLen = 0;
    this.yLen = 0;
    if (this.yText !== null) this.yText = [];
    this.strings = [];
    this.stringIndex = new Map();
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

  private pushWeight(v: number): void {
    const w = this.w as Float64Array;
    if (this.yLen >= w.length) {
      const next = new Float64Array(w.length * 2);
      next.set(w);
      this.w = next;
    }
    (this.w as Float64Array)[this.yLen] = v;
  }

  /** A category value as its index in the batch's strings. */
  private intern(v: string): number {
    let k = this.stringIndex.get(v);
    if (k === undefined) {
      k = this.strings.length;
      this.strings.push(v);
      this.stringIndex.set(v, k);
    }
    return k;
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

  /** The fold id of the row whose label was just pushed. */
  private pushFold(v: number): void {
    const f = this.fold as Float64Array;
    if (this.yLen > f.length) {
      const next = new Float64Array(Math.max(f.length * 2, this.yLen));
      next.set(f);
      this.fold = next;
    }
    (this.fold as Float64Array)[this.yLen - 1] = v;
  }

  private fail(reason: string): void {
    if (this.gError === null) this.gError = reason;
  }

  private tooLarge(): boolean {
    if (this.gRows < this.limits.maxGroupRows) return false;
    this.fail(`the group has more than ${this.limits.maxGroupRows} rows (maxGroupRows); raise maxGroupRows or split the group`);
    return true;
  }

  /**
   * addRow for the plain layout (most runs: numeric feature columns and label, no weight, no
   * fold), with the layout's branches decided once: the same rows kept, skipped or failed.
   */
  private addPlainRow(row: RowFields): void {
    if (this.gError !== null) {
      if (this.gError.includes('maxGroupRows')) this.gRows++;
      return;
    }
    const m = this.layout.keyFields;
    const d = this.plainColumns;
    const { len, start, view } = row;
    // a NULL feature or label skips the row
    for (let f = m; f <= m + d; f++) {
      if (len[f] < 0) {
        this.gSkipped++;
        return;
      }
    }
    if (this.tooLarge()) return;
    this.ensureX(d);
    const x = this.x;
    let p = this.xLen;
    for (let f = m; f < m + d; f++) x[p++] = view.getFloat64(start[f]);
    this.xLen = p;
    this.pushLabel(view.getFloat64(start[m + d]));
    this.gRows++;
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
    if (row.len[labelField] < 0 || (this.w !== null && row.len[labelField + 1] < 0)) {
      this.gSkipped++;
      return;
    }
    const save = this.xLen;
    if (feat.kind === 'columns') {
      const d = feat.count;
      this.ensureX(d);
      const cats = feat.categories;
      for (let j = 0; j < d; j++) {
        const f = m + j;
        if (cats !== undefined && cats[j]) {
          this.x[this.xLen++] = row.len[f] < 0 ? NaN : this.intern(readText(row, f));
          continue;
        }
        if (row.len[f] < 0) {
          if (feat.keepMissing === true) {
            this.x[this.xLen++] = NaN;
            continue;
          }
          this.xLen = save;
          this.gSkipped++;
          return;
        }
        this.x[this.xLen++] = row.view.getFloat64(row.start[f]);
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
    // the limit counts usable rows: a row skipped for a NULL feature never makes a group too large
    if (this.tooLarge()) {
      this.xLen = save;
      return;
    }
    if (this.layout.label === 'int8') {
      const v = this.readInt8Label(row, labelField);
      if (v === null) return;
      this.pushLabel(v);
    } else this.pushLabel(this.layout.label === 'number' ? row.view.getFloat64(row.start[labelField]) : readText(row, labelField));
    // pushLabel moved yLen on: the weight goes at the label's index
    if (this.w !== null) {
      this.yLen--;
      this.pushWeight(row.view.getFloat64(row.start[labelField + 1]));
      this.yLen++;
    }
    if (this.fold !== null) this.pushFold(row.len[labelField + 1 + (this.w !== null ? 1 : 0)] < 0 ? NaN : row.view.getFloat64(row.start[labelField + 1 + (this.w !== null ? 1 : 0)]));
    this.gRows++;
  }

  /** A bigint label as a number, or null (and the group fails) when it is beyond 2^53, where distinct labels would merge. */
  private readInt8Label(row: RowFields, field: number): number | null {
    const hi = row.view.getInt32(row.start[field]);
    const v = hi * 4294967296 + row.view.getUint32(row.start[field] + 4);
    if (Number.isSafeInteger(v) && hi < 2097152 && hi >= -2097152) return v;
    this.fail(`a bigint label is beyond ±2^53 (about ${v.toExponential(3)}), where a float64 cannot tell neighbouring labels apart; cast the label to text in a query to use it as a class name`);
    return null;
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

function allNullKey(row: RowFields, keyFields: number): boolean {
  for (let f = 0; f < keyFields; f++) if (row.len[f] >= 0) return false;
  return true;
}

/** Puts a[at, at + n) in the order idx, through tmp. */
function permute(a: Float64Array, at: number, idx: Int32Array, n: number, tmp: Float64Array): void {
  for (let i = 0; i < n; i++) tmp[i] = a[at + idx[i]];
  a.set(tmp.subarray(0, n), at);
}

/** A total order of float64 values: by value, −0 before 0, NaN last. */
function compareNumbers(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === b) {
    if (a !== 0) return 0;
    const na = 1 / a < 0;
    return na === 1 / b < 0 ? 0 : na ? -1 : 1;
  }
  const na = a !== a;
  return na === (b !== b) ? 0 : na ? 1 : -1;
}

/** Two category cells (indices into the batch's strings, NaN for NULL) by their text, NULL last. */
function compareCategories(strings: readonly string[], a: number, b: number): number {
  if (a === b) return 0;
  if (a !== a || b !== b) return a !== a ? (b !== b ? 0 : 1) : -1;
  const sa = strings[a];
  const sb = strings[b];
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}
