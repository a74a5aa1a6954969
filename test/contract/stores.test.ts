// Runs the state-store contract against the Table Storage adapters on Azurite and against the in-memory fakes, and
// the vault blob store contract against Azurite.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe } from 'vitest';
import { createTableProvider } from '../../shared/adapters/tables/common';
import { createTableInstanceStore } from '../../shared/adapters/tables/instances';
import { createTableJobStore } from '../../shared/adapters/tables/jobs';
import { createTablePolicyStore } from '../../shared/adapters/tables/policies';
import { createTableRecoveryPointStore } from '../../shared/adapters/tables/recovery-points';
import { createVaultBlobStore } from '../../shared/adapters/vault-blobs';
import { createFakeStores } from '../support/fake-stores';
import { startAzurite, type AzuriteInstance } from '../support/azurite';
import { describeStateStoreContract, describeVaultBlobContract } from './stores.contract';

/** A fresh name per test, so every test starts from empty tables / an empty container. */
const unique = (prefix: string) => `${prefix}${randomBytes(6).toString('hex')}`;

describe('on Azurite', () => {
  let azurite: AzuriteInstance | undefined;
  beforeAll(async () => {
    azurite = await startAzurite();
  });
  afterAll(async () => {
    await azurite?.stop();
  });
  const connection = () => {
    if (!azurite) throw new Error('azurite did not start');
    return { kind: 'connectionString', connectionString: azurite.connectionString } as const;
  };

  describeStateStoreContract('Table Storage', (clock) => {
    const tables = createTableProvider(connection(), unique('t'));
    return Promise.resolve({
      policies: createTablePolicyStore(tables),
      instances: createTableInstanceStore(tables),
      recoveryPoints: createTableRecoveryPointStore(tables),
      jobs: createTableJobStore(tables, clock),
    });
  });

  describeVaultBlobContract('Blob Storage', () => Promise.resolve(createVaultBlobStore(connection(), unique('c'))));
});

describeStateStoreContract('in-memory fakes', (clock) => Promise.resolve(createFakeStores(clock)));
