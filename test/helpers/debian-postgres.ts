import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's PostgreSQL 15 (apt-get install postgresql-15 postgresql-plpython3-15): the server with PL/Python. */
export const DEBIAN_PG = '/usr/lib/postgresql/15/bin';
export const PLPYTHON = '/usr/lib/postgresql/15/lib/plpython3.so';

/** Why a PL/Python test cannot run here, or false. */
export function plpythonSkip(): string | false {
  if (!existsSync(join(DEBIAN_PG, 'postgres'))) return `no ${DEBIAN_PG}/postgres: apt-get install postgresql-15 postgresql-plpython3-15`;
  if (!existsSync(PLPYTHON)) return `no ${PLPYTHON}: apt-get install postgresql-plpython3-15`;
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import sklearn'], { stdio: 'pipe' });
  } catch {
    return '/usr/bin/python3 has no scikit-learn (the server\'s PL/Python imports it): apt-get install python3-sklearn';
  }
  if (process.getuid?.() === 0) {
    try {
      execFileSync('id', ['-u', 'postgres'], { stdio: 'pipe' });
    } catch {
      return 'running as root and there is no postgres OS user to run the server as';
    }
  }
  return false;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address() as { port: number };
      s.close(() => resolve(a.port));
    });
  });
}

/**
 * Starts a throw-away server from Debian's binaries on 127.0.0.1 (as the postgres OS user when
 * root: PostgreSQL refuses to run as root), trust authentication, and returns its URL and a stop.
 */
export async function startDebianPostgres(): Promise<{ url: string; stop(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'mm-debian-pg-'));
  const root = process.getuid?.() === 0;
  const run = (cmd: string): void => {
    if (root) execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', cmd], { stdio: 'pipe' });
    else execFileSync('/bin/sh', ['-c', cmd], { stdio: 'pipe' });
  };
  if (root) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
  const port = await freePort();
  run(`${DEBIAN_PG}/initdb -D ${dir}/data -U postgres --auth=trust >/dev/null`);
  run(`${DEBIAN_PG}/pg_ctl -D ${dir}/data -o "-p ${port} -k ${dir} -c listen_addresses=127.0.0.1" -l ${dir}/log -w start >/dev/null`);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => {
      try {
        run(`${DEBIAN_PG}/pg_ctl -D ${dir}/data -m fast -w stop >/dev/null`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
