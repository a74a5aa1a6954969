// InstanceStore on Table Storage.
//
// Table `${prefix}backupInstances`, one partition (PartitionKey "instance") holding two kinds of rows, so that an
// instance and the claim on its datasource are created and deleted in ONE entity-group transaction:
//   RowKey "i:<escapeKey(name)>"  the instance: name, friendlyName, the dataSource fields flattened (resourceID,
//                                 resourceName, resourceLocation, datasourceType, objectType), policyName,
//                                 secretStoreType, secretUri, protectionState, deleteBackupDataOnStop,
//                                 activeBackupJobId, lastScheduledSlot, deletedAt, protectedSince, serverName,
//                                 datasourceMissingSince (issue 15), createdAt, updatedAt
//   RowKey "d:<sha256(lowercased resourceID)>"  the datasource claim: instanceName, resourceID. ARM ids are
//                                 case-insensitive, and hashing keeps any id within the key rules and length.
// A failed create is told apart by reading both rows: instance row present → ConcurrencyError, claim present →
// UserErrorDatasourceAlreadyProtected naming the other instance. update is a Replace with the caller's etag.
// The scheduler records its slots in a ledger beside this table (scheduled-slots.ts): get and list return the later
// of the row's lastScheduledSlot and the ledger's, and the ledger's pendingSlot.

import { createHash } from 'node:crypto';
import { odata, type TableClient, type TableEntity } from '@azure/data-tables';
import { PgkeepError } from '../../../errors';
import { createSlotLedger, withLedger } from './scheduled-slots';
import {
  ConcurrencyError,
  type InstanceRecord,
  type InstanceStore,
  type ProtectionState,
  type SecretReference,
  type Stored,
} from '../../../ports';
import {
  defined,
  escapeKey,
  etagOf,
  optBool,
  optStr,
  statusOf,
  str,
  unless404,
  type Row,
  type TableProvider,
} from './common';

const PARTITION = 'instance';
const MAX_ATTEMPTS = 5;

const instanceKey = (name: string) => `i:${escapeKey(name)}`;

/** The claim row key of a datasource; exported so the fake claims by the same identity rule. */
export function datasourceClaimKey(resourceID: string): string {
  return `d:${createHash('sha256').update(resourceID.toLowerCase()).digest('hex')}`;
}

export function toEntity(i: InstanceRecord): TableEntity {
  return {
    partitionKey: PARTITION,
    rowKey: instanceKey(i.name),
    ...defined({
      name: i.name,
      friendlyName: i.friendlyName,
      resourceID: i.dataSource.resourceID,
      resourceName: i.dataSource.resourceName,
      resourceLocation: i.dataSource.resourceLocation,
      datasourceType: i.dataSource.datasourceType,
      objectType: i.dataSource.objectType,
      policyName: i.policyName,
      secretStoreType: i.secret.secretStoreType,
      secretUri: i.secret.uri,
      protectionState: i.protectionState,
      deleteBackupDataOnStop: i.deleteBackupDataOnStop,
      activeBackupJobId: i.activeBackupJobId,
      lastScheduledSlot: i.lastScheduledSlot,
      deletedAt: i.deletedAt,
      protectedSince: i.protectedSince,
      serverName: i.serverName,
      datasourceMissingSince: i.datasourceMissingSince,
      createdAt: i.createdAt,
      updatedAt: i.updatedAt,
    }),
  };
}

function toStored(row: Row): Stored<InstanceRecord> {
  const resourceLocation = optStr(row, 'resourceLocation');
  const value: InstanceRecord = {
    name: str(row, 'name'),
    friendlyName: str(row, 'friendlyName'),
    dataSource: {
      resourceID: str(row, 'resourceID'),
      resourceName: str(row, 'resourceName'),
      ...(resourceLocation !== undefined && { resourceLocation }),
      datasourceType: str(row, 'datasourceType'),
      objectType: str(row, 'objectType'),
    },
    policyName: str(row, 'policyName'),
    secret: {
      secretStoreType: str(row, 'secretStoreType') as SecretReference['secretStoreType'],
      uri: str(row, 'secretUri'),
    },
    protectionState: str(row, 'protectionState') as ProtectionState,
    ...defined({
      deleteBackupDataOnStop: optBool(row, 'deleteBackupDataOnStop'),
      activeBackupJobId: optStr(row, 'activeBackupJobId'),
      lastScheduledSlot: optStr(row, 'lastScheduledSlot'),
      deletedAt: optStr(row, 'deletedAt'),
      protectedSince: optStr(row, 'protectedSince'),
      serverName: optStr(row, 'serverName'),
      datasourceMissingSince: optStr(row, 'datasourceMissingSince'),
    }),
    createdAt: str(row, 'createdAt'),
    updatedAt: str(row, 'updatedAt'),
  };
  return { value, etag: etagOf(row) };
}

export function datasourceAlreadyProtected(resourceID: string, otherInstance: string): PgkeepError {
  return new PgkeepError(
    'UserErrorDatasourceAlreadyProtected',
    `the datasource is already protected by backup instance ${otherInstance}`,
    { target: '$.properties.dataSourceInfo.resourceID' },
  );
}

export function resourceIdChanged(name: string): PgkeepError {
  return new PgkeepError('UserErrorInvalidRequest', `the datasource of backup instance ${name} cannot change`, {
    target: '$.properties.dataSourceInfo.resourceID',
    hint: 'create a new backup instance for the other database',
  });
}

const getRow = (c: TableClient, rowKey: string) =>
  unless404(() => c.getEntity<Record<string, unknown>>(PARTITION, rowKey));

export function createTableInstanceStore(tables: TableProvider): InstanceStore {
  const client = () => tables.table('backupInstances');
  const ledger = createSlotLedger(tables);
  return {
    async create(instance) {
      const c = await client();
      const claimKey = datasourceClaimKey(instance.dataSource.resourceID);
      const claim: TableEntity = {
        partitionKey: PARTITION,
        rowKey: claimKey,
        instanceName: instance.name,
        resourceID: instance.dataSource.resourceID,
      };
      for (let attempt = 1; ; attempt++) {
        try {
          await c.submitTransaction([
            ['create', toEntity(instance)],
            ['create', claim],
          ]);
          return;
        } catch (err) {
          if (statusOf(err) !== 409) throw err;
        }
        if (await getRow(c, instanceKey(instance.name))) {
          throw new ConcurrencyError(`backup instance ${instance.name} already exists`);
        }
        const owner = await getRow(c, claimKey);
        if (owner) throw datasourceAlreadyProtected(instance.dataSource.resourceID, str(owner, 'instanceName'));
        // Both conflicting rows vanished between the attempt and the reads (a concurrent delete): try again.
        if (attempt >= MAX_ATTEMPTS) throw new ConcurrencyError(`backup instance ${instance.name} keeps changing`);
      }
    },

    async get(name) {
      const c = await client();
      const [row, entry] = await Promise.all([getRow(c, instanceKey(name)), ledger.get(name)]);
      if (!row) return undefined;
      const stored = toStored(row);
      return { ...stored, value: withLedger(stored.value, entry) };
    },

    async *list() {
      const c = await client();
      // The ledger's listing runs while the first page of instances is fetched.
      const ledgerEntries = ledger.all();
      ledgerEntries.catch(() => undefined);
      const rows = c.listEntities<Record<string, unknown>>({
        queryOptions: { filter: odata`PartitionKey eq ${PARTITION} and RowKey ge ${'i:'} and RowKey lt ${'i;'}` },
      });
      for await (const row of rows) {
        const stored = toStored(row);
        yield { ...stored, value: withLedger(stored.value, (await ledgerEntries).get(stored.value.name)) };
      }
    },

    async update(instance, etag) {
      const c = await client();
      const current = await getRow(c, instanceKey(instance.name));
      // The etag itself is checked by the service (If-Match); this read only guards the immutable datasource.
      if (!current) throw new ConcurrencyError(`backup instance ${instance.name} was deleted since it was read`);
      if (str(current, 'resourceID').toLowerCase() !== instance.dataSource.resourceID.toLowerCase()) {
        throw resourceIdChanged(instance.name);
      }
      try {
        const res = await c.updateEntity(toEntity(instance), 'Replace', { etag });
        if (!res.etag) throw new Error('update without etag');
        return res.etag;
      } catch (err) {
        const status = statusOf(err);
        if (status === 412 || status === 404) {
          throw new ConcurrencyError(`backup instance ${instance.name} changed since it was read`);
        }
        throw err;
      }
    },

    markSlotsPending(entries) {
      return ledger.record('pending', entries);
    },

    recordSlots(entries) {
      return ledger.record('slot', entries);
    },

    async delete(name) {
      const c = await client();
      for (let attempt = 1; ; attempt++) {
        const row = await getRow(c, instanceKey(name));
        if (!row) return;
        const claimKey = datasourceClaimKey(str(row, 'resourceID'));
        try {
          await c.submitTransaction([
            ['delete', { partitionKey: PARTITION, rowKey: instanceKey(name) }],
            ['delete', { partitionKey: PARTITION, rowKey: claimKey }],
          ]);
          await ledger.delete(name);
          return;
        } catch (err) {
          if (statusOf(err) !== 404 || attempt >= MAX_ATTEMPTS) throw err;
        }
        const claim = await getRow(c, claimKey);
        if (!claim || str(claim, 'instanceName') !== name) {
          // An instance row without its claim (written by hand or an older version): remove the row alone, but only
          // the version we read, so a re-created instance of the same name is left intact.
          try {
            await c.deleteEntity(PARTITION, instanceKey(name), { etag: etagOf(row) });
            await ledger.delete(name);
            return;
          } catch (err) {
            if (statusOf(err) !== 404 && statusOf(err) !== 412) throw err;
          }
        }
      }
    },
  };
}
