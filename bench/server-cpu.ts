import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU seconds (user + system) spent so far by the PostgreSQL server listening on `port` on this
 * machine: its live processes plus the children it has reaped (a connection's backend that ended).
 * null when no such server runs here (a remote URL, PGlite).
 */
export function serverCpuSeconds(port: string | undefined): number | null {
  if (port === undefined) return null;
  const tick = 100; // USER_HZ on Linux
  const stat = (pid: string): string[] | null => {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return s.slice(s.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
    } catch {
      return null;
    }
  };
  const pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  const master = pids.find((p) => {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      return /postgres$/.test(cmd[0]) && cmd.includes('-p') && cmd[cmd.indexOf('-p') + 1] === port;
    } catch {
      return false;
    }
  });
  if (master === undefined) return null;
  let ticks = 0;
  for (const p of pids) {
    const f = stat(p);
    if (f === null) continue;
    // f[1] is the parent's pid; utime, stime, cutime, cstime are the 14th to 17th fields (f[11..14])
    if (p === master) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    else if (f[1] === master) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / tick;
}
