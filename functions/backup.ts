// Registration of the backup orchestration, its activities, and the scheduler timer (design §5).

import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { getConfig } from '../shared/config';
import { backupActivities, getRuntime, orchestrationStarter } from '../shared/composition';
import { runScheduler } from '../shared/activities/scheduler';
import { wireActivity } from '../shared/activities/wire';
import { backupOrchestrator } from '../shared/workflows/backup';
import { activities, orchestrators } from '../shared/workflows/names';

df.app.orchestration(orchestrators.backup, backupOrchestrator);

const rt = () => getRuntime(getConfig);
const acts = () => backupActivities(rt());
const log = (m: string) => rt().log(m);

// Each activity name is also the method name on the activities object (shared/activities/backup.ts).
for (const name of Object.values(activities)) {
  df.app.activity(name, {
    handler: wireActivity(name, (input: unknown) => (acts()[name] as (i: unknown) => Promise<unknown>)(input), log),
  });
}

app.timer('backupScheduler', {
  schedule: '%SCHEDULER_SCHEDULE%',
  runOnStartup: false,
  useMonitor: true,
  extraInputs: [df.input.durableClient()],
  handler: async (_timer, context) => {
    const runtime = rt();
    const result = await runScheduler({
      instances: runtime.stores.instances,
      policies: runtime.stores.policies,
      clock: runtime.clock,
      starter: orchestrationStarter(df.getClient(context)),
      log: (m) => context.log(m),
      settings: {
        jitterSeconds: runtime.config.BACKUP_JITTER_SECONDS,
        slotPollSeconds: runtime.config.BACKUP_SLOT_POLL_SECONDS,
      },
    });
    if (result.failed.length > 0) {
      context.warn(`scheduler: ${result.failed.length} instance(s) could not be scheduled`);
    }
    // GET /api/health shows when the scheduler last ran.
    await runtime.stores.alerts.health.recordRun('scheduler', runtime.clock.now().toISOString());
  },
});
