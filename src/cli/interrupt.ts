/**
 * SIGINT and SIGTERM during train or predict cancel the run: those commands pass
 * `interrupt.signal` to the library, which cancels the server-side statement, drops its staging
 * table and keeps the previous table, and the command exits 130 / 143. During any other command,
 * or at a second signal, the process stops at once with the same codes.
 */
export const interrupt = new AbortController();
let received: NodeJS.Signals | null = null;
let cancellable = 0;

export function signalled(): NodeJS.Signals | null {
  return received;
}

/** Runs a command that cancels cleanly on SIGINT / SIGTERM. */
export async function cancellably<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  cancellable++;
  try {
    return await fn(interrupt.signal);
  } finally {
    cancellable--;
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    const code = sig === 'SIGINT' ? 130 : 143;
    if (received !== null || cancellable === 0) process.exit(code);
    received = sig;
    process.stderr.write(`manymodels: ${sig} received: cancelling the run (the previous table is kept)...\n`);
    interrupt.abort(sig);
  });
}
