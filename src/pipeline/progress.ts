/** What the pipeline reports while it runs; the CLI renders these, nothing else does. */
export interface ProgressEvent {
  phase: 'train' | 'predict';
  groupsDone: number;
  rowsDone: number;
  /** Rows the source is expected to have (from the planner's statistics), when known. */
  rowsTotal: number | null;
  elapsedSeconds: number;
  /** Rows per second so far. */
  rowsPerSecond: number;
  /** Estimated seconds left, when rowsTotal is known. */
  etaSeconds: number | null;
  done: boolean;
}

export type ProgressListener = (e: ProgressEvent) => void;

export class ProgressTracker {
  private readonly t0 = performance.now();
  private last = 0;
  groupsDone = 0;
  rowsDone = 0;

  constructor(
    private readonly phase: 'train' | 'predict',
    private readonly rowsTotal: number | null,
    private readonly listener: ProgressListener | undefined,
    private readonly everyMs = 200,
  ) {}

  add(groups: number, rows: number): void {
    this.groupsDone += groups;
    this.rowsDone += rows;
    const now = performance.now();
    if (now - this.last >= this.everyMs) {
      this.last = now;
      this.emit(false);
    }
  }

  finish(): void {
    this.emit(true);
  }

  private emit(done: boolean): void {
    if (this.listener === undefined) return;
    const elapsed = (performance.now() - this.t0) / 1000;
    const rate = elapsed > 0 ? this.rowsDone / elapsed : 0;
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
