import cliProgress from 'cli-progress';
import type { ProgressEvent, ProgressListener } from '../pipeline/progress.js';

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(Math.round(n));
}

/** ' | N groups', or nothing when the phase does not count groups (predict's SQL engine reports 0). */
function groups(e: ProgressEvent): string {
  return e.phase === 'train' || e.groupsDone > 0 ? ` | ${fmt(e.groupsDone)} groups` : '';
}

/**
 * Renders the pipeline's progress events: a bar on a terminal (when the total is known), one
 * line every few seconds otherwise. Writes to stderr, so stdout stays clean for results.
 */
export function progressRenderer(quiet: boolean): { listener: ProgressListener | undefined; stop(): void } {
  if (quiet) return { listener: undefined, stop: () => undefined };
  const tty = process.stderr.isTTY === true;
  let bar: cliProgress.SingleBar | null = null;
  let lastLine = 0;
  const listener = (e: ProgressEvent): void => {
    if (tty && e.rowsTotal !== null) {
      if (bar === null) {
        bar = new cliProgress.SingleBar(
          { format: `${e.phase} [{bar}] {percentage}% | {value}/{total} rows{groups} | {rate} rows/s | eta {eta_formatted}`, stream: process.stderr, hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(e.rowsTotal, 0, { groups: groups(e), rate: '0' });
      }
      bar.update(Math.min(e.rowsDone, e.rowsTotal), { groups: groups(e), rate: fmt(e.rowsPerSecond) });
      return;
    }
    const now = performance.now();
    if (!e.done && now - lastLine < 2000) return;
    lastLine = now;
    const eta = e.etaSeconds !== null && !e.done ? `, about ${Math.ceil(e.etaSeconds)} s left` : '';
    process.stderr.write(`${e.phase}:${groups(e).replace(' |', '')}${groups(e) ? ',' : ''} ${fmt(e.rowsDone)} rows, ${fmt(e.rowsPerSecond)} rows/s, ${e.elapsedSeconds.toFixed(1)} s${eta}${e.done ? ' (done)' : ''}\n`);
  };
  return {
    listener,
    stop: () => {
      if (bar !== null) (bar as cliProgress.SingleBar).stop();
    },
  };
}
