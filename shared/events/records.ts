// The event records pgkeep raises (issue 13): built from a job that ended or from a health change, each with an id
// derived from what raised it, so a retried step raises the same event again and the outbox keeps it once.

import { createHash } from 'node:crypto';
import type { InstanceHealth, HealthStatus } from '../domain/health';
import type { EventRecord, JobRecord } from '../ports';
import {
  eventsRaisedByJob,
  eventTypes,
  type EventName,
  type HealthChangedData,
  type JobEventData,
} from '../contracts/events';

/** Where links in events point: the app's public API (PUBLIC_BASE_URL, else WEBSITE_HOSTNAME). */
export interface EventLinks {
  job(id: string): string;
  instance(name: string): string;
}

export function apiLinks(baseUrl: string): EventLinks {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    job: (id) => `${base}/api/backupJobs/${encodeURIComponent(id)}`,
    instance: (name) => `${base}/api/backupInstances/${encodeURIComponent(name)}`,
  };
}

/** A stable UUID-shaped id for the event raised by `key` (SHA-256 based, version nibble 8: custom). */
export function eventId(key: string): string {
  const h = createHash('sha256').update(key).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function eventRecord(
  name: EventName,
  id: string,
  source: string,
  subject: string,
  time: string,
  data: object,
): EventRecord {
  return { id, name, type: eventTypes[name].type, source, subject, time, data: data as Record<string, unknown> };
}

function jobEventData(job: JobRecord, links: EventLinks): JobEventData {
  const slot = job.extra?.['scheduledSlot'];
  const seconds =
    job.endTime !== undefined ? Math.max(0, (Date.parse(job.endTime) - Date.parse(job.startTime)) / 1000) : undefined;
  return {
    jobId: job.id,
    backupInstance: job.backupInstance,
    operation: job.operation,
    status: job.status,
    trigger: job.trigger,
    startTime: job.startTime,
    ...(job.endTime !== undefined ? { endTime: job.endTime } : {}),
    ...(seconds !== undefined ? { durationSeconds: Math.round(seconds * 1000) / 1000 } : {}),
    ...(job.progress.bytes > 0 ? { bytes: job.progress.bytes } : {}),
    ...(job.recoveryPointId !== undefined ? { recoveryPointId: job.recoveryPointId } : {}),
    ...(typeof slot === 'string' ? { scheduledSlot: slot } : {}),
    ...(job.error
      ? { error: { code: job.error.code, message: job.error.message, recommendedAction: job.error.hint } }
      : {}),
    jobUrl: links.job(job.id),
  };
}

/** The events a job that has ended raises (registry rules), each with the id `job:<job id>:<event name>`. */
export function jobEvents(job: JobRecord, source: string, links: EventLinks, nowIso: string): EventRecord[] {
  const data = jobEventData(job, links);
  return eventsRaisedByJob(job).map((name) =>
    eventRecord(name, eventId(`job:${job.id}:${name}`), source, job.backupInstance, job.endTime ?? nowIso, data),
  );
}

/** HealthChanged for the `change`-th recorded change of an instance's health. */
export function healthChangedEvent(
  instanceName: string,
  change: number,
  previous: HealthStatus,
  health: InstanceHealth,
  source: string,
  links: EventLinks,
): EventRecord {
  const data: HealthChangedData = {
    backupInstance: instanceName,
    status: health.status,
    previousStatus: previous,
    reasons: [...health.reasons],
    evaluatedAt: health.evaluatedAt,
    instanceUrl: links.instance(instanceName),
  };
  return eventRecord(
    'HealthChanged',
    eventId(`health:${instanceName}:${change}:${health.status}`),
    source,
    instanceName,
    health.evaluatedAt,
    data,
  );
}

/** The test event of POST …/notificationChannels/{name}/test: a fresh id per call. */
export function testEvent(channel: string, source: string, nowIso: string, nonce: string): EventRecord {
  return eventRecord('NotificationTest', eventId(`test:${channel}:${nonce}`), source, '*', nowIso, {
    channel,
    message: `Test notification from pgkeep to channel '${channel}'`,
  });
}
