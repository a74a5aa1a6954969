// Backup slots (issue 15): before it dumps, every backup — scheduled or on demand — takes a slot of its server and of
// the host from the durable semaphores (SlotStore, Table Storage with etags), or waits in their queues as a Queued
// job. The decision is domain/fleet.ts decideSlot; this is its I/O: the server key, ended holders, the job's status.

import { decideSlot, releaseSlot, serverKeyOf, silentWaiters, slotJobIds, type Semaphore } from '../domain/fleet';
import { PgkeepError } from '../errors';
import {
  ConcurrencyError,
  type Clock,
  type InstanceStore,
  type JobStore,
  type SecretResolver,
  type SlotStore,
} from '../ports';
import { parseConnectionString } from '../adapters/postgres/connection-string';
import type { AcquireBackupSlotResult, JobStepInput } from '../workflows/names';

export interface SlotDeps {
  readonly slots: SlotStore;
  readonly jobs: JobStore;
  readonly instances: InstanceStore;
  readonly secrets: SecretResolver;
  readonly clock: Clock;
  readonly limits: { readonly server: number; readonly host: number };
  /** A waiter silent for this long is dropped (its orchestration was terminated); well above the poll interval. */
  readonly silentAfterMs: number;
}

const terminal = new Set(['Succeeded', 'Failed', 'Cancelled']);
/** An entry whose job row cannot be found is dropped once this old (the row is written before any entry). */
const ORPHAN_ENTRY_MS = 3600_000;
const empty: Semaphore = { holders: [], queue: [] };
/** Writers that lost an etag race retry this often; the host row is one for all servers, so races are common. */
const WRITE_ATTEMPTS = 30;

/**
 * Waits a random 5–25 ms times the attempt (capped at 500 ms) before another try of a lost etag race: retrying at
 * once lets the same writers collide again and again (a livelock seen with two workers and a dozen waiters).
 */
function afterLostRace(attempt: number): Promise<void> {
  const ms = Math.min(500, (5 + Math.random() * 20) * (attempt + 1));
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The server key of an instance's backups (domain serverKeyOf), from its connection string when it resolves. */
export async function serverKeyOfInstance(
  deps: Pick<SlotDeps, 'secrets' | 'instances'>,
  instanceName: string,
): Promise<string> {
  const stored = await deps.instances.get(instanceName);
  if (!stored) throw new PgkeepError('UserErrorNotFound', `backup instance '${instanceName}' was not found`);
  const { dataSource, secret } = stored.value;
  try {
    const conn = parseConnectionString(await deps.secrets.resolve(secret), { database: dataSource.resourceName });
    return serverKeyOf(dataSource.resourceID, conn);
  } catch (err) {
    // The readiness step reports the secret's problem; the backup still queues under its id's server.
    if (err instanceof PgkeepError) return serverKeyOf(dataSource.resourceID);
    throw err;
  }
}

/** Entries of ended (or long vanished) jobs, which a crash or a cancelled run left behind. */
async function endedJobs(deps: SlotDeps, sems: Semaphore[], nowMs: number): Promise<Set<string>> {
  const entries = sems.flatMap((s) => [...s.holders, ...s.queue]);
  const ended = new Set<string>();
  await Promise.all(
    [...new Set(sems.flatMap(slotJobIds))].map(async (id) => {
      const job = await deps.jobs.get(id);
      const since = Math.min(...entries.filter((e) => e.jobId === id).map((e) => Date.parse(e.since)));
      if (job ? terminal.has(job.status) : nowMs - since > ORPHAN_ENTRY_MS) ended.add(id);
    }),
  );
  return ended;
}

const dropAll = (sem: Semaphore, ids: Set<string>): Semaphore => [...ids].reduce(releaseSlot, sem);

async function patchQueueState(deps: SlotDeps, jobId: string, fields: Record<string, unknown>, queued: boolean) {
  const job = await deps.jobs.get(jobId);
  if (!job || terminal.has(job.status)) return;
  const { queue: _previous, ...extra } = job.extra ?? {};
  await deps.jobs.patch(jobId, { status: queued ? 'Queued' : 'InProgress', extra: { ...extra, ...fields } });
}

/**
 * One attempt to take the backup's slots. Records the server key on the job before touching a semaphore (so that
 * release always finds it), drops entries of ended jobs when the slots are full, and leaves the job Queued with
 * its place, or InProgress once granted. Safe to repeat.
 */
export async function acquireBackupSlot(deps: SlotDeps, input: JobStepInput): Promise<AcquireBackupSlotResult> {
  const job = await deps.jobs.get(input.jobId);
  const known = job?.extra?.slotKey;
  const serverKey = typeof known === 'string' ? known : await serverKeyOfInstance(deps, input.instanceName);
  if (known === undefined) await patchQueueState(deps, input.jobId, { slotKey: serverKey }, false);
  for (let attempt = 0; ; attempt++) {
    const now = deps.clock.now();
    const read = await deps.slots.read(serverKey);
    let server: Semaphore = read.server?.value ?? empty;
    let host: Semaphore = read.host?.value ?? empty;
    const request = { jobId: input.jobId, serverKey, nowUtc: now.toISOString() };
    let decision = decideSlot(server, host, request, deps.limits);
    if (!decision.granted) {
      const ended = await endedJobs(deps, [server, host], now.getTime());
      const silentSince = new Date(now.getTime() - deps.silentAfterMs).toISOString();
      for (const id of [...silentWaiters(server, silentSince), ...silentWaiters(host, silentSince)]) ended.add(id);
      ended.delete(input.jobId);
      if (ended.size > 0) {
        server = dropAll(server, ended);
        host = dropAll(host, ended);
        decision = decideSlot(server, host, request, deps.limits);
      }
    }
    try {
      await deps.slots.write(
        serverKey,
        { row: decision.server, ...(read.server ? { etag: read.server.etag } : {}) },
        { row: decision.host, ...(read.host ? { etag: read.host.etag } : {}) },
      );
    } catch (err) {
      if (!(err instanceof ConcurrencyError) || attempt >= WRITE_ATTEMPTS) throw err;
      await afterLostRace(attempt);
      continue;
    }
    if (decision.granted) {
      await patchQueueState(deps, input.jobId, { slotKey: serverKey }, false);
      return { granted: true, serverKey };
    }
    const queue = { waitingFor: decision.waitingFor, position: decision.position, since: request.nowUtc };
    await patchQueueState(deps, input.jobId, { slotKey: serverKey, queue }, true);
    return { granted: false, serverKey, waitingFor: decision.waitingFor, position: decision.position };
  }
}

/** Gives the backup's slots (or its places in the queues) back; nothing to do for a job that never asked. */
export async function releaseBackupSlot(deps: Pick<SlotDeps, 'slots' | 'jobs'>, jobId: string): Promise<void> {
  const key = (await deps.jobs.get(jobId))?.extra?.slotKey;
  if (typeof key !== 'string') return;
  for (let attempt = 0; ; attempt++) {
    const read = await deps.slots.read(key);
    const server = read.server?.value ?? empty;
    const host = read.host?.value ?? empty;
    if (!slotJobIds(server).includes(jobId) && !slotJobIds(host).includes(jobId)) return;
    try {
      await deps.slots.write(
        key,
        { row: releaseSlot(server, jobId), ...(read.server ? { etag: read.server.etag } : {}) },
        { row: releaseSlot(host, jobId), ...(read.host ? { etag: read.host.etag } : {}) },
      );
      return;
    } catch (err) {
      if (!(err instanceof ConcurrencyError) || attempt >= WRITE_ATTEMPTS) throw err;
      await afterLostRace(attempt);
    }
  }
}
