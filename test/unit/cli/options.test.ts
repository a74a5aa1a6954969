// Options into API input: request bodies checked with the API's schemas and their problems named by option,
// --since spans, --credentials URIs, and the datasource id protect derives.
import { describe, expect, it } from 'vitest';
import { datasourceResourceId } from '../../../cli/commands/protect';
import { UsageError } from '../../../cli/exit-codes';
import { checkRequest, secretReference, sinceInstant } from '../../../cli/options';
import { jobQuerySchema } from '../../../shared/contracts/jobs';
import { restoreRequestSchema } from '../../../shared/contracts/restores';

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as UsageError).message;
  }
  throw new Error('expected a usage error');
}

describe('checkRequest', () => {
  it('returns the body the schema accepts', () => {
    expect(checkRequest(jobQuerySchema, { status: 'Failed' }, [])).toEqual({ status: 'Failed' });
  });

  it('names the option behind every bad field, the nearest listed path winning', () => {
    const body = {
      objectType: 'AzureBackupRecoveryPointBasedRestoreRequest',
      recoveryPointId: 'rp',
      restoreTargetInfo: {
        objectType: 'RestoreTargetInfo',
        datasourceInfo: { datasourceType: 'Microsoft.DBforPostgreSQL/servers/databases', resourceName: 'template1' },
        datasourceAuthCredentials: {
          objectType: 'SecretStoreBasedAuthCredentials',
          secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://A' },
        },
      },
      options: { jobs: 99 },
    };
    const message = usageMessage(() =>
      checkRequest(restoreRequestSchema, body, [
        ['$.restoreTargetInfo.datasourceInfo', '--as-database'],
        ['$.options.jobs', '--jobs'],
      ]),
    );
    expect(message).toMatch(/^--as-database: cannot restore into a system database name/m);
    expect(message).toMatch(/--jobs: /);
  });

  it('names the JSON path when no option is listed for it', () => {
    expect(usageMessage(() => checkRequest(jobQuerySchema, { operation: 'Nap' }, []))).toMatch(/^\$\.operation: /);
  });
});

describe('sinceInstant', () => {
  const now = Date.parse('2026-03-10T12:00:00.000Z');

  it('counts minutes, hours, days and weeks back from now', () => {
    expect(sinceInstant('90m', now)).toBe('2026-03-10T10:30:00.000Z');
    expect(sinceInstant('12h', now)).toBe('2026-03-10T00:00:00.000Z');
    expect(sinceInstant('7d', now)).toBe('2026-03-03T12:00:00.000Z');
    expect(sinceInstant('2w', now)).toBe('2026-02-24T12:00:00.000Z');
  });

  it('passes instants on for the API schema to judge, and refuses anything else', () => {
    expect(sinceInstant('2026-01-01T00:00:00Z', now)).toBe('2026-01-01T00:00:00Z');
    expect(usageMessage(() => sinceInstant('yesterday', now))).toMatch(/^--since must be a span/);
  });
});

describe('secretReference', () => {
  it('tells app settings from Key Vault secrets by the scheme and refuses others', () => {
    expect(secretReference('appsetting://ORDERS_DB')).toEqual({
      secretStoreType: 'AppSetting',
      uri: 'appsetting://ORDERS_DB',
    });
    expect(secretReference('https://kv.vault.azure.net/secrets/db')).toEqual({
      secretStoreType: 'AzureKeyVault',
      uri: 'https://kv.vault.azure.net/secrets/db',
    });
    expect(usageMessage(() => secretReference('postgresql://u:p@h/db'))).toMatch(/^--credentials must be appsetting:/);
  });
});

describe('datasourceResourceId', () => {
  it('puts the database under --server-id when given (an ARM server id gives the database ARM id)', () => {
    const server = '/subscriptions/s/resourceGroups/g/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg1/';
    expect(datasourceResourceId(server, secretReference('appsetting://A'), 'orders')).toBe(
      '/subscriptions/s/resourceGroups/g/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg1/databases/orders',
    );
  });

  it('names the server by its secret otherwise, leaving out a Key Vault secret version', () => {
    expect(datasourceResourceId(undefined, secretReference('appsetting://ORDERS_DB'), 'orders')).toBe(
      'appsetting/ORDERS_DB/databases/orders',
    );
    const versioned = secretReference('https://kv.vault.azure.net/secrets/orders-db/0123abcd');
    const unversioned = secretReference('https://kv.vault.azure.net/secrets/orders-db');
    expect(datasourceResourceId(undefined, versioned, 'orders')).toBe(
      'keyvault/kv.vault.azure.net/orders-db/databases/orders',
    );
    expect(datasourceResourceId(undefined, unversioned, 'orders')).toBe(
      datasourceResourceId(undefined, versioned, 'orders'),
    );
  });
});
