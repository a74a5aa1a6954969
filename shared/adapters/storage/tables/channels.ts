// ChannelStore on Table Storage.
//
// Table `${prefix}notificationChannels`, one partition (PartitionKey "channel"): a vault has at most a few dozen.
//   RowKey = escapeKey(name); kind; endpointSecretType + endpointSecretUri (a secret reference) or endpointUrl (a
//   plain URL, which is a credential for Teams and Slack: never returned by the API); signingSecretType +
//   signingSecretUri; events and backupInstances as JSON (backupInstances absent = every instance); createdAt,
//   updatedAt. put is an upsert (Replace).

import type { EventName } from '../../../contracts/events';
import type { ChannelKind, ChannelRecord, ChannelStore, SecretReference } from '../../../ports';
import { defined, escapeKey, optJson, optStr, str, type Row, type TableProvider, namedRows } from './common';

const PARTITION = 'channel';

function secretOf(row: Row, prefix: string): SecretReference | undefined {
  const type = optStr(row, `${prefix}SecretType`);
  const uri = optStr(row, `${prefix}SecretUri`);
  return type && uri ? { secretStoreType: type as SecretReference['secretStoreType'], uri } : undefined;
}

function toRecord(row: Row): ChannelRecord {
  const secret = secretOf(row, 'endpoint');
  const signingSecret = secretOf(row, 'signing');
  const backupInstances = optJson<string[]>(row, 'backupInstances');
  return {
    name: str(row, 'name'),
    kind: str(row, 'kind') as ChannelKind,
    endpoint: secret ? { secret } : { url: str(row, 'endpointUrl') },
    ...(signingSecret ? { signingSecret } : {}),
    events: optJson<EventName[]>(row, 'events') ?? [],
    ...(backupInstances ? { backupInstances } : {}),
    createdAt: str(row, 'createdAt'),
    updatedAt: str(row, 'updatedAt'),
  };
}

export function createTableChannelStore(tables: TableProvider): ChannelStore {
  const client = () => tables.table('notificationChannels');
  return {
    ...namedRows(client, PARTITION, toRecord),
    async put(c) {
      const endpoint = 'secret' in c.endpoint ? c.endpoint.secret : undefined;
      await (
        await client()
      ).upsertEntity(
        {
          partitionKey: PARTITION,
          rowKey: escapeKey(c.name),
          ...defined({
            name: c.name,
            kind: c.kind,
            endpointSecretType: endpoint?.secretStoreType,
            endpointSecretUri: endpoint?.uri,
            endpointUrl: 'url' in c.endpoint ? c.endpoint.url : undefined,
            signingSecretType: c.signingSecret?.secretStoreType,
            signingSecretUri: c.signingSecret?.uri,
            events: JSON.stringify(c.events),
            backupInstances: c.backupInstances && JSON.stringify(c.backupInstances),
            createdAt: c.createdAt,
            updatedAt: c.updatedAt,
          }),
        },
        'Replace',
      );
    },
  };
}
