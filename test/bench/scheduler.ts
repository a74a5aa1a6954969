// The scheduler benchmark (issue 15, design §14): one tick of the real runScheduler over the real Table stores in
// Azurite with 10,000 instances over 200 servers, 2,000 of them due, against the same tick with 100 instances (20
// due). Measured: the tick's time (deciding and enqueueing), the host's peak memory during it, and the storage
// requests it makes (Table and Queue, counted by a pipeline policy on every client).
//
// The Durable client is modelled by its storage cost on the Azure Storage backend: `exists` is one Table point read
// (the instance's status row, keyed like DurableTask.AzureStorage's Instances table: PartitionKey = instance id,
// RowKey = ''), `start` one Table write plus one queue message (the ExecutionStarted message).
import { randomBytes } from 'node:crypto';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { TableClient } from '@azure/data-tables';
import { QueueClient } from '@azure/storage-queue';
import { loadConfig } from '../../shared/config';
import { tableStateStores } from '../../shared/adapters/storage/stores';
import { createTableProvider } from '../../shared/adapters/storage/tables/common';
import { runScheduler, type OrchestrationStarter } from '../../shared/activities/scheduler';
import { mapLimited } from '../../shared/domain/limited';
import { datasourceClaimKey, toEntity } from '../../shared/adapters/storage/tables/instances';
import { lastOccurrenceAtOrBefore } from '../../shared/domain/schedule';
import { parsePolicy } from '../../shared/domain/policy';
import type { InstanceRecord } from '../../shared/ports';
import { startAzurite } from '../support/azurite';
import { weeklyDefaultPolicy } from '../support/policies';
import { formatMs, formatTable, MiB, ratioLines, sampleRss, timed, type Out } from './support';

export interface SchedulerBenchOptions {
  readonly instances: number;
  readonly due: number;
  readonly servers: number;
}

export const defaultSchedulerBenchOptions: SchedulerBenchOptions = { instances: 10_000, due: 2_000, servers: 200 };

/** Counts every HTTP request a client sends: one storage transaction each (a Table batch is one). */
function counter(): { policy: PipelinePolicy; count: () => number; reset: () => void; add: () => void } {
  let n = 0;
  return {
    policy: {
      name: 'pgkeepBenchRequestCounter',
      sendRequest: (req, next) => {
        n++;
        return next(req);
      },
    },
    count: () => n,
    reset: () => (n = 0),
    add: () => void n++,
  };
}

interface TickFigures {
  readonly instances: number;
  readonly due: number;
  readonly started: number;
  readonly ms: number;
  readonly peakBytes: number;
  readonly transactions: number;
}

async function oneTick(
  connectionString: string,
  out: Out,
  options: SchedulerBenchOptions,
  now: Date,
): Promise<TickFigures> {
  const requests = counter();
  const clientOptions = { additionalPolicies: [{ policy: requests.policy, position: 'perCall' as const }] };
  const prefix = `b${randomBytes(4).toString('hex')}`;
  const tables = createTableProvider({ kind: 'connectionString', connectionString }, prefix, clientOptions);
  const stores = tableStateStores(tables);
  const document = weeklyDefaultPolicy({ name: 'weekly', start: '2024-01-07T02:00:00+00:00', deleteAfter: 'P3M' });
  await stores.policies.create({ name: 'weekly', document, createdAt: now.toISOString() });
  const parsed = parsePolicy(document);
  if (!parsed.ok) throw new Error('bench policy does not parse');
  const latest = lastOccurrenceAtOrBefore(parsed.value.schedule, now.toISOString());
  if (latest === undefined) throw new Error('bench policy has no slot yet');
  const weekBefore = new Date(Date.parse(latest) - 7 * 86_400_000).toISOString();

  const { ms: loadMs } = await timed(async () => {
    const records: InstanceRecord[] = Array.from({ length: options.instances }, (_, i) => {
      const server = `srv${String(i % options.servers).padStart(3, '0')}`;
      const name = `${server}-db${String(Math.floor(i / options.servers)).padStart(5, '0')}`;
      return {
        name,
        friendlyName: name,
        dataSource: {
          objectType: 'Datasource',
          datasourceType: 'Microsoft.DBforPostgreSQL/servers/databases',
          resourceID: `onprem/${server}/databases/${name}`,
          resourceName: name,
        },
        policyName: 'weekly',
        secret: { secretStoreType: 'AppSetting', uri: `appsetting://${server.toUpperCase()}` },
        protectionState: 'ProtectionConfigured',
        serverName: server,
        // Every (instances / due)-th instance still owes the latest slot; the others had it already.
        lastScheduledSlot: i % Math.round(options.instances / options.due) === 0 ? weekBefore : latest,
        createdAt: weekBefore,
        updatedAt: weekBefore,
      };
    });
    // As InstanceStore.create writes them (instance row + datasource claim), 50 instances per batch transaction.
    const table = await tables.table('backupInstances');
    const batches: InstanceRecord[][] = [];
    for (let i = 0; i < records.length; i += 50) batches.push(records.slice(i, i + 50));
    await mapLimited(batches, 4, (batch) =>
      table.submitTransaction(
        batch.flatMap((r) => [
          ['create', toEntity(r)] as const,
          [
            'create',
            {
              partitionKey: 'instance',
              rowKey: datasourceClaimKey(r.dataSource.resourceID),
              instanceName: r.name,
              resourceID: r.dataSource.resourceID,
            },
          ] as const,
        ]),
      ),
    );
  });
  out(`  ${options.instances} instances over ${options.servers} servers written in ${formatMs(loadMs)}`);

  const hub = TableClient.fromConnectionString(connectionString, `${prefix}hubInstances`, {
    allowInsecureConnection: true,
    ...clientOptions,
  });
  await hub.createTable();
  const queue = new QueueClient(connectionString, `${prefix}-control`);
  await queue.createIfNotExists();
  const starter: OrchestrationStarter = {
    async exists(id) {
      try {
        await hub.getEntity(id, '');
        return true;
      } catch {
        return false;
      }
    },
    async start(id, input) {
      await hub.createEntity({ partitionKey: id, rowKey: '', status: 'Pending' });
      // The queue client's pipeline takes no extra policy: its one request is counted here.
      requests.add();
      await queue.sendMessage(Buffer.from(JSON.stringify({ id, input })).toString('base64'));
    },
  };

  requests.reset();
  const memory = sampleRss();
  const { ms, value } = await timed(() =>
    runScheduler({
      instances: stores.instances,
      policies: stores.policies,
      clock: { now: () => now },
      starter,
      log: () => undefined,
      settings: { jitterSeconds: 0, slotPollSeconds: 30 },
    }),
  );
  const peak = memory.stop();
  if (value.failed.length > 0)
    throw new Error(`scheduler failed ${value.failed.length} instances: ${value.failed[0]?.message}`);
  return {
    instances: options.instances,
    due: options.due,
    started: value.started.length,
    ms,
    peakBytes: peak.peak,
    transactions: requests.count(),
  };
}

export async function runSchedulerScenario(
  out: Out,
  options: SchedulerBenchOptions,
  cleanups: Set<() => Promise<void>>,
): Promise<void> {
  loadConfig({});
  const azurite = await startAzurite();
  const stop = () => azurite.stop();
  cleanups.add(stop);
  try {
    const now = new Date();
    out(`\nscheduler: one tick, ${options.instances} instances (${options.due} due) over ${options.servers} servers`);
    const small = await oneTick(azurite.connectionString, out, { instances: 100, due: 20, servers: 2 }, now);
    const big = await oneTick(azurite.connectionString, out, options, now);
    for (const t of [small, big]) {
      if (t.started !== t.due) throw new Error(`the tick started ${t.started} backups, expected ${t.due}`);
    }
    const row = (t: TickFigures) => [
      String(t.instances),
      String(t.due),
      formatMs(t.ms),
      `${(t.peakBytes / MiB).toFixed(1)} MiB`,
      String(t.transactions),
      (t.transactions / t.due).toFixed(2),
    ];
    for (const line of formatTable(
      ['INSTANCES', 'DUE', 'TICK', 'PEAK RSS', 'STORAGE REQUESTS', 'PER DUE'],
      [row(small), row(big)],
    ))
      out(`  ${line}`);
    out(
      `  ratio of the ${big.instances}-instance tick to the ${small.instances}-instance tick: ${(big.ms / small.ms).toFixed(1)}×`,
    );
    for (const line of ratioLines([
      { label: 'tick time / 10 s', value: big.ms / 10_000, op: '<=', target: 1, unit: 'x' },
      { label: 'peak memory of the host', value: big.peakBytes, op: '<=', target: 256 * MiB, unit: 'MiB' },
    ]))
      out(`  ${line}`);
  } finally {
    cleanups.delete(stop);
    await stop();
  }
}
