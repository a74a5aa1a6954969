// Keeps Durable state in Azure Storage (Azurite locally) so a restarted devhost resumes in-flight orchestrations:
// one blob per instance (history + bookkeeping), one table row per instance (for status queries), and a work table
// holding every pending item (inbox messages, activities, timers, sub-orchestration starts) until it is done.
import { TableClient, TableServiceClient, type TableEntity } from '@azure/data-tables';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { InstanceState, InstanceSummary, WorkItem } from './types';

function isStatus(err: unknown, code: number): boolean {
  return typeof err === 'object' && err !== null && (err as { statusCode?: number }).statusCode === code;
}

/** Table keys may not contain / \ # ? — percent-encoding removes all of them and is reversible. */
export function toKey(s: string): string {
  return encodeURIComponent(s);
}

/** Table and container names derived from the task hub name (alphanumeric tables, lowercase containers). */
export function storageNames(hubName: string): { instances: string; work: string; container: string } {
  const base = hubName.replace(/[^A-Za-z0-9]/g, '') || 'TestHubName';
  const lower = base.toLowerCase().slice(0, 40);
  return { instances: `${base}DevInstances`, work: `${base}DevWork`, container: `${lower}-devhost-state` };
}

type Row = TableEntity<Record<string, unknown>>;

export class DurableStore {
  readonly #instances: TableClient;
  readonly #work: TableClient;
  readonly #container: ContainerClient;
  readonly #service: TableServiceClient;
  readonly #names: ReturnType<typeof storageNames>;

  constructor(connectionString: string, hubName: string) {
    this.#names = storageNames(hubName);
    const opts = { allowInsecureConnection: true };
    this.#service = TableServiceClient.fromConnectionString(connectionString, opts);
    this.#instances = TableClient.fromConnectionString(connectionString, this.#names.instances, opts);
    this.#work = TableClient.fromConnectionString(connectionString, this.#names.work, opts);
    this.#container = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(
      this.#names.container,
    );
  }

  async init(): Promise<void> {
    for (const t of [this.#names.instances, this.#names.work]) {
      try {
        await this.#service.createTable(t);
      } catch (err) {
        if (!isStatus(err, 409)) throw err;
      }
    }
    await this.#container.createIfNotExists();
  }

  /** Blob first, row second: the blob is the truth, the row never runs ahead of it. */
  async saveState(s: InstanceState): Promise<void> {
    const body = JSON.stringify(s);
    await this.#container
      .getBlockBlobClient(`${toKey(s.instanceId)}.json`)
      .upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: 'application/json' } });
    const summary = summarize(s);
    await this.#instances.upsertEntity(
      {
        partitionKey: toKey(s.instanceId),
        rowKey: '',
        summary: JSON.stringify(summary),
        status: summary.runtimeStatus,
        createdTime: summary.createdTime,
      },
      'Replace',
    );
  }

  async loadState(instanceId: string): Promise<InstanceState | undefined> {
    try {
      const buf = await this.#container.getBlockBlobClient(`${toKey(instanceId)}.json`).downloadToBuffer();
      return JSON.parse(buf.toString('utf8')) as InstanceState;
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  async listSummaries(): Promise<InstanceSummary[]> {
    const out: InstanceSummary[] = [];
    for await (const row of this.#instances.listEntities<Row>()) {
      if (typeof row.summary === 'string') out.push(JSON.parse(row.summary) as InstanceSummary);
    }
    return out;
  }

  async putWork(item: WorkItem): Promise<void> {
    await this.#work.upsertEntity(
      { partitionKey: toKey(item.instanceId), rowKey: toKey(item.key), data: JSON.stringify(item) },
      'Replace',
    );
  }

  async deleteWork(instanceId: string, key: string): Promise<void> {
    try {
      await this.#work.deleteEntity(toKey(instanceId), toKey(key));
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
  }

  async listWork(): Promise<WorkItem[]> {
    const out: WorkItem[] = [];
    for await (const row of this.#work.listEntities<Row>()) {
      if (typeof row.data === 'string') out.push(JSON.parse(row.data) as WorkItem);
    }
    return out;
  }

  async purge(instanceId: string, workKeys: string[]): Promise<void> {
    for (const k of workKeys) await this.deleteWork(instanceId, k);
    await this.#container.getBlockBlobClient(`${toKey(instanceId)}.json`).deleteIfExists();
    try {
      await this.#instances.deleteEntity(toKey(instanceId), '');
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
  }
}

export function summarize(s: InstanceState): InstanceSummary {
  return {
    name: s.name,
    instanceId: s.instanceId,
    runtimeStatus: s.status,
    input: s.input,
    customStatus: s.customStatus,
    output: s.output,
    createdTime: s.createdTime,
    lastUpdatedTime: s.lastUpdatedTime,
    executionId: s.executionId,
  };
}
