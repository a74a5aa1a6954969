// Registration of the health watchdog and the notification worker timers (issue 13). The health and notification
// routes are in shared/api/routes.ts, registered by functions/api.ts.

import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { getConfig } from '../shared/config';
import { getRuntime, notificationWorker, orchestrationStarter, watchdogRun } from '../shared/composition';

const rt = () => getRuntime(getConfig);

app.timer('healthWatchdog', {
  schedule: '%WATCHDOG_SCHEDULE%',
  runOnStartup: false,
  useMonitor: true,
  extraInputs: [df.input.durableClient()],
  handler: async (_timer, context) => {
    const runtime = rt();
    const result = await runtime.telemetry.span('pgkeep.watchdog', {}, () =>
      watchdogRun(runtime, orchestrationStarter(df.getClient(context)), (m) => context.log(m)),
    );
    context.log(
      `watchdog: ${result.missed.length} missed slot(s), ${result.changed.length} health change(s); ` +
        Object.entries(result.counts)
          .map(([s, n]) => `${s} ${n}`)
          .join(', '),
    );
  },
});

app.timer('notificationDelivery', {
  schedule: '%NOTIFICATION_SCHEDULE%',
  // Every 15 s by default: a restarted host picks up what is pending at its first tick (runOnStartup would run on
  // every scale-out instance start, which Azure advises against).
  runOnStartup: false,
  useMonitor: false,
  handler: async (_timer, context) => {
    const runtime = rt();
    const s = await runtime.telemetry.span('pgkeep.notifications', {}, () => notificationWorker(runtime).run());
    await runtime.stores.alerts.health.recordRun('notifications', runtime.clock.now().toISOString());
    if (s.delivered + s.failed + s.retried + s.skipped > 0) {
      context.log(
        `notifications: ${s.delivered} delivered, ${s.retried} to retry, ${s.failed} failed, ${s.skipped} taken by another worker`,
      );
    }
  },
});
