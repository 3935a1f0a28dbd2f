/**
 * Named points in a run where the fault-injection tests stop the process (SIGKILL) to prove that
 * nothing is lost wherever a run dies. With MANYMODELS_FAULT_PAUSE_AT unset (always, outside
 * those tests) a fault point is a comparison and nothing more.
 */
export async function faultPoint(name: string): Promise<void> {
  const at = process.env.MANYMODELS_FAULT_PAUSE_AT;
  if (at === undefined || at !== name) return;
  process.stderr.write(`MANYMODELS_FAULT_POINT ${name}\n`);
  // hold here until the test kills the process
  await new Promise<never>(() => setInterval(() => undefined, 1 << 30));
}
