// vitest global setup: one registry of the processes every worker starts (test/support/processes.ts), and a teardown
// that kills whatever is still in it once the run ends: servers, emulators and hosts of a worker whose hook timed
// out, whose suite failed before its afterAll, or that was killed outright. Also reaps what a killed run left.
import { createRegistryDir, killRegistered, reapAbandonedRegistries, REGISTRY_ENV } from './processes';

export default function setup(): () => void {
  const reaped = reapAbandonedRegistries();
  if (reaped.length > 0) {
    process.stderr.write(`test harness: killed ${reaped.length} process(es) an earlier, killed run left behind\n`);
  }
  const dir = createRegistryDir();
  // Workers inherit the environment of the process that forks them.
  process.env[REGISTRY_ENV] = dir;
  return () => {
    const left = killRegistered(dir);
    if (left.length > 0) {
      process.stderr.write(
        `test harness: killed ${left.length} process(es) the tests did not stop: ${left.map((e) => e.what.split(' ')[0]).join(', ')}\n`,
      );
    }
  };
}
