/**
 * Worker-thread entry (see createInWorker in pglite.ts): creates an embedded database in the
 * directory it is given, closes it, and ends. Creating one runs initdb in a second PGlite instance
 * whose memory the creating thread keeps to the end (about 400 MiB of RSS that a process opening
 * the new database would carry through its whole run); a thread's memory goes back when it ends.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

const { dataDir, startParams } = workerData as { dataDir: string; startParams: string[] };
const pg = await PGlite.create(dataDir, { startParams });
await pg.close();
parentPort?.postMessage('created');
