// What every Table Storage store shares: how a TableClient is made (connection string or identity), creating each
// table once per process, key escaping, and the narrow mapping of expected 404/409/412 responses.
//
// Tables (named `${TABLE_PREFIX}<name>`): backupPolicies (policies.ts), backupInstances (instances.ts, with the
// scheduler's ledger scheduledSlots in scheduled-slots.ts),
// recoveryPoints (recovery-points.ts), jobs (jobs.ts), auditLog (audit.ts); notificationChannels (channels.ts),
// notifications (notifications.ts: the event outbox and deliveries), instanceHealth (health.ts). Each store's file
// starts with its row layout.

import type { StorageConnection } from '../connection';
import {
  odata,
  RestError,
  TableClient,
  type TableEntityResult,
  type TableServiceClientOptions,
} from '@azure/data-tables';

export type TableName =
  | 'backupPolicies'
  | 'backupInstances'
  | 'recoveryPoints'
  | 'jobs'
  | 'auditLog'
  | 'notificationChannels'
  | 'notifications'
  | 'instanceHealth'
  | 'servers'
  | 'backupSlots'
  | 'scheduledSlots'
  // restore tests (issue 17)
  | 'restoreTestPlans'
  | 'restoreTests';

/** Gives each store its TableClient, creating the table on first use (once per process per table). */
export interface TableProvider {
  table(name: TableName): Promise<TableClient>;
}

const created = new Map<string, Promise<void>>();

/** `clientOptions` reach every TableClient (retry tuning; tests pass an httpClient to inject service errors). */
export function createTableProvider(
  connection: StorageConnection,
  prefix: string,
  clientOptions: TableServiceClientOptions = {},
): TableProvider {
  const clients = new Map<TableName, TableClient>();
  const clientFor = (name: TableName): TableClient => {
    let client = clients.get(name);
    if (!client) {
      const tableName = `${prefix}${name}`;
      client =
        connection.kind === 'connectionString'
          ? TableClient.fromConnectionString(connection.connectionString, tableName, {
              // Azurite (and only Azurite) speaks plain http; the SDK refuses shared-key over http without this.
              allowInsecureConnection: isDevelopmentConnection(connection.connectionString),
              ...clientOptions,
            })
          : new TableClient(connection.endpoint, tableName, connection.credential, clientOptions);
      clients.set(name, client);
    }
    return client;
  };
  return {
    async table(name) {
      const client = clientFor(name);
      const key = `${client.url}|${client.tableName}`;
      let done = created.get(key);
      if (!done) {
        // createTable ignores "already exists"; a failed attempt is forgotten so the next call tries again.
        done = client.createTable().catch((err: unknown) => {
          created.delete(key);
          throw err;
        });
        created.set(key, done);
      }
      await done;
      return client;
    },
  };
}

export function isDevelopmentConnection(connectionString: string): boolean {
  return /UseDevelopmentStorage=true/i.test(connectionString) || /Endpoint=http:\/\//i.test(connectionString);
}

/** The response status of a service error, or undefined for anything else (network, programming errors). */
/** The most operations one Table transaction (entity group, one partition) may hold. */
export const TRANSACTION_ROWS = 100;

export function statusOf(err: unknown): number | undefined {
  return err instanceof RestError ? err.statusCode : undefined;
}

/** Runs `op`, turning a 404 into `undefined`; everything else is rethrown. */
export async function unless404<T>(op: () => Promise<T>): Promise<T | undefined> {
  try {
    return await op();
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

/**
 * get, list and delete of the rows of one partition keyed by their (escaped) name: the part every store of named
 * resources shares (policies, notification channels, restore-test plans, servers); each adds its own create/update.
 */
export function namedRows<T>(client: () => Promise<TableClient>, partition: string, read: (row: Row) => T) {
  return {
    async get(name: string): Promise<T | undefined> {
      const c = await client();
      const row = await unless404(() => c.getEntity<Record<string, unknown>>(partition, escapeKey(name)));
      return row && read(row);
    },
    async *list(): AsyncIterable<T> {
      const rows = (await client()).listEntities<Record<string, unknown>>({
        queryOptions: { filter: odata`PartitionKey eq ${partition}` },
      });
      for await (const row of rows) yield read(row);
    },
    async delete(name: string): Promise<void> {
      const c = await client();
      await unless404(() => c.deleteEntity(partition, escapeKey(name)));
    },
  };
}

/**
 * Escapes a value for use in PartitionKey/RowKey, which may not contain / \ # ? or control characters.
 * Percent-encoding (with % itself escaped) keeps it reversible and keeps plain names unchanged and readable.
 */
export function escapeKey(value: string): string {
  return value.replace(
    // eslint-disable-next-line no-control-regex
    /[%/\\#?\u0000-\u001f\u007f-\u009f]/g,
    (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/** Table rows as read back: our own properties plus the system ones. */
export type Row = TableEntityResult<Record<string, unknown>>;

export function str(row: Row, name: string): string {
  const v = row[name];
  if (typeof v !== 'string') throw new Error(`table row ${row.partitionKey}/${row.rowKey} lacks ${name}`);
  return v;
}

export function optStr(row: Row, name: string): string | undefined {
  const v = row[name];
  return typeof v === 'string' ? v : undefined;
}

export function optBool(row: Row, name: string): boolean | undefined {
  const v = row[name];
  return typeof v === 'boolean' ? v : undefined;
}

/** Byte counts go in as Int64 so values above 2^31 keep their type; they come back as bigint. */
export function int64(n: number): bigint {
  return BigInt(Math.trunc(n));
}

export function num(row: Row, name: string): number {
  const v = row[name];
  if (typeof v === 'bigint' || typeof v === 'number') return Number(v);
  throw new Error(`table row ${row.partitionKey}/${row.rowKey} lacks ${name}`);
}

export function optJson<T>(row: Row, name: string): T | undefined {
  const v = row[name];
  return typeof v === 'string' ? (JSON.parse(v) as T) : undefined;
}

export function etagOf(row: Row): string {
  if (!row.etag) throw new Error('table row without etag');
  return row.etag;
}

/** Drops undefined values: a Replace then removes the property, a Merge leaves it alone. */
export function defined(props: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(props).filter(([, v]) => v !== undefined));
}

/** Epoch ms inverted into 13 digits so that newer times sort first (the same form recoveryPointId uses). */
const MAX_MS = 9_999_999_999_999;

export function invertedMs(ms: number): string {
  return String(MAX_MS - ms).padStart(13, '0');
}

/**
 * RowKey bounds that select `fromMs <= t < toMs` among keys starting with invertedMs(t): `ge`/`lt` for an OData
 * filter (undefined = unbounded), or 'empty' when nothing can match.
 */
export function invertedRange(fromMs?: number, toMs?: number): { ge?: string; lt?: string } | 'empty' {
  const range: { ge?: string; lt?: string } = {};
  if (fromMs !== undefined) {
    const inv = MAX_MS - fromMs; // keep inv(t) <= inv
    if (inv < 0) return 'empty';
    if (inv < MAX_MS) range.lt = String(inv + 1).padStart(13, '0');
  }
  if (toMs !== undefined) {
    const inv = MAX_MS - toMs; // keep inv(t) > inv
    if (inv >= MAX_MS) return 'empty';
    if (inv >= 0) range.ge = String(inv + 1).padStart(13, '0');
  }
  return range;
}

/** ` and RowKey ge … and RowKey lt …` for a range, built with the odata tag. */
export function rowKeyRangeFilter(range: { ge?: string; lt?: string }): string {
  return (
    (range.ge !== undefined ? odata` and RowKey ge ${range.ge}` : '') +
    (range.lt !== undefined ? odata` and RowKey lt ${range.lt}` : '')
  );
}

const DAY_MS = 86_400_000;

/** The partition of rows kept by day, newest day first: "t:<999999 − days since epoch, 6 digits>". */
export function dayPartition(ms: number): string {
  return `t:${String(999_999 - Math.floor(Math.max(0, ms) / DAY_MS)).padStart(6, '0')}`;
}

/**
 * The OData filter selecting rows keyed by (dayPartition(t), invertedMs(t)-…) with `fromMs <= t < toMs`: one range
 * query over the day partitions of the window, newest first; undefined when nothing can match.
 */
export function dayRangeFilter(fromMs: number, toMs: number | undefined): string | undefined {
  const range = invertedRange(fromMs, toMs);
  if (range === 'empty') return undefined;
  // Day partitions are inverted: the newest day in the window is the lowest key.
  const newestDay = toMs === undefined ? 't:' : dayPartition(toMs - 1);
  return odata`PartitionKey ge ${newestDay} and PartitionKey le ${dayPartition(fromMs)}` + rowKeyRangeFilter(range);
}
