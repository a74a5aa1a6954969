// Sample timer functions; each run records itself on the timer-runs queue so tests can see runs and their timing.
import { app, output, type InvocationContext, type Timer } from '@azure/functions';

const runs = output.storageQueue({ queueName: 'timer-runs', connection: 'AzureWebJobsStorage' });

function record(name: string, timer: Timer, context: InvocationContext, startedAt: number): void {
  context.extraOutputs.set(runs, {
    name,
    isPastDue: timer.isPastDue,
    startedAt,
    endedAt: Date.now(),
    invocationId: context.invocationId,
  });
}

app.timer('tickManual', {
  schedule: '0 0 0 1 1 *',
  extraOutputs: [runs],
  handler: (timer, context) => record('tickManual', timer, context, Date.now()),
});

app.timer('tickStartup', {
  schedule: '0 0 0 1 1 *',
  runOnStartup: true,
  extraOutputs: [runs],
  handler: (timer, context) => record('tickStartup', timer, context, Date.now()),
});

// Every second but slower than a second: the host must never start a second run while one is in progress.
app.timer('tickFast', {
  schedule: '%FAST_SCHEDULE%',
  extraOutputs: [runs],
  handler: async (timer, context) => {
    const startedAt = Date.now();
    await new Promise((r) => setTimeout(r, 1500));
    record('tickFast', timer, context, startedAt);
  },
});

// Fails its first two attempts: the host's function-level retry must run it again with a retryContext.
app.timer('tickRetry', {
  schedule: '0 0 0 1 1 *',
  retry: { strategy: 'fixedDelay', maxRetryCount: 2, delayInterval: { seconds: 0 } },
  extraOutputs: [runs],
  handler: (timer, context) => {
    const retryCount = context.retryContext?.retryCount ?? -1;
    if (retryCount < 2) throw new Error(`attempt ${retryCount} fails on purpose`);
    context.extraOutputs.set(runs, {
      name: 'tickRetry',
      isPastDue: timer.isPastDue,
      retryCount,
      maxRetryCount: context.retryContext?.maxRetryCount,
    });
  },
});
