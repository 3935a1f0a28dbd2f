/**
 * SIGINT and SIGTERM cancel the running command: commands pass `interrupt.signal` to the library,
 * which cancels the server-side statement, drops its staging table and keeps the previous table.
 * A second signal stops the process at once.
 */
export const interrupt = new AbortController();
let received: NodeJS.Signals | null = null;

export function signalled(): NodeJS.Signals | null {
  return received;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (received !== null) process.exit(sig === 'SIGINT' ? 130 : 143);
    received = sig;
    process.stderr.write(`manymodels: ${sig} received: cancelling the run (the previous table is kept)...\n`);
    interrupt.abort(sig);
  });
}
