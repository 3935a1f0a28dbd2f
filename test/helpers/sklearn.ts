import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * scikit-learn as an oracle: Debian's /usr/bin/python3 with python3-sklearn (1.2.1), never the
 * python3 first on PATH. `sklearnMissing` is null when it is there, else the reason to print when
 * a test skips.
 */
export const PYTHON = '/usr/bin/python3';

export const sklearnMissing: string | null = (() => {
  if (!existsSync(PYTHON)) return `${PYTHON} is absent (apt-get install python3-sklearn)`;
  const r = spawnSync(PYTHON, ['-c', 'import sklearn; print(sklearn.__version__)'], { encoding: 'utf8' });
  if (r.status !== 0) return `${PYTHON} has no scikit-learn (apt-get install python3-sklearn)`;
  return null;
})();

/** Runs a Python script with JSON on stdin and returns its JSON output. */
export function runPython<T>(script: string, input: unknown): T {
  const out = execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['pipe', 'pipe', 'pipe'] });
  return JSON.parse(out) as T;
}
