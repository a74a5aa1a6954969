// RestoreTestPlanStore on Table Storage.
//
// Table `${prefix}restoreTestPlans`, one partition (PartitionKey "plan"): a vault holds tens of plans.
//   RowKey            = escapeKey(name)
//   properties        = the validated plan JSON as a string (contracts/restore-tests.ts; well under 64 KiB: at most
//                       500 instances and 20 assertions of 4000 characters each per instance are refused above 60 KiB)
//   createdAt, updatedAt, lastScheduledSlot = ISO strings

import { PgkeepError } from '../../../errors';
import { ConcurrencyError, type RestoreTestPlanRecord, type RestoreTestPlanStore, type Stored } from '../../../ports';
import type { RestoreTestPlanProperties } from '../../../contracts/restore-tests';
import { defined, escapeKey, etagOf, optStr, statusOf, str, type Row, type TableProvider, namedRows } from './common';

const PARTITION = 'plan';
const MAX_PROPERTIES_CHARS = 30 * 1024;

function toEntity(plan: RestoreTestPlanRecord) {
  const properties = JSON.stringify(plan.properties);
  // Table Storage counts UTF-16: 30 Ki characters stay under its 64 KiB per property.
  if (properties.length > MAX_PROPERTIES_CHARS) {
    throw new PgkeepError('UserErrorInvalidRequest', `restore-test plan '${plan.name}' is too large to store`, {
      target: '$.properties',
      hint: 'split it into several plans, or select instances by policy or server instead of listing them',
    });
  }
  return {
    partitionKey: PARTITION,
    rowKey: escapeKey(plan.name),
    ...defined({
      name: plan.name,
      properties,
      createdAt: plan.createdAt,
      updatedAt: plan.updatedAt,
      lastScheduledSlot: plan.lastScheduledSlot,
    }),
  };
}

function toStored(row: Row): Stored<RestoreTestPlanRecord> {
  const lastScheduledSlot = optStr(row, 'lastScheduledSlot');
  return {
    value: {
      name: str(row, 'name'),
      properties: JSON.parse(str(row, 'properties')) as RestoreTestPlanProperties,
      createdAt: str(row, 'createdAt'),
      updatedAt: str(row, 'updatedAt'),
      ...(lastScheduledSlot !== undefined ? { lastScheduledSlot } : {}),
    },
    etag: etagOf(row),
  };
}

export function createTableRestoreTestPlanStore(tables: TableProvider): RestoreTestPlanStore {
  const client = () => tables.table('restoreTestPlans');
  return {
    ...namedRows(client, PARTITION, toStored),
    async create(plan) {
      try {
        await (await client()).createEntity(toEntity(plan));
      } catch (err) {
        if (statusOf(err) === 409) throw new ConcurrencyError(`restore-test plan ${plan.name} already exists`);
        throw err;
      }
    },

    async update(plan, etag) {
      try {
        const res = await (await client()).updateEntity(toEntity(plan), 'Replace', { etag });
        if (!res.etag) throw new Error('update without etag');
        return res.etag;
      } catch (err) {
        const status = statusOf(err);
        if (status === 412 || status === 404) {
          throw new ConcurrencyError(`restore-test plan ${plan.name} changed since it was read`);
        }
        throw err;
      }
    },
  };
}
