/** What the pipeline reports while it runs; the CLI renders these, nothing else does. */
export interface ProgressEvent {
  phase: 'train' | 'predict';
  /**
   * Groups finished: trained (train), or scored so far by predict's TypeScript engine. predict's SQL
   * engine scores every group in one statement and reports rows only (0 here).
   */
  groupsDone: number;
  rowsDone: number;
  /** Rows the source is expected to have (from the planner's statistics), when known. */
  rowsTotal: number | null;
  elapsedSeconds: number;
  /** Rows per second so far, measured from the first row read. */
  rowsPerSecond: number;
  /** Estimated seconds left, when rowsTotal is known. */
  etaSeconds: number | null;
  /** The run finished its work (never set for a cancelled run). */
  done: boolean;
}

export type ProgressListener = (e: ProgressEvent) => void;

export class ProgressTracker {
  private readonly t0 = performance.now();
  private last = 0;
  /** When the first rows arrived: the rate and ETA leave out the wait for a query's first row. */
  private firstRowAt: number | null = null;
  private firstRows = 0;
  groupsDone = 0;
  rowsDone = 0;

  constructor(
    private readonly phase: 'train' | 'predict',
    private readonly rowsTotal: number | null,
    private readonly listener: ProgressListener | undefined,
    private readonly everyMs = 200,
    private readonly signal?: AbortSignal,
  ) {}

  add(groups: number, rows: number): void {
    if (this.firstRowAt === null && rows > 0) {
      this.firstRowAt = performance.now();
      this.firstRows = this.rowsDone + rows;
    }
    this.groupsDone += groups;
    this.rowsDone += rows;
    const now = performance.now();
    if (now - this.last >= this.everyMs) {
      this.last = now;
      this.emit(false);
    }
  }

  /** The final event; a cancelled run has none (it did not finish). */
  finish(): void {
    if (this.signal?.aborted === true) return;
    this.emit(true);
  }

  private emit(done: boolean): void {
    if (this.listener === undefined) return;
    const now = performance.now();
    const elapsed = (now - this.t0) / 1000;
    // the rate counts from the first row: a backend that runs the whole query before it sends
    // any (PGlite) would otherwise make the rate far too low and the ETA far too long
    const since = this.firstRowAt === null || done ? elapsed : (now - this.firstRowAt) / 1000;
    const counted = this.firstRowAt === null || done ? this.rowsDone : this.rowsDone - this.firstRows;
    const rate = since > 0 ? counted / since : 0;
    const total = this.rowsTotal !== null && this.rowsTotal >= this.rowsDone ? this.rowsTotal : null;
    this.listener({
      phase: this.phase,
      groupsDone: this.groupsDone,
      rowsDone: this.rowsDone,
      rowsTotal: total,
      elapsedSeconds: elapsed,
      rowsPerSecond: rate,
      etaSeconds: done ? 0 : total !== null && rate > 0 ? (total - this.rowsDone) / rate : null,
      done,
    });
  }
}
