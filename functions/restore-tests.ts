// Registration of the restore-test and verify orchestrations, their activities, and the restore-test scheduler timer
// (issue 17). The HTTP routes (plans, run, history, verify) are in shared/api/routes.ts, registered by functions/api.ts.

import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { getConfig } from '../shared/config';
import { getRuntime, restoreTestActivities, restoreTestSchedulerDeps } from '../shared/composition';
import { runRestoreTestScheduler } from '../shared/activities/restore-test-runs';
import { wireActivity } from '../shared/activities/wire';
import { restoreTestOrchestrator, verifyOrchestrator } from '../shared/workflows/restore-test';
import { orchestrators, restoreTestActivities as names } from '../shared/workflows/names';

df.app.orchestration(orchestrators.restoreTest, restoreTestOrchestrator);
df.app.orchestration(orchestrators.verify, verifyOrchestrator);

const rt = () => getRuntime(getConfig);
const log = (m: string) => rt().log(m);

// Each activity name is also the method name on the activities object (shared/activities/restore-tests.ts).
for (const name of Object.values(names)) {
  df.app.activity(name, {
    handler: wireActivity(
      name,
      (input: unknown) => (restoreTestActivities(rt())[name] as (i: unknown) => Promise<unknown>)(input),
      log,
    ),
  });
}

app.timer('restoreTestScheduler', {
  schedule: '%RESTORE_TEST_SCHEDULER_SCHEDULE%',
  runOnStartup: false,
  useMonitor: true,
  extraInputs: [df.input.durableClient()],
  handler: async (_timer, context) => {
    const result = await runRestoreTestScheduler(restoreTestSchedulerDeps(rt(), df.getClient(context)));
    if (result.started > 0) context.log(`restore tests: started ${result.started} test(s)`);
    if (result.failed.length > 0) context.warn(`restore tests: plan(s) ${result.failed.join(', ')} could not start`);
  },
});
