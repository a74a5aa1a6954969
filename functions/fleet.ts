// Registration of the discovery timer (issue 15): auto-protect, missing databases and globals backups of every
// registered server. The server routes are in shared/api/routes.ts; backup slots are backup activities.

import { app } from '@azure/functions';
import { getConfig } from '../shared/config';
import { fleetDeps, getRuntime } from '../shared/composition';
import { discoverAll } from '../shared/activities/discovery';

app.timer('discoveryTimer', {
  schedule: '%DISCOVERY_SCHEDULE%',
  runOnStartup: false,
  useMonitor: true,
  handler: async (_timer, context) => {
    const results = await discoverAll(fleetDeps(getRuntime(getConfig)));
    for (const r of results) {
      if (r.error) context.warn(`discovery: ${r.server}: ${r.error}`);
      else if (r.protected.length + r.missing.length + r.returned.length > 0 || r.globalsRecoveryPointId) {
        context.log(
          `discovery: ${r.server}: protected ${r.protected.length}, missing ${r.missing.length}, back ${r.returned.length}${r.globalsRecoveryPointId ? ', globals backed up' : ''}`,
        );
      }
    }
  },
});
