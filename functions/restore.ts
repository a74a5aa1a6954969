// Registration of the restore orchestration, its activities, and the restore-requests queue trigger (design §6).
// The HTTP starters (validateRestore, restore) are routes of shared/api/routes.ts, registered by functions/api.ts.

import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { getConfig } from '../shared/config';
import { getRuntime, restoreActivities as createActivities, restoreQueueDeps } from '../shared/composition';
import { handleRestoreRequest } from '../shared/activities/restore-queue';
import { wireActivity } from '../shared/activities/wire';
import { restoreOrchestrator } from '../shared/workflows/restore';
import { orchestrators, restoreActivities } from '../shared/workflows/names';

df.app.orchestration(orchestrators.restore, restoreOrchestrator);

const rt = () => getRuntime(getConfig);
const log = (m: string) => rt().log(m);

// Each activity name is also the method name on the activities object (shared/activities/restore.ts).
for (const name of Object.values(restoreActivities)) {
  df.app.activity(name, {
    handler: wireActivity(
      name,
      (input: unknown) => (createActivities(rt())[name] as (i: unknown) => Promise<unknown>)(input),
      log,
    ),
  });
}

app.storageQueue('restoreQueue', {
  queueName: '%RESTORE_REQUESTS_QUEUE%',
  connection: 'AzureWebJobsStorage',
  extraInputs: [df.input.durableClient()],
  handler: async (message, context) => {
    const outcome = await handleRestoreRequest(restoreQueueDeps(rt(), df.getClient(context)), message);
    context.log(`restore request: ${outcome.kind}`);
  },
});
