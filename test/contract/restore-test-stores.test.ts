// The restore-test store contract (issue 17), run against the Table Storage adapters on Azurite and the in-memory
// fakes: plans are created once, replaced by etag, listed by name; history is newest first per instance, one entry
// per job (a retried write replaces its own); a point row carries its latest restoreTest evidence.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTableProvider } from '../../shared/adapters/storage/tables/common';
import { createTableRestoreTestPlanStore } from '../../shared/adapters/storage/tables/restore-test-plans';
import { createTableRestoreTestHistoryStore } from '../../shared/adapters/storage/tables/restore-tests';
import { createTableRecoveryPointStore } from '../../shared/adapters/storage/tables/recovery-points';
import { restoreTestPlanPropertiesSchema, type RestoreTestResult } from '../../shared/contracts/restore-tests';
import {
  ConcurrencyError,
  type RecoveryPointStore,
  type RestoreTestHistoryStore,
  type RestoreTestPlanStore,
} from '../../shared/ports';
import { startAzurite, type AzuriteInstance } from '../support/azurite';
import { createFakeRestoreTestHistoryStore, createFakeRestoreTestPlanStore } from '../support/fake-restore-test-stores';
import { createFakeRecoveryPointStore } from '../support/fake-stores';
import { samplePoint } from './stores.contract';

interface Stores {
  plans: RestoreTestPlanStore;
  history: RestoreTestHistoryStore;
  points: RecoveryPointStore;
}

const properties = restoreTestPlanPropertiesSchema.parse({
  backupInstances: ['orders'],
  target: {
    datasourceAuthCredentials: {
      objectType: 'SecretStoreBasedAuthCredentials',
      secretStoreResource: { secretStoreType: 'AppSetting', uri: 'appsetting://SCRATCH_DB' },
    },
  },
  assertions: { orders: ['SELECT count(*) > 0 FROM "Sales Ops"."Quarterly Targets"'] },
});
const plan = (name: string) => ({
  name,
  properties,
  createdAt: '2026-03-01T00:00:00.000Z',
  updatedAt: '2026-03-01T00:00:00.000Z',
});
const result = (jobId: string, time: string, status: 'Passed' | 'Failed' = 'Passed'): RestoreTestResult => ({
  jobId,
  planName: 'nightly',
  recoveryPointId: 'p',
  time,
  status,
  durationMs: 10,
  contentsChecked: true,
  tables: 1,
  rowsCompared: 2,
  mismatches: status === 'Failed' ? [{ kind: 'Checksum', object: 'public.t', expected: 'a', actual: 'b' }] : [],
  mismatchCount: status === 'Failed' ? 1 : 0,
  assertions: [],
  targetServerVersion: '17.2',
  scratchDatabase: `pgkeep_verify_${jobId}`,
});

function describeContract(label: string, factory: () => Stores) {
  describe(`restore-test stores (${label})`, () => {
    it('creates a plan once, replaces it by etag only, lists by name and deletes it (absent is fine)', async () => {
      const { plans } = factory();
      await plans.create(plan('b'));
      await plans.create(plan('a'));
      await expect(plans.create(plan('a'))).rejects.toBeInstanceOf(ConcurrencyError);
      const got = await plans.get('a');
      expect(got?.value).toEqual(plan('a'));
      const etag = await plans.update({ ...plan('a'), lastScheduledSlot: '2026-03-02T03:00:00.000Z' }, got!.etag);
      await expect(plans.update(plan('a'), got!.etag)).rejects.toBeInstanceOf(ConcurrencyError);
      expect((await plans.get('a'))?.value.lastScheduledSlot).toBe('2026-03-02T03:00:00.000Z');
      expect(typeof etag).toBe('string');
      const names = [];
      for await (const p of plans.list()) names.push(p.value.name);
      expect(names).toEqual(['a', 'b']);
      await plans.delete('a');
      await plans.delete('a');
      expect(await plans.get('a')).toBeUndefined();
    });

    it('keeps one history entry per job, newest first, per instance', async () => {
      const { history } = factory();
      await history.put('orders', result('j1', '2026-03-01T00:00:00.000Z'));
      await history.put('orders', result('j2', '2026-03-02T00:00:00.000Z', 'Failed'));
      await history.put('orders', result('j1', '2026-03-01T00:00:00.000Z', 'Failed'));
      await history.put('billing', result('j3', '2026-03-03T00:00:00.000Z'));
      const entries = [];
      for await (const r of history.list('orders')) entries.push(r);
      expect(entries.map((r) => [r.jobId, r.status])).toEqual([
        ['j2', 'Failed'],
        ['j1', 'Failed'],
      ]);
      expect(entries[0]).toEqual(result('j2', '2026-03-02T00:00:00.000Z', 'Failed'));
    });

    it('stores the restoreTest evidence on a recovery point and reads it back', async () => {
      const { points } = factory();
      const p = samplePoint('orders', '2026-03-01T02:00:00.000Z', 'x1');
      await points.create(p);
      const stored = await points.get('orders', p.id);
      await points.update({ ...p, restoreTest: result('j9', '2026-03-05T00:00:00.000Z', 'Failed') }, stored!.etag);
      expect((await points.get('orders', p.id))?.value.restoreTest).toEqual(
        result('j9', '2026-03-05T00:00:00.000Z', 'Failed'),
      );
    });
  });
}

describeContract('fake', () => ({
  plans: createFakeRestoreTestPlanStore(),
  history: createFakeRestoreTestHistoryStore(),
  points: createFakeRecoveryPointStore(),
}));

describe('on Azurite', () => {
  let azurite: AzuriteInstance | undefined;
  beforeAll(async () => {
    azurite = await startAzurite();
  });
  afterAll(async () => {
    await azurite?.stop();
  });
  describeContract('Table Storage', () => {
    if (!azurite) throw new Error('azurite did not start');
    const tables = createTableProvider(
      { kind: 'connectionString', connectionString: azurite.connectionString },
      `t${randomBytes(6).toString('hex')}`,
    );
    return {
      plans: createTableRestoreTestPlanStore(tables),
      history: createTableRestoreTestHistoryStore(tables),
      points: createTableRecoveryPointStore(tables),
    };
  });
});
