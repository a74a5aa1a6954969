// Sample queue functions: success with an output binding, a message that always fails (poison), attempt counting.
import { app, output, type HttpResponseInit } from '@azure/functions';

const done = output.storageQueue({ queueName: 'work-done', connection: 'AzureWebJobsStorage' });
// Attempts per message id, in memory: a failed invocation writes no outputs, so the host process is the witness.
const attempts = new Map<string, number>();

interface WorkItem {
  key: string;
  fail?: boolean;
}

app.storageQueue('queueWork', {
  queueName: '%SAMPLE_QUEUE%',
  connection: 'AzureWebJobsStorage',
  extraOutputs: [done],
  handler: (message, context) => {
    const item = message as WorkItem;
    attempts.set(item.key, (attempts.get(item.key) ?? 0) + 1);
    if (item.fail) throw new Error(`work item ${item.key} always fails`);
    const meta = context.triggerMetadata ?? {};
    context.extraOutputs.set(done, [
      { key: item.key, dequeueCount: meta.dequeueCount, id: meta.id, insertionTime: meta.insertionTime },
      { key: `${item.key}-second` },
    ]);
  },
});

app.get('attempts', {
  route: 'attempts/{key}',
  handler: (req): HttpResponseInit => ({ jsonBody: { attempts: attempts.get(req.params.key ?? '') ?? 0 } }),
});

// $return as a queue output: the returned value becomes the message.
app.storageQueue('queueReturn', {
  queueName: 'return-in',
  connection: 'AzureWebJobsStorage',
  return: output.storageQueue({ queueName: 'return-out', connection: 'AzureWebJobsStorage' }),
  handler: (message) => `echo:${JSON.stringify(message)}`,
});
