/**
 * A bounded first-in-first-out queue between an async producer and an async consumer: push waits
 * while the queue is full (backpressure), shift waits while it is empty. Either side can fail it.
 */
export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private closed = false;
  private error: unknown = null;
  private waitingPush: (() => void)[] = [];
  private waitingShift: (() => void)[] = [];

  constructor(private readonly capacity: number) {}

  async push(item: T): Promise<void> {
    while (this.items.length >= this.capacity && this.error === null) await new Promise<void>((r) => this.waitingPush.push(r));
    if (this.error !== null) throw this.error;
    this.items.push(item);
    this.wake(this.waitingShift);
  }

  /** The next item, or undefined once the queue is closed and empty. */
  async shift(): Promise<T | undefined> {
    while (this.items.length === 0 && !this.closed && this.error === null) await new Promise<void>((r) => this.waitingShift.push(r));
    if (this.error !== null) throw this.error;
    const item = this.items.shift();
    this.wake(this.waitingPush);
    return item;
  }

  close(): void {
    this.closed = true;
    this.wake(this.waitingShift);
  }

  fail(e: unknown): void {
    if (this.error === null) this.error = e ?? new Error('queue failed');
    this.wake(this.waitingShift);
    this.wake(this.waitingPush);
  }

  private wake(list: (() => void)[]): void {
    const w = list.splice(0, list.length);
    for (const r of w) r();
  }
}
