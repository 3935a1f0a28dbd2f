// Preloaded by the SIGKILL fault-injection test (node --import): holds a run at the named point
// MANYMODELS_FAULT_PAUSE_AT, after saying so on stderr, until the test kills the process.
import { subscribe } from 'node:diagnostics_channel';

const at = process.env.MANYMODELS_FAULT_PAUSE_AT;
if (at !== undefined && at !== '') {
  subscribe('manymodels:run-point', (message) => {
    if (message.name !== at) return;
    process.stderr.write(`MANYMODELS_FAULT_POINT ${at}\n`);
    message.hold.push(new Promise(() => setInterval(() => undefined, 1 << 30)));
  });
}
