// Runs the alert-store contract against the Table Storage adapters on Azurite and against the in-memory fakes.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe } from 'vitest';
import { createTableProvider } from '../../shared/adapters/storage/tables/common';
import { createTableChannelStore } from '../../shared/adapters/storage/tables/channels';
import { createTableHealthStore } from '../../shared/adapters/storage/tables/health';
import { createTableOutboxStore } from '../../shared/adapters/storage/tables/notifications';
import { startAzurite, type AzuriteInstance } from '../support/azurite';
import { createFakeAlertStores } from '../support/fake-alert-stores';
import { describeAlertStoreContract } from './alert-stores.contract';

describe('on Azurite', () => {
  let azurite: AzuriteInstance | undefined;
  beforeAll(async () => {
    azurite = await startAzurite();
  });
  afterAll(async () => {
    await azurite?.stop();
  });
  describeAlertStoreContract('Table Storage', () => {
    if (!azurite) throw new Error('azurite did not start');
    const tables = createTableProvider(
      { kind: 'connectionString', connectionString: azurite.connectionString },
      `t${randomBytes(6).toString('hex')}`,
    );
    return Promise.resolve({
      outbox: createTableOutboxStore(tables),
      channels: createTableChannelStore(tables),
      health: createTableHealthStore(tables),
    });
  });
});

describeAlertStoreContract('in-memory fakes', () => Promise.resolve(createFakeAlertStores()));
