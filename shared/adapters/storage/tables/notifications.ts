// OutboxStore on Table Storage: the event outbox and its deliveries.
//
// Table `${prefix}notifications`, one partition (PartitionKey "outbox") so that an event and its deliveries are
// written in ONE entity-group transaction:
//   RowKey "e:<event id>"                              the event was raised: event (JSON), createdAt. Its create in
//                                                      the transaction makes a second add of the same id fail whole
//   RowKey "p:<event id>.<channel>"                    a Pending delivery: event (JSON), channel, status, attempts,
//                                                      createdAt, nextAttemptAt, leaseUntil, lastAttemptAt,
//                                                      lastHttpStatus, lastError
//   RowKey "x:<13-digit inverted finishedAt ms>:<id>"  a finished delivery (Delivered/Failed), newest first
// The pending set is one RowKey range the worker reads each tick; finished rows sort newest first and the oldest are
// pruned by a range. finish is: a conditional Merge of the final status on the pending row (proves the caller still
// holds it), then one transaction deleting it and creating the finished row. A crash between the two leaves a
// pending row whose status is already final: listPending reports it as is and the worker completes the move.

import { odata, type TableEntity } from '@azure/data-tables';
import {
  ConcurrencyError,
  type DeliveryRecord,
  type DeliveryStatus,
  type EventRecord,
  type OutboxStore,
  type Stored,
} from '../../../ports';
import {
  defined,
  etagOf,
  invertedMs,
  num,
  optStr,
  statusOf,
  str,
  TRANSACTION_ROWS,
  unless404,
  type Row,
  type TableProvider,
} from './common';
import { smallJson } from './rules';

const PARTITION = 'outbox';
const eventKey = (id: string) => `e:${id}`;
const pendingKey = (id: string) => `p:${id}`;
const finishedKey = (d: DeliveryRecord) => `x:${invertedMs(Date.parse(d.finishedAt ?? d.createdAt))}:${d.id}`;
const range = (prefix: string) =>
  odata`PartitionKey eq ${PARTITION} and RowKey ge ${`${prefix}:`} and RowKey lt ${`${prefix};`}`;

function toEntity(rowKey: string, d: DeliveryRecord): TableEntity {
  return {
    partitionKey: PARTITION,
    rowKey,
    ...defined({
      id: d.id,
      event: smallJson(d.event, 'event'),
      channel: d.channel,
      status: d.status,
      attempts: d.attempts,
      createdAt: d.createdAt,
      nextAttemptAt: d.nextAttemptAt,
      leaseUntil: d.leaseUntil,
      lastAttemptAt: d.lastAttemptAt,
      lastHttpStatus: d.lastHttpStatus,
      lastError: d.lastError,
      finishedAt: d.finishedAt,
    }),
  };
}

function toRecord(row: Row): DeliveryRecord {
  const lastHttpStatus = row['lastHttpStatus'];
  return {
    id: str(row, 'id'),
    event: JSON.parse(str(row, 'event')) as EventRecord,
    channel: str(row, 'channel'),
    status: str(row, 'status') as DeliveryStatus,
    attempts: num(row, 'attempts'),
    createdAt: str(row, 'createdAt'),
    nextAttemptAt: str(row, 'nextAttemptAt'),
    ...defined({
      leaseUntil: optStr(row, 'leaseUntil'),
      lastAttemptAt: optStr(row, 'lastAttemptAt'),
      lastHttpStatus: typeof lastHttpStatus === 'number' ? lastHttpStatus : undefined,
      lastError: optStr(row, 'lastError'),
      finishedAt: optStr(row, 'finishedAt'),
    }),
  };
}

const changed = (d: DeliveryRecord) => new ConcurrencyError(`delivery ${d.id} changed since it was read`);

export function createTableOutboxStore(tables: TableProvider): OutboxStore {
  const client = () => tables.table('notifications');

  /** Deletes rows in transactions of up to 100 (one partition); rows already gone are skipped. */
  async function deleteRows(keys: string[]): Promise<number> {
    const c = await client();
    let deleted = 0;
    for (let i = 0; i < keys.length; i += TRANSACTION_ROWS) {
      const chunk = keys.slice(i, i + TRANSACTION_ROWS);
      try {
        await c.submitTransaction(chunk.map((rowKey) => ['delete', { partitionKey: PARTITION, rowKey }]));
        deleted += chunk.length;
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
        for (const rowKey of chunk) if (await unless404(() => c.deleteEntity(PARTITION, rowKey))) deleted++;
      }
    }
    return deleted;
  }

  return {
    async add(event, channels, createdAt) {
      const c = await client();
      const deliveries: DeliveryRecord[] = channels.map((channel) => ({
        id: `${event.id}.${channel}`,
        event,
        channel,
        status: 'Pending',
        attempts: 0,
        createdAt,
        nextAttemptAt: createdAt,
      }));
      try {
        await c.submitTransaction([
          [
            'create',
            { partitionKey: PARTITION, rowKey: eventKey(event.id), event: smallJson(event, 'event'), createdAt },
          ],
          ...deliveries.map((d): ['create', TableEntity] => ['create', toEntity(pendingKey(d.id), d)]),
        ]);
        return true;
      } catch (err) {
        if (statusOf(err) === 409) return false;
        throw err;
      }
    },

    async getEvent(id) {
      const c = await client();
      const row = await unless404(() => c.getEntity<Record<string, unknown>>(PARTITION, eventKey(id)));
      return row && (JSON.parse(str(row, 'event')) as EventRecord);
    },

    async *listPending() {
      const c = await client();
      for await (const row of c.listEntities<Record<string, unknown>>({ queryOptions: { filter: range('p') } })) {
        yield { value: toRecord(row), etag: etagOf(row) } satisfies Stored<DeliveryRecord>;
      }
    },

    async *listFinished(options = {}) {
      let filter = range('x');
      if (options.status !== undefined) filter += odata` and status eq ${options.status}`;
      const c = await client();
      for await (const row of c.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
        yield toRecord(row);
      }
    },

    async update(d, etag) {
      const c = await client();
      try {
        const res = await c.updateEntity(toEntity(pendingKey(d.id), d), 'Replace', { etag });
        if (!res.etag) throw new Error('update without etag');
        return res.etag;
      } catch (err) {
        const status = statusOf(err);
        if (status === 412 || status === 404) throw changed(d);
        throw err;
      }
    },

    async finish(d, etag) {
      const c = await client();
      // Transactions cannot make a delete conditional: a conditional write first proves the row is still ours.
      try {
        await c.updateEntity(toEntity(pendingKey(d.id), d), 'Replace', { etag });
      } catch (err) {
        const status = statusOf(err);
        if (status === 412 || status === 404) throw changed(d);
        throw err;
      }
      try {
        await c.submitTransaction([
          ['delete', { partitionKey: PARTITION, rowKey: pendingKey(d.id) }],
          ['create', toEntity(finishedKey(d), d)],
        ]);
      } catch (err) {
        // Gone meanwhile (a second finisher of a row left half-moved): the move is done.
        if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err;
      }
    },

    async prune(beforeIso) {
      const c = await client();
      const cutoff = `x:${invertedMs(Date.parse(beforeIso))}`;
      const old: string[] = [];
      // Finished rows older than the cutoff have larger keys (inverted time): one range.
      for await (const row of c.listEntities<Record<string, unknown>>({
        queryOptions: {
          filter: odata`PartitionKey eq ${PARTITION} and RowKey gt ${cutoff} and RowKey lt ${'x;'}`,
          select: ['RowKey'],
        },
      })) {
        if (row.rowKey !== undefined) old.push(row.rowKey);
      }
      for await (const row of c.listEntities<Record<string, unknown>>({
        queryOptions: { filter: range('e') + odata` and createdAt lt ${beforeIso}`, select: ['RowKey'] },
      })) {
        if (row.rowKey !== undefined) old.push(row.rowKey);
      }
      return deleteRows(old);
    },
  };
}
