// Registration of the expiry orchestration, its activities, and the expiry timer (design §7).

import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { getConfig } from '../shared/config';
import { expiryActivities, getRuntime, orchestrationStarter } from '../shared/composition';
import { wireActivity } from '../shared/activities/wire';
import { expiryOrchestrator } from '../shared/workflows/expiry';
import { expiryActivities as names, orchestrators, type ExpiryOrchestratorInput } from '../shared/workflows/names';

df.app.orchestration(orchestrators.expiry, expiryOrchestrator);

const rt = () => getRuntime(getConfig);
const acts = () => expiryActivities(rt());
const log = (m: string) => rt().log(m);

// Each activity name is also the method name on the activities object (shared/activities/expiry.ts).
for (const name of Object.values(names)) {
  df.app.activity(name, {
    handler: wireActivity(name, (input: unknown) => (acts()[name] as (i: unknown) => Promise<unknown>)(input), log),
  });
}

/** `expiry-<tick as 20260105T023000000Z>`: a tick delivered twice starts one run. */
function expiryOrchestrationId(tickUtc: Date): string {
  return `expiry-${tickUtc.toISOString().replace(/[-:.]/g, '')}`;
}

app.timer('expiryTimer', {
  schedule: '%EXPIRY_SCHEDULE%',
  runOnStartup: false,
  useMonitor: true,
  extraInputs: [df.input.durableClient()],
  handler: async (_timer, context) => {
    const runtime = rt();
    const client = df.getClient(context);
    // The tick's second, from the wall clock: one run per tick without relying on the timer payload's shape.
    const tick = new Date(Math.floor(runtime.clock.now().getTime() / 1000) * 1000);
    const instanceId = expiryOrchestrationId(tick);
    // GET /api/health shows when the expiry timer last ran.
    await runtime.stores.alerts.health.recordRun('expiry', runtime.clock.now().toISOString());
    if (await orchestrationStarter(client).exists(instanceId)) return;
    const input: ExpiryOrchestratorInput = { concurrency: runtime.config.EXPIRY_CONCURRENCY, trigger: 'Scheduled' };
    await client.startNew(orchestrators.expiry, { instanceId, input });
    context.log(`expiry: started ${instanceId}`);
  },
});
