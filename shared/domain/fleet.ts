// Fleet rules (issue 15), pure: which databases of a server can be protected and which a rule selects, what an
// instance is named, which server key a backup queues under, how the durable semaphores grant slots, and the jitter.

import { occurrences } from './schedule';
import type { Policy } from './types';

/** Databases Azure marks not protectable; templates (datistemplate) are added by the caller. */
export const notProtectableDatabases: readonly string[] = [
  'azure_maintenance',
  'azure_sys',
  'template0',
  'template1',
  'postgres',
];

/** Why a database cannot be protected, or undefined when it can. */
export function notProtectableReason(db: { name: string; isTemplate?: boolean; allowConnections?: boolean }) {
  if (notProtectableDatabases.includes(db.name.toLowerCase())) return 'a system database (as in Azure Backup)';
  if (db.isTemplate === true) return 'a template database';
  if (db.allowConnections === false) return 'the database does not allow connections';
  return undefined;
}

/** `*` any run of characters, `?` one character; the whole name must match, case-sensitively (PostgreSQL names). */
export function globMatches(glob: string, name: string): boolean {
  const re = glob
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${re}$`, 's').test(name);
}

/** Whether include (empty = all) and exclude (wins) select the database. */
export function selectedByGlobs(name: string, include?: readonly string[], exclude?: readonly string[]): boolean {
  if (include !== undefined && include.length > 0 && !include.some((g) => globMatches(g, name))) return false;
  return !(exclude ?? []).some((g) => globMatches(g, name));
}

/** `<server>-<database>` as a valid resource name: other characters become `-`, at most 100 characters. */
export function instanceNameFor(serverName: string, database: string): string {
  const raw = `${serverName}-${database}`.replace(/[^A-Za-z0-9._-]/g, '-');
  const trimmed = raw.replace(/^[^A-Za-z0-9]+/, '');
  return trimmed.slice(0, 100);
}

/** The datasource id of a database of a server: ARM's own form for flexible servers, kept for any other id. */
export function databaseResourceId(serverResourceId: string, database: string): string {
  return `${serverResourceId.replace(/\/+$/, '')}/databases/${database}`;
}

/** The server part of `<server id>/databases/<db>`, or undefined. */
export function serverPrefixOf(resourceId: string): string | undefined {
  const i = resourceId.toLowerCase().lastIndexOf('/databases/');
  return i > 0 ? resourceId.slice(0, i) : undefined;
}

const AZURE_PG =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.DBforPostgreSQL\/(?:flexibleServers|servers)\/([^/]+)/i;

/**
 * The key a database's backups queue under: its server's `host:port`. An Azure id names the server's canonical host
 * (`<server>.postgres.database.azure.com:5432`), which is what its connection strings say; otherwise the connection
 * string's host and port; without one (an unreadable secret), the id's server prefix.
 */
export function serverKeyOf(resourceId: string, conn?: { host: string; port: number }): string {
  const azure = AZURE_PG.exec(resourceId);
  if (azure) return `${azure[1]!.toLowerCase()}.postgres.database.azure.com:5432`;
  if (conn) return `${conn.host.toLowerCase()}:${conn.port}`;
  return (serverPrefixOf(resourceId) ?? resourceId).toLowerCase();
}

/** Which databases a discovery run protects and which it reports missing. */
export interface DiscoveryPlan {
  /** Protectable, selected by the auto-protect rule, not protected yet. */
  readonly toProtect: readonly string[];
  /** Instances of this server whose database is gone (not yet marked). */
  readonly missing: readonly string[];
  /** Instances of this server whose database is back (to unmark). */
  readonly returned: readonly string[];
}

export function planDiscovery(input: {
  readonly databases: readonly { name: string; isTemplate?: boolean; allowConnections?: boolean }[];
  /** Instances of this server: name, database, whether already marked missing. */
  readonly instances: readonly { name: string; database: string; missing: boolean }[];
  /** Databases already protected by any instance (of this server or not). */
  readonly protectedDatabases: ReadonlySet<string>;
  readonly rule?: { include?: readonly string[]; exclude?: readonly string[] };
}): DiscoveryPlan {
  const present = new Set(input.databases.map((d) => d.name));
  const toProtect = input.rule
    ? input.databases
        .filter((d) => notProtectableReason(d) === undefined)
        .filter((d) => !input.protectedDatabases.has(d.name))
        .filter((d) => selectedByGlobs(d.name, input.rule?.include, input.rule?.exclude))
        .map((d) => d.name)
    : [];
  return {
    toProtect,
    missing: input.instances.filter((i) => !i.missing && !present.has(i.database)).map((i) => i.name),
    returned: input.instances.filter((i) => i.missing && present.has(i.database)).map((i) => i.name),
  };
}

// --- durable semaphores ---

export interface SemaphoreEntry {
  readonly jobId: string;
  readonly since: string;
  readonly server?: string;
  /** A waiter's last attempt: one that stopped asking (its orchestration was terminated) can be dropped. */
  readonly seen?: string;
}

export interface Semaphore {
  readonly holders: readonly SemaphoreEntry[];
  readonly queue: readonly SemaphoreEntry[];
  readonly limit?: number;
}

export type SlotDecision =
  | { readonly granted: true; readonly server: Semaphore; readonly host: Semaphore }
  | {
      readonly granted: false;
      readonly server: Semaphore;
      readonly host: Semaphore;
      /** Which semaphore it waits in, and its 1-based place in that queue. */
      readonly waitingFor: 'server' | 'host';
      readonly position: number;
    };

const without = (entries: readonly SemaphoreEntry[], jobId: string) => entries.filter((e) => e.jobId !== jobId);
const has = (entries: readonly SemaphoreEntry[], jobId: string) => entries.some((e) => e.jobId === jobId);

/**
 * One attempt of a backup to take a slot of its server and of the host. A backup first waits in its server's queue
 * (first come, first served); at the head with a free server slot it reserves that slot and waits in the host's
 * queue, so a server never has more than its limit and a full server does not hold up backups of other servers.
 * Granted when it holds both. Idempotent: a holder asking again is granted without change.
 */
export function decideSlot(
  server: Semaphore,
  host: Semaphore,
  request: { jobId: string; serverKey: string; nowUtc: string },
  limits: { server: number; host: number },
): SlotDecision {
  const { jobId } = request;
  const serverLimit = server.limit ?? limits.server;
  let s = server;
  let h = host;
  if (has(h.holders, jobId) && has(s.holders, jobId)) return { granted: true, server: s, host: h };
  const seen = (e: SemaphoreEntry) => (e.jobId === jobId ? { ...e, seen: request.nowUtc } : e);
  s = { ...s, queue: s.queue.map(seen) };
  h = { ...h, queue: h.queue.map(seen) };
  if (!has(s.holders, jobId)) {
    if (!has(s.queue, jobId)) s = { ...s, queue: [...s.queue, { jobId, since: request.nowUtc, seen: request.nowUtc }] };
    const place = s.queue.findIndex((e) => e.jobId === jobId);
    if (place >= serverLimit - s.holders.length) {
      return { granted: false, server: s, host: h, waitingFor: 'server', position: place + 1 };
    }
    s = { ...s, holders: [...s.holders, { jobId, since: request.nowUtc }], queue: without(s.queue, jobId) };
  }
  if (!has(h.queue, jobId) && !has(h.holders, jobId)) {
    h = {
      ...h,
      queue: [...h.queue, { jobId, since: request.nowUtc, server: request.serverKey, seen: request.nowUtc }],
    };
  }
  if (!has(h.holders, jobId)) {
    const place = h.queue.findIndex((e) => e.jobId === jobId);
    if (place >= limits.host - h.holders.length) {
      return { granted: false, server: s, host: h, waitingFor: 'host', position: place + 1 };
    }
    h = {
      ...h,
      holders: [...h.holders, { jobId, since: request.nowUtc, server: request.serverKey }],
      queue: without(h.queue, jobId),
    };
  }
  // A granted backup is a holder only: its queue entries (with their `seen`) are gone.
  return { granted: true, server: s, host: h };
}

/** Removes a backup from both semaphores (its slot, or its place in a queue). */
export function releaseSlot(sem: Semaphore, jobId: string): Semaphore {
  return { ...sem, holders: without(sem.holders, jobId), queue: without(sem.queue, jobId) };
}

/** Waiters that have not asked since `beforeUtc` (their orchestration is gone): safe to drop. */
export function silentWaiters(sem: Semaphore, beforeUtc: string): string[] {
  return sem.queue.filter((e) => Date.parse(e.seen ?? e.since) < Date.parse(beforeUtc)).map((e) => e.jobId);
}

/** Every job id a semaphore names (holders and waiters), for the check of ended jobs. */
export function slotJobIds(sem: Semaphore): string[] {
  return [...sem.holders, ...sem.queue].map((e) => e.jobId);
}

/**
 * The deterministic jitter of a scheduled backup: a delay in [0, windowSeconds) from a hash of the instance name,
 * so a fleet on one schedule spreads over the window and each instance keeps its place in it from week to week.
 */
export function jitterSeconds(instanceName: string, windowSeconds: number): number {
  if (windowSeconds <= 0) return 0;
  let h = 2166136261;
  for (let i = 0; i < instanceName.length; i++) {
    h ^= instanceName.charCodeAt(i);
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h % windowSeconds;
}

/**
 * The jitter window (seconds) a policy allows after `slot`: `setting`, but at most half the time to the policy's
 * next slot, so a jittered backup never runs into the next one of the same instance (an hourly policy with a
 * two-hour setting spreads over 30 minutes).
 */
export function policyJitterWindow(policy: Policy, slot: string, setting: number): number {
  if (setting <= 0) return 0;
  const from = new Date(Date.parse(slot) + 1).toISOString();
  const to = new Date(Date.parse(slot) + 2 * setting * 1000 + 1).toISOString();
  const next = occurrences(policy.schedule, from, to)[0];
  return next === undefined ? setting : Math.min(setting, Math.floor((Date.parse(next) - Date.parse(slot)) / 2000));
}
