import { channel } from 'node:diagnostics_channel';

/**
 * Named points in a run (plan, read:N, swap:begin, ...), announced on the diagnostics channel
 * `manymodels:run-point`. A subscriber may push a promise onto `hold` to keep the run at that point:
 * the SIGKILL tests do (test/helpers/fault-pause.mjs, loaded with `node --import`) to prove that
 * nothing is lost wherever a run dies. The package itself injects no fault; with no subscriber a
 * point costs one check.
 */
const points = channel('manymodels:run-point');

export interface RunPointMessage {
  readonly name: string;
  readonly hold: Promise<unknown>[];
}

export async function faultPoint(name: string): Promise<void> {
  if (!points.hasSubscribers) return;
  const message: RunPointMessage = { name, hold: [] };
  points.publish(message);
  if (message.hold.length > 0) await Promise.all(message.hold);
}
