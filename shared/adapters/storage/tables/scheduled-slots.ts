// The scheduler's ledger of started slots, beside the instance rows (read and written by instances.ts only).
//
// Table `${prefix}scheduledSlots`, one row per instance the scheduler has started a slot for:
//   PartitionKey "s<0-f>"  one of 16 buckets, the first hex digit of sha256(name)
//   RowKey escapeKey(name)  name; slot = the latest slot started (ISO UTC); pending = the slot a tick marked before
//                           starting it (a tick that finds pending = its slot not yet recorded asks whether the
//                           orchestration exists; every other due slot is started without that read)
// Why not a property of the instance row: every instance and every datasource claim share the instance table's one
// partition (they are created in one transaction), so a tick's 2,000 slot writes would all land in that partition —
// a hot spot for Table Storage's per-partition throughput (~2,000 entities/s) and, on Azurite, a write whose cost
// grows with the partition (13 s for 2,000 rows among 20,000 here). Spread over 16 partitions they are 16+ small
// transactions. An instance's lastScheduledSlot is the later of this row and the instance row's own field (which
// creation, resumeProtection and the watchdog's recordSlot still write), so neither writer can move it back.

import { createHash } from 'node:crypto';
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { mapLimited } from '../../../domain/limited';
import { escapeKey, optStr, str, TRANSACTION_ROWS, unless404, type Row, type TableProvider } from './common';

const BUCKETS = 16;
/** Transactions in flight at once when recording a tick's slots. */
const CONCURRENT_TRANSACTIONS = 4;

const bucketOf = (name: string) => `s${(createHash('sha256').update(name).digest()[0]! % BUCKETS).toString(16)}`;

/** The later of two optional ISO instants. */
export function laterSlot(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

/** What the ledger holds of one instance. */
export interface LedgerEntry {
  readonly slot?: string;
  readonly pending?: string;
}

export interface SlotLedger {
  get(name: string): Promise<LedgerEntry | undefined>;
  /** Every entry by instance name (one listing of the table). */
  all(): Promise<Map<string, LedgerEntry>>;
  /**
   * Sets `slot` (started) or `pending` (about to start) of many instances, merging into their rows: a Table
   * transaction per bucket and 100 rows, a few at once. Returns the names whose transaction failed.
   */
  record(field: keyof LedgerEntry, entries: readonly { name: string; slot: string }[]): Promise<string[]>;
  delete(name: string): Promise<void>;
}

const entryOf = (row: Row): LedgerEntry => {
  const slot = optStr(row, 'slot');
  const pending = optStr(row, 'pending');
  return { ...(slot !== undefined && { slot }), ...(pending !== undefined && { pending }) };
};

export function createSlotLedger(tables: TableProvider): SlotLedger {
  const client = (): Promise<TableClient> => tables.table('scheduledSlots');
  return {
    async get(name) {
      const c = await client();
      const row = await unless404(() => c.getEntity<Record<string, unknown>>(bucketOf(name), escapeKey(name)));
      return row && entryOf(row);
    },

    async all() {
      const c = await client();
      const entries = new Map<string, LedgerEntry>();
      const rows = c.listEntities<Record<string, unknown>>({ queryOptions: { select: ['name', 'slot', 'pending'] } });
      for await (const row of rows) entries.set(str(row, 'name'), entryOf(row));
      return entries;
    },

    async record(field, entries) {
      const c = await client();
      const byBucket = new Map<string, { name: string; slot: string }[]>();
      for (const e of entries) {
        const bucket = bucketOf(e.name);
        const rows = byBucket.get(bucket);
        if (rows) rows.push(e);
        else byBucket.set(bucket, [e]);
      }
      const transactions: { bucket: string; rows: { name: string; slot: string }[] }[] = [];
      for (const [bucket, rows] of byBucket) {
        for (let i = 0; i < rows.length; i += TRANSACTION_ROWS) {
          transactions.push({ bucket, rows: rows.slice(i, i + TRANSACTION_ROWS) });
        }
      }
      const failed = await mapLimited(transactions, CONCURRENT_TRANSACTIONS, async ({ bucket, rows }) => {
        try {
          await c.submitTransaction(
            rows.map((r): TransactionAction => [
              'upsert',
              { partitionKey: bucket, rowKey: escapeKey(r.name), name: r.name, [field]: r.slot },
              'Merge',
            ]),
          );
          return [];
        } catch {
          return rows.map((r) => r.name);
        }
      });
      return failed.flat();
    },

    async delete(name) {
      const c = await client();
      await unless404(() => c.deleteEntity(bucketOf(name), escapeKey(name)));
    },
  };
}

/** An instance as read: with the ledger's slot when it is the later one, and the ledger's pending slot. */
export function withLedger<T extends { lastScheduledSlot?: string; pendingSlot?: string }>(
  value: T,
  entry: LedgerEntry | undefined,
): T {
  const slot = laterSlot(value.lastScheduledSlot, entry?.slot);
  return {
    ...value,
    ...(slot !== undefined && { lastScheduledSlot: slot }),
    ...(entry?.pending !== undefined && { pendingSlot: entry.pending }),
  };
}
