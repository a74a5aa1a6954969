// Key rotation and restore-target routes over the fake stores: rewrap one point (a Rewrap job, done in the call),
// rewrap an instance (202, the orchestration started), and a restore as files the app may not write to (400 naming
// the field, nothing started).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rewrapInstance, rewrapPoint, type RewrapDeps } from '../../../shared/activities/rewrap';
import { newDataKey } from '../../../shared/adapters/crypto/envelope';
import { handleRestoreRequest } from '../../../shared/activities/restore-queue';
import { jobResourceSchema } from '../../../shared/contracts/jobs';
import type { AuditEntry, KeyEncryptionKeys, RecoveryPointRecord } from '../../../shared/ports';
import { createFakeAuditLogStore } from '../../support/fake-stores';
import { samplePoint } from '../../contract/stores.contract';
import { apiWithInstance, NOW, targets, testKeyring } from './api-support';

const k1 = randomBytes(32).toString('base64');
const k2 = randomBytes(32).toString('base64');
const keyring = testKeyring;

/** An API whose instance has points with manifests in an in-memory blob map, and rewrap wired as composition does. */
async function apiWithKeys(keys: KeyEncryptionKeys) {
  const api = await apiWithInstance();
  const manifests = new Map<string, unknown>();
  const blobs: RewrapDeps['blobs'] = {
    getJson: <T>(name: string) => Promise.resolve(structuredClone(manifests.get(name)) as T | undefined),
    putJson: (name, value) => Promise.resolve(void manifests.set(name, structuredClone(value))),
    // Servers' globals points (issue 15) are listed by prefix; this instance has no server.
    list: async function* () {},
  };
  const deps: RewrapDeps = { ...api.stores, blobs, keys, clock: api.deps.clock, log: () => undefined };
  const started: { id: string; input: unknown }[] = [];
  Object.assign(api.deps, {
    rewrapPoint: (point: RecoveryPointRecord) => rewrapPoint(deps, point),
    startRewrap: (id: string, input: unknown) => Promise.resolve(void started.push({ id, input })),
  });
  const addPoint = async (hoursAgo: number, under: KeyEncryptionKeys | undefined) => {
    const time = new Date(Date.parse(NOW) - hoursAgo * 3_600_000).toISOString();
    const encryption = under ? (await newDataKey(under.current!)).encryption : null;
    const point = samplePoint('orders', time, `p${hoursAgo}`, encryption ? { encryptionKeyId: encryption.keyId } : {});
    await api.stores.recoveryPoints.create(point);
    manifests.set(point.manifestBlobName, { sha256: point.sha256, encryption });
    return point;
  };
  return { api, deps, manifests, started, addPoint };
}

describe('POST …/recoveryPoints/{id}/rewrap', () => {
  it('rewraps the data key under the current version and answers 200 with the finished Rewrap job', async () => {
    const w = await apiWithKeys(keyring('k2', { k1, k2 }));
    const point = await w.addPoint(5, keyring('k1', { k1 }));
    const res = await w.api.call('POST', `backupInstances/orders/recoveryPoints/${point.id}/rewrap`);
    expect(res.status, JSON.stringify(res.jsonBody)).toBe(200);
    const job = jobResourceSchema.parse(res.jsonBody);
    expect(job.properties).toMatchObject({ operation: 'Rewrap', status: 'Succeeded', recoveryPointId: point.id });
    expect(job.properties.extendedInfo).toEqual({ result: 'rewrapped', fromKeyId: 'k1', toKeyId: 'k2' });
    expect((w.manifests.get(point.manifestBlobName) as { encryption: { keyId: string } }).encryption.keyId).toBe('k2');
    expect((await w.api.stores.recoveryPoints.get('orders', point.id))?.value.encryptionKeyId).toBe('k2');
  });

  it('fails with the key code (the job Failed with it) when the version that wrapped the point is gone', async () => {
    const w = await apiWithKeys(keyring('k2', { k2 }));
    const point = await w.addPoint(5, keyring('k1', { k1 }));
    const res = await w.api.call('POST', `backupInstances/orders/recoveryPoints/${point.id}/rewrap`);
    expect(res.status).toBe(409);
    expect(res.error.code).toBe('UserErrorEncryptionKeyNotFound');
    const jobs = [];
    for await (const j of w.api.stores.jobs.list({ operation: 'Rewrap' })) jobs.push(j);
    expect(jobs.map((j) => [j.status, j.error?.code])).toEqual([['Failed', 'UserErrorEncryptionKeyNotFound']]);
  });

  it('answers 404 for an unknown point and 400 when no KEK is configured', async () => {
    const w = await apiWithKeys(keyring('k1', { k1 }));
    expect((await w.api.call('POST', 'backupInstances/orders/recoveryPoints/nope/rewrap')).status).toBe(404);
    const bare = await apiWithInstance();
    const point = samplePoint('orders', NOW, 'x1');
    await bare.stores.recoveryPoints.create(point);
    const res = await bare.call('POST', `backupInstances/orders/recoveryPoints/${point.id}/rewrap`);
    expect(res.status).toBe(400);
  });
});

describe('POST backupInstances/{name}/rewrap', () => {
  it('answers 202 with a Rewrap job and starts the orchestration for it', async () => {
    const w = await apiWithKeys(keyring('k1', { k1 }));
    const res = await w.api.call('POST', 'backupInstances/orders/rewrap');
    expect(res.status).toBe(202);
    const job = jobResourceSchema.parse(res.jsonBody);
    expect(job.properties).toMatchObject({ operation: 'Rewrap', status: 'NotStarted' });
    expect(res.headers?.Location).toBe(`/api/backupJobs/${job.name}`);
    expect(w.started).toEqual([
      { id: `rewrap-orders-${job.name}`, input: { jobId: job.name, instanceName: 'orders' } },
    ]);
  });
});

describe('rewrapInstance', () => {
  it('rewraps every encrypted point, skips current and unencrypted ones, and lists each failure on the job', async () => {
    const old = keyring('k1', { k1 });
    const w = await apiWithKeys(keyring('k2', { k1, k2 }));
    await w.addPoint(1, old);
    await w.addPoint(2, old);
    await w.addPoint(3, keyring('k2', { k2 }));
    await w.addPoint(4, undefined);
    const lost = await w.addPoint(5, keyring('k9', { k9: randomBytes(32).toString('base64') }));
    await w.api.stores.jobs.create({
      id: 'rj',
      operation: 'Rewrap',
      backupInstance: 'orders',
      status: 'NotStarted',
      trigger: 'OnDemand',
      startTime: NOW,
      progress: { bytes: 0 },
    });
    const counts = await rewrapInstance(w.deps, { jobId: 'rj', instanceName: 'orders' });
    expect(counts).toEqual({ rewrapped: 2, alreadyCurrent: 1, notEncrypted: 1, failed: 1 });
    const job = await w.api.stores.jobs.get('rj');
    expect(job).toMatchObject({ status: 'Failed', error: { code: 'UserErrorEncryptionKeyNotFound' } });
    expect(job?.warnings).toEqual([
      { code: 'UserErrorEncryptionKeyNotFound', message: expect.stringContaining(lost.id) as string },
    ]);
    expect(job?.extra).toMatchObject({ toKeyId: 'k2', rewrapped: 2 });
    // A second run finds the work done.
    expect(await rewrapInstance(w.deps, { jobId: 'rj', instanceName: 'orders' })).toMatchObject({
      rewrapped: 0,
      alreadyCurrent: 3,
    });
  });
});

describe('restore as files to a container the app may not write to', () => {
  const filesRequest = (url: string) => ({
    objectType: 'AzureBackupRecoveryPointBasedRestoreRequest',
    recoveryPointId: 'p',
    restoreTargetInfo: { objectType: 'RestoreFilesTargetInfo', targetDetails: { url, filePrefix: 'x' } },
  });

  it.each(['restore', 'validateRestore'])(
    'is a 400 naming targetDetails.url on %s, and nothing starts',
    async (route) => {
      const api = await apiWithInstance();
      let checked = 0;
      Object.assign(api.deps, {
        checkRestore: () => {
          checked++;
          return Promise.resolve([]);
        },
      });
      const res = await api.call(
        'POST',
        `backupInstances/orders/${route}`,
        filesRequest('https://other.blob.core.windows.net/c'),
      );
      expect(res.status).toBe(400);
      expect(targets(res.error)).toEqual(['$.restoreTargetInfo.targetDetails.url']);
      expect(res.error.details?.[0]?.message).toContain('must carry a SAS token');
      expect(checked).toBe(0);
      const jobs = [];
      for await (const j of api.stores.jobs.list({})) jobs.push(j);
      expect(jobs).toEqual([]);
    },
  );

  it('accepts an allow-listed account without a SAS', async () => {
    const api = await apiWithInstance();
    Object.assign(api.deps, {
      restoreTargets: { allowHttpLoopback: false, identityHosts: ['exports.blob.core.windows.net'] },
    });
    const res = await api.call(
      'POST',
      'backupInstances/orders/validateRestore',
      filesRequest('https://exports.blob.core.windows.net/c'),
    );
    expect(res.status).toBe(200);
  });
});

describe('handleRestoreRequest (queue)', () => {
  it('answers a refused container with a Failed result naming $.request…url, and audits the message as "queue"', async () => {
    const sent: { queue: string; text: string }[] = [];
    const auditLog = createFakeAuditLogStore({ now: () => new Date(NOW) });
    const outcome = await handleRestoreRequest(
      {
        starter: { exists: () => Promise.resolve(false), start: () => Promise.reject(new Error('must not start')) },
        sendQueueMessage: (queue, text) => Promise.resolve(void sent.push({ queue, text })),
        resultsQueue: 'restore-results',
        auditLog,
        clock: { now: () => new Date(NOW) },
        log: () => undefined,
      },
      {
        requestId: 'r1',
        backupInstance: 'orders',
        request: {
          objectType: 'AzureBackupRecoveryPointBasedRestoreRequest',
          recoveryPointId: 'p',
          restoreTargetInfo: {
            objectType: 'RestoreFilesTargetInfo',
            targetDetails: { url: 'https://other.blob.core.windows.net/c' },
          },
        },
      },
    );
    expect(outcome).toEqual({ kind: 'rejected', requestId: 'r1' });
    const result = JSON.parse(sent[0]!.text) as { status: string; error: { message: string } };
    expect(result.status).toBe('Failed');
    expect(result.error.message).toContain('$.request.restoreTargetInfo.targetDetails.url');
    const entries: AuditEntry[] = [];
    for await (const e of auditLog.list({})) entries.push(e);
    expect(entries).toMatchObject([
      {
        principal: 'queue',
        principalKind: 'queue',
        action: 'restoreQueue',
        outcome: 'Failed',
        errorCode: 'UserErrorInvalidRequest',
      },
    ]);
  });
});
