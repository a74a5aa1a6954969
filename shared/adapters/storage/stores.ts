// Composition helper: builds the state stores and the vault blob store from the settings, choosing between a
// connection string (locally, Azurite) and an identity-based connection (Azure, VAULT_STORAGE__accountName).

import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { Config } from '../../config';
import { PgkeepError } from '../../errors';
import {
  systemClock,
  type AuditLogStore,
  type ChannelStore,
  type Clock,
  type HealthStore,
  type InstanceStore,
  type OutboxStore,
  type JobStore,
  type PolicyStore,
  type RecoveryPointStore,
  type RestoreTestHistoryStore,
  type RestoreTestPlanStore,
  type ServerStore,
  type SlotStore,
  type VaultBlobStore,
} from '../../ports';
import type { StorageConnection } from './connection';
import { createTableProvider, type TableProvider } from './tables/common';
import { createTableChannelStore } from './tables/channels';
import { createTableHealthStore } from './tables/health';
import { createTableInstanceStore } from './tables/instances';
import { createTableOutboxStore } from './tables/notifications';
import { createTableJobStore } from './tables/jobs';
import { createTableAuditLogStore } from './tables/audit';
import { createTablePolicyStore } from './tables/policies';
import { createTableRecoveryPointStore } from './tables/recovery-points';
import { createTableRestoreTestPlanStore } from './tables/restore-test-plans';
import { createTableRestoreTestHistoryStore } from './tables/restore-tests';
import { createTableServerStore } from './tables/servers';
import { createTableSlotStore } from './tables/backup-slots';
import { createVaultBlobStore } from './vault-blobs';

export interface StateStores {
  readonly policies: PolicyStore;
  readonly instances: InstanceStore;
  readonly recoveryPoints: RecoveryPointStore;
  readonly jobs: JobStore;
  /** Append-only record of state-changing calls and restores (who, what, when, from where, outcome). */
  readonly auditLog: AuditLogStore;
  /** Fleets (issue 15): servers and the backup slots. */
  readonly servers: ServerStore;
  readonly slots: SlotStore;
}

/** The restore-test plans and history (issue 17), in the same account as the other state. */
export interface RestoreTestStores {
  readonly restoreTestPlans: RestoreTestPlanStore;
  readonly restoreTestHistory: RestoreTestHistoryStore;
}

/** The stores of issue 13: notification channels, the event outbox, the health the watchdog recorded. */
export interface AlertStores {
  readonly channels: ChannelStore;
  readonly outbox: OutboxStore;
  readonly health: HealthStore;
}

export interface Stores extends StateStores, RestoreTestStores {
  readonly blobs: VaultBlobStore;
  readonly alerts: AlertStores;
}

export interface CreateStoresOptions {
  readonly clock?: Clock;
  /** For VAULT_STORAGE__accountName; defaults to DefaultAzureCredential (the app's managed identity in Azure). */
  readonly credential?: TokenCredential;
}

type VaultConnection =
  | { readonly kind: 'connectionString'; readonly connectionString: string }
  | { readonly kind: 'identity'; readonly accountName: string };

/** VAULT_STORAGE, else VAULT_STORAGE__accountName, else AzureWebJobsStorage (design §11). */
export function vaultConnection(
  config: Pick<Config, 'VAULT_STORAGE' | 'VAULT_STORAGE__accountName' | 'AzureWebJobsStorage'>,
): VaultConnection {
  if (config.VAULT_STORAGE !== '') return { kind: 'connectionString', connectionString: config.VAULT_STORAGE };
  if (config.VAULT_STORAGE__accountName !== '') {
    return { kind: 'identity', accountName: config.VAULT_STORAGE__accountName };
  }
  if (config.AzureWebJobsStorage !== '') {
    return { kind: 'connectionString', connectionString: config.AzureWebJobsStorage };
  }
  throw new PgkeepError('UserErrorInvalidRequest', 'no vault storage account is configured', {
    target: 'VAULT_STORAGE',
    hint: 'set VAULT_STORAGE (a connection string), VAULT_STORAGE__accountName (identity-based) or AzureWebJobsStorage',
  });
}

type TableConfig = Pick<
  Config,
  'VAULT_STORAGE' | 'VAULT_STORAGE__accountName' | 'AzureWebJobsStorage' | 'TABLE_PREFIX'
>;

function vaultTables(config: TableConfig, options: CreateStoresOptions) {
  const conn = vaultConnection(config);
  const tableConn: StorageConnection =
    conn.kind === 'connectionString'
      ? conn
      : {
          kind: 'identity',
          endpoint: `https://${conn.accountName}.table.core.windows.net`,
          credential: options.credential ?? new DefaultAzureCredential(),
        };
  return createTableProvider(tableConn, config.TABLE_PREFIX);
}

export function createRestoreTestStores(config: TableConfig, options: CreateStoresOptions = {}): RestoreTestStores {
  const tables = vaultTables(config, options);
  return {
    restoreTestPlans: createTableRestoreTestPlanStore(tables),
    restoreTestHistory: createTableRestoreTestHistoryStore(tables),
  };
}

export function createStateStores(config: TableConfig, options: CreateStoresOptions = {}): StateStores {
  return tableStateStores(vaultTables(config, options), options.clock ?? systemClock);
}

/** Every state store over one set of tables (tests build theirs on Azurite with it). */
export function tableStateStores(tables: TableProvider, clock: Clock = systemClock): StateStores {
  return {
    policies: createTablePolicyStore(tables),
    instances: createTableInstanceStore(tables),
    recoveryPoints: createTableRecoveryPointStore(tables),
    jobs: createTableJobStore(tables, clock),
    auditLog: createTableAuditLogStore(tables, clock),
    servers: createTableServerStore(tables),
    slots: createTableSlotStore(tables),
  };
}

export function createAlertStores(config: TableConfig, options: CreateStoresOptions = {}): AlertStores {
  const tables = vaultTables(config, options);
  return {
    channels: createTableChannelStore(tables),
    outbox: createTableOutboxStore(tables),
    health: createTableHealthStore(tables),
  };
}

/** All stores of the vault. Tables and the container are created lazily, on first use. */
export function createStores(config: Config, options: CreateStoresOptions = {}): Stores {
  const conn = vaultConnection(config);
  if (conn.kind === 'connectionString') {
    return {
      ...createStateStores(config, options),
      ...createRestoreTestStores(config, options),
      alerts: createAlertStores(config, options),
      blobs: createVaultBlobStore(conn, config.BACKUP_CONTAINER),
    };
  }
  // One credential for both services, so their tokens come from one cache.
  const credential = options.credential ?? new DefaultAzureCredential();
  const endpoint = `https://${conn.accountName}.blob.core.windows.net`;
  return {
    ...createStateStores(config, { ...options, credential }),
    ...createRestoreTestStores(config, { ...options, credential }),
    alerts: createAlertStores(config, { ...options, credential }),
    blobs: createVaultBlobStore({ kind: 'identity', endpoint, credential }, config.BACKUP_CONTAINER),
  };
}
