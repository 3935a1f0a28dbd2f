import { UsageError } from '../../errors.js';
import type { Dialect } from '../dialect.js';
import { citus } from './citus.js';
import { greenplum } from './greenplum.js';
import { postgres } from './postgres.js';

export const DIALECTS: Readonly<Record<Dialect['name'], Dialect>> = Object.freeze({ postgres, citus, greenplum });

export function dialectByName(name: string): Dialect {
  const d = (DIALECTS as Record<string, Dialect>)[name.toLowerCase() === 'cloudberry' ? 'greenplum' : name.toLowerCase()];
  if (d === undefined) throw new UsageError(`unknown dialect '${name}'`, 'choose postgres, citus or greenplum (also for Apache Cloudberry)', 'UNKNOWN_DIALECT');
  return d;
}

/** The SQL that tells the dialects apart: (citus extension installed?, version() text). */
export const DETECT_SQL = `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') AS citus, version() AS version`;

export function dialectFromServer(citusInstalled: boolean, version: string): Dialect {
  if (citusInstalled) return citus;
  if (/Greenplum|Cloudberry/i.test(version)) return greenplum;
  return postgres;
}
