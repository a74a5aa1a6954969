// Storage clients for a binding's `connection` app setting (default AzureWebJobsStorage), one per connection.
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';

const queueClients = new Map<string, QueueServiceClient>();
const blobClients = new Map<string, BlobServiceClient>();

/** The connection string behind a binding's `connection` setting; identity-based connections are not emulated. */
export function connectionStringFor(connection: unknown, env: NodeJS.ProcessEnv = process.env): string {
  const name = typeof connection === 'string' && connection !== '' ? connection : 'AzureWebJobsStorage';
  const value = env[name] ?? env[`AzureWebJobs${name}`] ?? env[`ConnectionStrings:${name}`];
  if (value === undefined || value === '') {
    const identity = Object.keys(env).some((k) => k.startsWith(`${name}__`));
    throw new Error(
      identity
        ? `connection "${name}" is identity-based (${name}__...); devhost needs a connection string for it`
        : `connection setting "${name}" is not set`,
    );
  }
  return value;
}

export function queueService(connection: unknown): QueueServiceClient {
  const cs = connectionStringFor(connection);
  let client = queueClients.get(cs);
  if (!client) {
    client = QueueServiceClient.fromConnectionString(cs);
    queueClients.set(cs, client);
  }
  return client;
}

export function blobService(connection: unknown): BlobServiceClient {
  const cs = connectionStringFor(connection);
  let client = blobClients.get(cs);
  if (!client) {
    client = BlobServiceClient.fromConnectionString(cs);
    blobClients.set(cs, client);
  }
  return client;
}

/** Queue names are lowercase in Storage; the host lower-cases binding values the same way. */
export function normaliseQueueName(name: string): string {
  return name.toLowerCase();
}
