// Registration of the bulk rewrap orchestration and its activity (issue 16, key rotation).

import * as df from 'durable-functions';
import { getConfig } from '../shared/config';
import { getRuntime, rewrapActivities } from '../shared/composition';
import { wireActivity } from '../shared/activities/wire';
import { rewrapOrchestrator } from '../shared/workflows/rewrap';
import { orchestrators, rewrapActivities as names } from '../shared/workflows/names';

df.app.orchestration(orchestrators.rewrap, rewrapOrchestrator);

const rt = () => getRuntime(getConfig);
const acts = () => rewrapActivities(rt());
const log = (m: string) => rt().log(m);

// Each activity name is also the method name on the activities object (shared/activities/rewrap.ts).
for (const name of Object.values(names)) {
  df.app.activity(name, {
    handler: wireActivity(name, (input: unknown) => (acts()[name] as (i: unknown) => Promise<unknown>)(input), log),
  });
}
