// GET /api/overview and /api/overview/storage (the console's Overview page): counts over every instance and the last
// 7 days of jobs (one instance listing, one job listing), and stored points per tier (one scan of every point).

import type { InstanceRecord } from '../ports';
import type { Overview, StorageSummary } from '../contracts/overview';
import type { ApiRequest, ApiResponse } from '../contracts/http';
import type { ApiDeps } from './deps';
import { json } from './http';
import { nextSlotsOf } from './instance-summary';

const DAY_MS = 86_400_000;
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

    const nextSlots = nextSlotsOf(deps, nowIso);
    const next = await Promise.all(
      instances.map(async (instance) => {
        if (instance.protectionState !== 'ProtectionConfigured') return undefined;
        const time = await nextSlots(instance.policyName);
        return time === undefined
          ? undefined
          : { backupInstance: instance.name, policyName: instance.policyName, time };
      }),
    );
    const nextScheduledBackups = next
      .filter((n) => n !== undefined)
      .sort((a, b) => (a.time === b.time ? (a.backupInstance < b.backupInstance ? -1 : 1) : a.time < b.time ? -1 : 1))
      .slice(0, LIST_LIMIT);

    const protectedCount = instances.filter((i) => i.protectionState === 'ProtectionConfigured').length;
    const body: Overview = {
      time: nowIso,
      instances: { total: instances.length, protected: protectedCount, stopped: instances.length - protectedCount },
      jobs: { last24Hours, last7Days },
      nextScheduledBackups,
      recentFailures,
    };
    return json(200, body);
  }

  /**
   * GET /overview/storage: Available points and their bytes per tier over the whole vault (kept points of deleted
   * instances included: they occupy storage until expiry removes them). One scan of every point row, so it is its own
   * route: the overview's other figures do not wait for it.
   */
  async function storage(_req: ApiRequest): Promise<ApiResponse> {
    const body: StorageSummary = {
      time: deps.clock.now().toISOString(),
      VaultStore: { points: 0, bytes: 0 },
      ArchiveStore: { points: 0, bytes: 0 },
    };
    for await (const { value } of deps.recoveryPoints.listAll()) {
      if (value.status !== 'Available') continue;
      body[value.dataStore].points++;
      body[value.dataStore].bytes += value.bytes;
    }
    return json(200, body);
  }

  return { overview, storage };
}
