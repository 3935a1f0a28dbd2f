import { spawn } from 'node:child_process';

/** The built CLI, and the preload that holds a run at MANYMODELS_FAULT_PAUSE_AT (the package itself injects no fault). */
export const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const PAUSE = new URL('./fault-pause.mjs', import.meta.url).href;

/**
 * Runs `manymodels --db DB --quiet ARGS...` held at the named run point, and kills it with SIGKILL
 * as soon as it says it got there (or after `timeoutMs`, when it never does).
 */
export function killCliAt(db: string, point: string, args: readonly string[], timeoutMs: number): Promise<{ reached: boolean; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', PAUSE, CLI, '--db', db, '--quiet', ...args], {
      env: { ...process.env, MANYMODELS_FAULT_PAUSE_AT: point },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let reached = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!reached && stderr.includes(`MANYMODELS_FAULT_POINT ${point}\n`)) {
        reached = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve({ reached, stderr });
    });
  });
}
