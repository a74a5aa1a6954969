// The outbox's hook on job outcomes (docs/decisions.md "Health and alerts"): a JobStore that, whenever a job is
// written with an ending status, first raises the events that outcome raises (registry.ts) and only then writes the
// job. Every path that ends a job — backup, restore and expiry activities, the API's synchronous failures, the
// watchdog's missed slots — goes through the job store, so none can forget the event, and a crash between the two
// writes is repaired by the retried step, which raises the same event ids (kept once) and writes the job.

import type { JobRecord, JobStatus, JobStore } from '../ports';
import type { EventRaiser } from './outbox';
import { jobEvents, type EventLinks } from './records';

const ending: readonly JobStatus[] = ['Succeeded', 'Failed', 'Cancelled'];

export interface OutcomeDeps {
  readonly raiser: EventRaiser;
  /** The CloudEvents source: the vault's id. */
  readonly source: string;
  readonly links: EventLinks;
  readonly nowIso: () => string;
  /** Called once per job when its ending status is first written (telemetry). */
  readonly onEnded?: (job: JobRecord) => void;
}

export function withOutcomeEvents(jobs: JobStore, deps: OutcomeDeps): JobStore {
  const raiseFor = (job: JobRecord) => deps.raiser.raise(jobEvents(job, deps.source, deps.links, deps.nowIso()));
  return {
    get: (id) => jobs.get(id),
    list: (filter) => jobs.list(filter),

    async create(job) {
      if (ending.includes(job.status)) await raiseFor(job);
      await jobs.create(job);
      if (ending.includes(job.status)) deps.onEnded?.(job);
    },

    async patch(id, fields) {
      const status = fields.status;
      if (status === undefined || !ending.includes(status)) return jobs.patch(id, fields);
      const current = await jobs.get(id);
      // Missing: the store's own not-found. Already ended so: its events were raised before that write.
      if (!current || current.status === status) return jobs.patch(id, fields);
      const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
      const ended: JobRecord = { ...current, ...defined };
      await raiseFor(ended);
      await jobs.patch(id, fields);
      deps.onEnded?.(ended);
    },
  };
}
