import { describe, expect, it } from 'vitest';
import { parseRestoreRequest, toRestoreRequest, type RestoreSpec } from '../../../shared/contracts/restores';
import { handleRestoreRequest, restoreRequestOrchestrationId } from '../../../shared/activities/restore-queue';
import { PgkeepError } from '../../../shared/errors';
import type { RestoreOrchestratorInput } from '../../../shared/workflows/names';

const databaseBody = (extra: object = {}) => ({
  objectType: 'AzureBackupRecoveryPointBasedRestoreRequest',
  recoveryPointId: 'p1',
  sourceDataStoreType: 'VaultStore',
  restoreTargetInfo: {
    objectType: 'RestoreTargetInfo',
    recoveryOption: 'FailIfExists',
    datasourceInfo: {
      objectType: 'Datasource',
      datasourceType: 'Microsoft.DBforPostgreSQL/servers/databases',
      resourceID: 'x',
      resourceName: 'copy',
    },
    datasourceAuthCredentials: {
      objectType: 'SecretStoreBasedAuthCredentials',
      secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://TARGET' },
    },
  },
  ...extra,
});

function refusal(value: unknown): PgkeepError {
  try {
    parseRestoreRequest(value);
  } catch (err) {
    if (err instanceof PgkeepError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('parseRestoreRequest', () => {
  it('defaults a rehydration request to Standard priority and P15D', () => {
    const spec = parseRestoreRequest(databaseBody({ objectType: 'AzureBackupRestoreWithRehydrationRequest' }));
    expect(spec.rehydration).toEqual({ priority: 'Standard', retentionDays: 15 });
  });

  it.each(['P9D', 'P31D', 'PT12H', 'P1M'])('refuses rehydrationRetentionDuration %s (P10D–P30D only)', (d) => {
    const e = refusal(
      databaseBody({ objectType: 'AzureBackupRestoreWithRehydrationRequest', rehydrationRetentionDuration: d }),
    );
    expect(e.details.map((x) => x.target)).toEqual(['$.rehydrationRetentionDuration']);
  });

  it('reads owner none, keep and a role name, and the role object form', () => {
    const owner = (o: unknown) => parseRestoreRequest(databaseBody({ options: { owner: o } })).options?.owner;
    expect(owner('none')).toBe('none');
    expect(owner('keep')).toBe('keep');
    expect(owner('app_owner')).toEqual({ role: 'app_owner' });
    expect(owner({ role: 'keep' })).toEqual({ role: 'keep' });
  });

  it('refuses options on a restore as files and an unknown option', () => {
    const files = databaseBody({
      restoreTargetInfo: {
        objectType: 'RestoreFilesTargetInfo',
        targetDetails: { url: 'https://a.blob.core.windows.net/c', filePrefix: 'x' },
      },
      options: { jobs: 2 },
    });
    expect(refusal(files).details.map((d) => d.target)).toEqual(['$.options']);
    expect(refusal(databaseBody({ options: { parallel: 2 } })).details[0]!.target).toBe('$.options');
  });

  it('refuses a database name longer than 63 bytes and a recoveryOption other than FailIfExists', () => {
    const body = databaseBody();
    body.restoreTargetInfo.datasourceInfo.resourceName = 'é'.repeat(32);
    body.restoreTargetInfo.recoveryOption = 'Overwrite';
    expect(
      refusal(body)
        .details.map((d) => d.target)
        .sort(),
    ).toEqual(['$.restoreTargetInfo.datasourceInfo.resourceName', '$.restoreTargetInfo.recoveryOption']);
  });
});

describe('toRestoreRequest', () => {
  const specs: RestoreSpec[] = [
    {
      recoveryPointId: 'p1',
      sourceDataStoreType: 'VaultStore',
      target: {
        kind: 'database',
        databaseName: 'copy',
        secret: { secretStoreType: 'AppSetting', uri: 'appsetting://T' },
      },
    },
    {
      recoveryPointId: 'p2',
      sourceDataStoreType: 'ArchiveStore',
      rehydration: { priority: 'High', retentionDays: 20 },
      target: {
        kind: 'database',
        databaseName: 'copy',
        resourceID: 'local/copy',
        secret: { secretStoreType: 'AzureKeyVault', uri: 'https://v.vault.azure.net/secrets/t' },
      },
      options: { schemas: ['sales'], tables: ['sales.orders'], owner: { role: 'keep' }, jobs: 4 },
    },
    {
      recoveryPointId: 'p3',
      sourceDataStoreType: 'VaultStore',
      target: { kind: 'files', url: 'https://a.example/c', filePrefix: 'x/' },
    },
  ];

  it.each(specs.map((s) => [s.recoveryPointId, s] as const))(
    'writes the request that parses back to the same spec (%s)',
    (_, spec) => {
      expect(parseRestoreRequest(toRestoreRequest(spec))).toEqual(spec);
    },
  );

  it('writes what the schema then refuses, naming the field, when the spec is out of range', () => {
    const spec = { ...specs[0]!, options: { jobs: 0 } };
    expect(refusal(toRestoreRequest(spec)).details.map((d) => d.target)).toEqual(['$.options.jobs']);
  });
});

describe('restoreRequestOrchestrationId', () => {
  it('keeps a plain id and hashes one with unsafe characters so distinct ids never collide', () => {
    expect(restoreRequestOrchestrationId('req-1')).toBe('restore-req-req-1');
    const a = restoreRequestOrchestrationId('a/b');
    const b = restoreRequestOrchestrationId('a_b');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^restore-req-[A-Za-z0-9._-]+$/);
  });
});

describe('handleRestoreRequest', () => {
  function deps(existing: string[] = []) {
    const sent: { queue: string; text: string }[] = [];
    const started: { id: string; input: RestoreOrchestratorInput }[] = [];
    return {
      sent,
      started,
      deps: {
        starter: {
          exists: (id: string) => Promise.resolve(existing.includes(id)),
          start: (id: string, input: RestoreOrchestratorInput) => {
            started.push({ id, input });
            return Promise.resolve();
          },
        },
        sendQueueMessage: (queue: string, text: string) => {
          sent.push({ queue, text });
          return Promise.resolve();
        },
        resultsQueue: 'restore-results',
        log: () => undefined,
      },
    };
  }

  it('throws (so the host retries and poisons) when no requestId can be read', async () => {
    const d = deps();
    await expect(handleRestoreRequest(d.deps, 'not json')).rejects.toThrow(/requestId/);
    await expect(handleRestoreRequest(d.deps, { requestId: 7 })).rejects.toThrow(/requestId/);
    expect(d.sent).toEqual([]);
  });

  it('answers an invalid message with a Failed result on replyTo and starts nothing', async () => {
    const d = deps();
    const outcome = await handleRestoreRequest(d.deps, { requestId: 'r', replyTo: 'answers', backupInstance: 'o' });
    expect(outcome).toEqual({ kind: 'rejected', requestId: 'r' });
    expect(d.started).toEqual([]);
    expect(d.sent[0]!.queue).toBe('answers');
    expect(JSON.parse(d.sent[0]!.text)).toMatchObject({
      requestId: 'r',
      status: 'Failed',
      error: { code: 'UserErrorInvalidRequest' },
    });
  });

  it('starts the orchestration with the reply queue, and not again for a duplicate requestId', async () => {
    const d = deps(['restore-req-dup']);
    const msg = { requestId: 'r2', backupInstance: 'orders', request: databaseBody() };
    expect(await handleRestoreRequest(d.deps, JSON.stringify(msg))).toEqual({
      kind: 'started',
      orchestrationId: 'restore-req-r2',
    });
    expect(d.started[0]!.input).toMatchObject({
      instanceName: 'orders',
      trigger: 'Queue',
      reply: { requestId: 'r2', queue: 'restore-results' },
    });
    expect(await handleRestoreRequest(d.deps, { ...msg, requestId: 'dup' })).toEqual({
      kind: 'duplicate',
      orchestrationId: 'restore-req-dup',
    });
    expect(d.started).toHaveLength(1);
  });
});
