import { type Channel, channel } from 'node:diagnostics_channel';

/**
 * Orders concurrent events in this process by the named run points of src/pipeline/fault.ts
 * (announced on the diagnostics channel `manymodels:run-point`) instead of sleeps: `holdAt(point)`
 * holds the first run that reaches `point` until released; `doAt(point, action)` runs an action
 * there (and the run waits for it).
 */
interface RunPointMessage {
  readonly name: string;
  readonly hold: Promise<unknown>[];
}

export interface Held {
  /** Resolves when a run has reached the point (and is held there). */
  reached: Promise<void>;
  release(): void;
}

const points: Channel = channel('manymodels:run-point');
const waiting = new Map<string, { resolveReached: () => void; gate: Promise<void>; open: () => void; used: boolean }>();
const actions = new Map<string, () => Promise<void> | void>();

function onPoint(message: unknown): void {
  const m = message as RunPointMessage;
  const a = actions.get(m.name);
  if (a !== undefined) {
    actions.delete(m.name);
    m.hold.push(Promise.resolve().then(a));
  }
  const w = waiting.get(m.name);
  if (w === undefined || w.used) return;
  w.used = true;
  w.resolveReached();
  m.hold.push(w.gate);
}

let subscribed = false;
function install(): void {
  if (subscribed) return;
  points.subscribe(onPoint);
  subscribed = true;
}

/** Holds the first run of this process that reaches `point`, until `release()`. */
export function holdAt(point: string): Held {
  install();
  let resolveReached!: () => void;
  const reached = new Promise<void>((r) => (resolveReached = r));
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  waiting.set(point, { resolveReached, gate, open, used: false });
  return {
    reached,
    release: () => {
      open();
      waiting.delete(point);
    },
  };
}

/** Runs `action` (and the run waits for it) when a run of this process first reaches `point`. */
export function doAt(point: string, action: () => Promise<void> | void): void {
  install();
  actions.set(point, action);
}

/** Removes every hold and action (releasing held runs) and unsubscribes. */
export function clearFaults(): void {
  for (const w of waiting.values()) w.open();
  waiting.clear();
  actions.clear();
  if (subscribed) points.unsubscribe(onPoint);
  subscribed = false;
}

/** Rejects after `ms` with `what`: a wait that can never end is a failure, not a hang. */
export function within<T>(p: Promise<T>, what: string, ms = 60_000): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)))]).finally(() => clearTimeout(t));
}
