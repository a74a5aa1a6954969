// The one registry of the events pgkeep raises (issue 13; design §14 "Events"): each event's name, its CloudEvents
// type, what raises it, the schema of its payload and how a person reads it. The outbox (which job outcomes raise
// what), the channel API (which names a channel may subscribe to), the Webhook/Teams/Slack formats and the README's
// event table all read this table: adding an event is adding one entry.
//
// It sits at the contracts' level: it imports only zod, errors, the domain and the API's job vocabulary.

import { z } from 'zod';
import { errorCodes } from '../errors';
import { healthReasonCodes, healthStatuses, persistentReadinessCodes } from '../domain/health';
import { jobOperations, jobStatuses, jobTriggers, type JobOperation, type JobStatus } from './jobs';

/** What the raising rules read of a job that has just ended. */
export interface JobOutcome {
  readonly operation: string;
  readonly status: string;
  readonly error?: { readonly code: string };
}

/** The payload of every job event: enough to act on without calling the API, and the job's URL to look closer. */
export const jobEventDataSchema = z.object({
  jobId: z.string(),
  backupInstance: z.string(),
  operation: z.enum(jobOperations),
  status: z.enum(jobStatuses),
  trigger: z.enum(jobTriggers),
  startTime: z.string(),
  endTime: z.string().optional(),
  durationSeconds: z.number().optional(),
  bytes: z.number().optional(),
  recoveryPointId: z.string().optional(),
  /** The schedule slot of a scheduled or missed backup. */
  scheduledSlot: z.string().optional(),
  error: z.object({ code: z.enum(errorCodes), message: z.string(), recommendedAction: z.string() }).optional(),
  /** GET this (with the API's credentials) for the whole job. */
  jobUrl: z.string(),
});
export type JobEventData = z.infer<typeof jobEventDataSchema>;

export const healthChangedDataSchema = z.object({
  backupInstance: z.string(),
  status: z.enum(healthStatuses),
  previousStatus: z.enum(healthStatuses),
  reasons: z.array(z.object({ code: z.enum(healthReasonCodes), message: z.string() })),
  evaluatedAt: z.string(),
  instanceUrl: z.string(),
});
export type HealthChangedData = z.infer<typeof healthChangedDataSchema>;

export const notificationTestDataSchema = z.object({ channel: z.string(), message: z.string() });

/** How a person reads an event: Teams and Slack render these; the Webhook format sends the data as is. */
export interface EventSummary {
  readonly text: string;
  readonly facts: readonly (readonly [label: string, value: string])[];
  readonly link?: { readonly title: string; readonly url: string };
}

export type EventSeverity = 'info' | 'warning' | 'critical';

type RaisedBy =
  | {
      readonly kind: 'job';
      readonly operation: JobOperation;
      readonly status: JobStatus;
      readonly when?: (job: JobOutcome) => boolean;
      /** For the docs: the rule in words. */
      readonly description: string;
    }
  | { readonly kind: 'watchdog' | 'test'; readonly description: string };

interface EventTypeSpec<D> {
  /** The CloudEvents `type`. */
  readonly type: string;
  /** A short headline: Teams/Slack titles, the docs. */
  readonly title: string;
  readonly severity: EventSeverity;
  /** Channels that name no events get the failure events: these. */
  readonly inDefaultSubscription: boolean;
  /** False for events a channel cannot subscribe to (the test event goes to the one channel tested). */
  readonly subscribable: boolean;
  readonly raisedBy: RaisedBy;
  readonly data: z.ZodType<D>;
  readonly summarize: (data: D) => EventSummary;
}

const spec = <D>(s: EventTypeSpec<D>): EventTypeSpec<D> => s;

const fact = (label: string, value: string | number | undefined): [string, string][] =>
  value === undefined || value === '' ? [] : [[label, String(value)]];

function summarizeJob(verb: string) {
  return (d: JobEventData): EventSummary => ({
    text: `${d.operation} of ${d.backupInstance} ${verb}${d.error ? `: ${d.error.message}` : ''}`,
    facts: [
      ...fact('Backup instance', d.backupInstance),
      ...fact('Job', d.jobId),
      ...fact('Status', d.status),
      ...fact('Scheduled slot', d.scheduledSlot),
      ...fact('Recovery point', d.recoveryPointId),
      ...fact('Error code', d.error?.code),
      ...fact('Recommended action', d.error?.recommendedAction),
      ...fact('Bytes', d.bytes),
      ...fact('Duration (s)', d.durationSeconds),
    ],
    link: { title: 'Open the job', url: d.jobUrl },
  });
}

function job(operation: JobOperation, status: JobStatus, description: string, when?: (job: JobOutcome) => boolean) {
  return { kind: 'job' as const, operation, status, description, ...(when ? { when } : {}) };
}

const isMissed = (j: JobOutcome) => j.error?.code === 'UserErrorBackupMissed';
const isPersistentReadiness = (j: JobOutcome) =>
  j.error !== undefined && (persistentReadinessCodes as readonly string[]).includes(j.error.code);

export const eventTypes = {
  BackupSucceeded: spec({
    type: 'pgkeep.backup.succeeded',
    title: 'Backup succeeded',
    severity: 'info',
    inDefaultSubscription: false,
    subscribable: true,
    raisedBy: job('Backup', 'Succeeded', 'a Backup job ends Succeeded'),
    data: jobEventDataSchema,
    summarize: summarizeJob('succeeded'),
  }),
  BackupFailed: spec({
    type: 'pgkeep.backup.failed',
    title: 'Backup failed',
    severity: 'critical',
    inDefaultSubscription: true,
    subscribable: true,
    raisedBy: job(
      'Backup',
      'Failed',
      'a Backup job ends Failed (any code but UserErrorBackupMissed)',
      (j) => !isMissed(j),
    ),
    data: jobEventDataSchema,
    summarize: summarizeJob('failed'),
  }),
  BackupMissed: spec({
    type: 'pgkeep.backup.missed',
    title: 'Backup missed',
    severity: 'critical',
    inDefaultSubscription: true,
    subscribable: true,
    raisedBy: job(
      'Backup',
      'Failed',
      'the watchdog records a scheduled slot without a backup: a Backup job Failed with UserErrorBackupMissed',
      isMissed,
    ),
    data: jobEventDataSchema,
    summarize: (d) => ({
      ...summarizeJob('was missed')(d),
      text: `No backup of ${d.backupInstance} ran for the scheduled slot ${d.scheduledSlot ?? ''}`,
    }),
  }),
  RestoreSucceeded: spec({
    type: 'pgkeep.restore.succeeded',
    title: 'Restore succeeded',
    severity: 'info',
    inDefaultSubscription: false,
    subscribable: true,
    raisedBy: job('Restore', 'Succeeded', 'a Restore job ends Succeeded'),
    data: jobEventDataSchema,
    summarize: summarizeJob('succeeded'),
  }),
  RestoreFailed: spec({
    type: 'pgkeep.restore.failed',
    title: 'Restore failed',
    severity: 'critical',
    inDefaultSubscription: true,
    subscribable: true,
    raisedBy: job('Restore', 'Failed', 'a Restore job ends Failed'),
    data: jobEventDataSchema,
    summarize: summarizeJob('failed'),
  }),
  // restore tests (issue 17)
  RestoreTestFailed: spec({
    type: 'pgkeep.restoretest.failed',
    title: 'Restore test failed',
    severity: 'critical',
    inDefaultSubscription: true,
    subscribable: true,
    raisedBy: job(
      'RestoreTest',
      'Failed',
      'a RestoreTest job ends Failed: the restore failed, the restored data differs from the manifest of contents, or an assertion failed',
    ),
    data: jobEventDataSchema,
    summarize: (d) => ({
      ...summarizeJob('failed')(d),
      text: `The restore test of ${d.backupInstance}${d.recoveryPointId ? ` (recovery point ${d.recoveryPointId})` : ''} failed: ${d.error?.message ?? ''}`,
    }),
  }),
  ExpiryFailed: spec({
    type: 'pgkeep.expiry.failed',
    title: 'Expiry run failed',
    severity: 'warning',
    inDefaultSubscription: true,
    subscribable: true,
    raisedBy: job('Expiry', 'Failed', 'an Expiry run ends Failed (some points could not be tiered or deleted)'),
    data: jobEventDataSchema,
    summarize: (d) => ({ ...summarizeJob('failed')(d), text: `The expiry run failed: ${d.error?.message ?? ''}` }),
  }),
  ReadinessFailed: spec({
    type: 'pgkeep.readiness.failed',
    title: 'Backup readiness failed',
    severity: 'critical',
    inDefaultSubscription: true,
    subscribable: true,
    raisedBy: job(
      'Backup',
      'Failed',
      `a Backup job ends Failed with a readiness code that will not pass by itself (${persistentReadinessCodes.join(', ')}); raised beside BackupFailed`,
      isPersistentReadiness,
    ),
    data: jobEventDataSchema,
    summarize: (d) => ({
      ...summarizeJob('failed its readiness check')(d),
      text: `${d.backupInstance} is not ready for backup: ${d.error?.message ?? ''}`,
    }),
  }),
  HealthChanged: spec({
    type: 'pgkeep.health.changed',
    title: 'Health changed',
    severity: 'warning',
    inDefaultSubscription: true,
    subscribable: true,
    raisedBy: {
      kind: 'watchdog',
      description: "the watchdog finds an instance's health status different from the one it last recorded",
    },
    data: healthChangedDataSchema,
    summarize: (d) => ({
      text: `${d.backupInstance} is ${d.status} (was ${d.previousStatus})${
        d.reasons.length > 0 ? `: ${d.reasons.map((r) => r.message).join('; ')}` : ''
      }`,
      facts: [
        ...fact('Backup instance', d.backupInstance),
        ...fact('Health', d.status),
        ...fact('Previous health', d.previousStatus),
        ...fact('Reasons', d.reasons.map((r) => r.code).join(', ')),
      ],
      link: { title: 'Open the backup instance', url: d.instanceUrl },
    }),
  }),
  NotificationTest: spec({
    type: 'pgkeep.notification.test',
    title: 'Test notification',
    severity: 'info',
    inDefaultSubscription: false,
    subscribable: false,
    raisedBy: { kind: 'test', description: 'POST /api/notificationChannels/{name}/test, to that channel only' },
    data: notificationTestDataSchema,
    summarize: (d) => ({ text: d.message, facts: fact('Channel', d.channel) }),
  }),
} as const;

export type EventName = keyof typeof eventTypes;
export const eventNames = Object.keys(eventTypes) as EventName[];
/** The names a channel may subscribe to. */
export const subscribableEventNames = eventNames.filter((n) => eventTypes[n].subscribable);
/** A channel's events when it names none: the failure events. */
export const defaultEventNames = eventNames.filter((n) => eventTypes[n].inDefaultSubscription);

export function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && Object.hasOwn(eventTypes, value);
}

/** The events a job's outcome raises, in registry order (none for a job that has not ended). */
export function eventsRaisedByJob(job: JobOutcome): EventName[] {
  return eventNames.filter((name) => {
    const by = eventTypes[name].raisedBy;
    return by.kind === 'job' && by.operation === job.operation && by.status === job.status && (by.when?.(job) ?? true);
  });
}

/** How a person reads an event of this name with this payload (checked against the entry's schema). */
export function summarizeEvent(name: EventName, data: unknown): EventSummary {
  const entry: EventTypeSpec<unknown> = eventTypes[name] as EventTypeSpec<unknown>;
  const parsed = entry.data.safeParse(data);
  if (!parsed.success) return { text: `${entry.title} (unreadable payload)`, facts: [] };
  return entry.summarize(parsed.data);
}
