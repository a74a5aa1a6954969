// GET /api/overview (the console's Overview page): counts over every instance, the last 7 days of jobs and every
// Available point, in one job listing, one instance listing and one point listing per instance.

import type { InstanceRecord } from '../ports';
import type { Overview } from '../contracts/overview';
import type { ApiRequest, ApiResponse } from '../contracts/http';
import type { ApiDeps } from './deps';
import { json } from './http';
import { mapConcurrently, nextSlotsOf } from './instance-summary';

const DAY_MS = 86_400_000;
const READ_CONCURRENCY = 16;
const LIST_LIMIT = 10;

export function overviewRoutes(deps: ApiDeps) {
  async function overview(_req: ApiRequest): Promise<ApiResponse> {
    const now = deps.clock.now();
    const nowIso = now.toISOString();
    const dayAgo = new Date(now.getTime() - DAY_MS).toISOString();

    const instances: InstanceRecord[] = [];
    for await (const { value } of deps.instances.list()) if (value.deletedAt === undefined) instances.push(value);

    const last24Hours: Record<string, number> = {};
    const last7Days: Record<string, number> = {};
    const recentFailures: Overview['recentFailures'] = [];
    // The default window is the last 7 days, newest first.
    for await (const job of deps.jobs.list({})) {
      last7Days[job.status] = (last7Days[job.status] ?? 0) + 1;
      if (job.startTime < dayAgo) continue;
      last24Hours[job.status] = (last24Hours[job.status] ?? 0) + 1;
      if (job.status === 'Failed' && recentFailures.length < LIST_LIMIT) {
        recentFailures.push({
          jobId: job.id,
          backupInstance: job.backupInstance,
          operation: job.operation,
          startTime: job.startTime,
          code: job.error?.code ?? 'SystemErrorInternal',
          message: job.error?.message ?? 'the job failed',
        });
      }
    }

    const storage: Overview['storage'] = {
      VaultStore: { points: 0, bytes: 0 },
      ArchiveStore: { points: 0, bytes: 0 },
    };
    const nextSlots = nextSlotsOf(deps, nowIso);
    const next = await mapConcurrently(instances, READ_CONCURRENCY, async (instance) => {
      // Deleted instances' kept points still occupy storage, but they are not listed: only visible instances count.
      for await (const { value } of deps.recoveryPoints.list(instance.name)) {
        if (value.status !== 'Available') continue;
        storage[value.dataStore].points++;
        storage[value.dataStore].bytes += value.bytes;
      }
      if (instance.protectionState !== 'ProtectionConfigured') return undefined;
      const time = await nextSlots(instance.policyName);
      return time === undefined ? undefined : { backupInstance: instance.name, policyName: instance.policyName, time };
    });
    const nextScheduledBackups = next
      .filter((n) => n !== undefined)
      .sort((a, b) => (a.time === b.time ? (a.backupInstance < b.backupInstance ? -1 : 1) : a.time < b.time ? -1 : 1))
      .slice(0, LIST_LIMIT);

    const protectedCount = instances.filter((i) => i.protectionState === 'ProtectionConfigured').length;
    const body: Overview = {
      time: nowIso,
      instances: { total: instances.length, protected: protectedCount, stopped: instances.length - protectedCount },
      jobs: { last24Hours, last7Days },
      storage,
      nextScheduledBackups,
      recentFailures,
    };
    return json(200, body);
  }

  return { overview };
}
