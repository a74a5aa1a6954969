// GET /api/health (issue 13, wave 2 contract): what an uptime monitor polls. 200 unless an instance is Critical
// (then 503), with the JSON body either way; anonymous callers get the overall status only, Reader and above the
// counts, the instances that are not Healthy and when the scheduler and expiry timers last ran. GET /api/health/live
// is the process's liveness alone.

import { overallHealth, healthStatuses, type HealthStatus } from '../domain/health';
import type { InstanceRecord } from '../ports';
import { assessInstances } from '../activities/health';
import type { HealthSummary } from '../contracts/health';
import type { ApiResponse } from '../contracts/http';
import type { ApiDeps } from './deps';
import { json } from './http';

export function healthRoutes(deps: ApiDeps) {
  async function summary(callerMayRead: boolean): Promise<ApiResponse> {
    const time = deps.clock.now().toISOString();
    const live: InstanceRecord[] = [];
    for await (const { value } of deps.instances.list()) if (value.deletedAt === undefined) live.push(value);
    const assessed = await assessInstances({ ...deps, graceMs: deps.alerts.missedSlotGraceMs }, live, time);
    const status = overallHealth([...assessed.values()].map((a) => a.health.status));
    const code = status === 'Critical' ? 503 : 200;
    if (!callerMayRead) return json(code, { status, time } satisfies HealthSummary);
    const counts = Object.fromEntries(healthStatuses.map((s) => [s, 0])) as Record<HealthStatus, number>;
    const instances: NonNullable<HealthSummary['instances']> = [];
    for (const [name, { health }] of assessed) {
      counts[health.status]++;
      if (health.status !== 'Healthy') instances.push({ name, health });
    }
    const runs = await deps.alerts.health.lastRuns();
    const body: HealthSummary = {
      status,
      time,
      counts,
      instances,
      lastSchedulerRun: runs.scheduler ?? null,
      lastExpiryRun: runs.expiry ?? null,
    };
    return json(code, body);
  }

  function live(): Promise<ApiResponse> {
    return Promise.resolve(json(200, { status: 'Alive', time: deps.clock.now().toISOString() }));
  }

  return { summary, live };
}
