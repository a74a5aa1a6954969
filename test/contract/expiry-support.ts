// Setup helpers for the expiry tests: points written as a backup commits them (tiny real blobs, then the row),
// activity deps over given stores, and store wrappers that fail on the Nth call to simulate a crash between steps.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parsePolicy } from '../../shared/domain/policy';
import type { Policy, TagName } from '../../shared/domain/types';
import type { StateStores } from '../../shared/adapters/storage/stores';
import { createExpiryActivities, type ExpiryActivityDeps } from '../../shared/activities/expiry';
import { type Clock, type RecoveryPointRecord, type RecoveryPointStore, type VaultBlobStore } from '../../shared/ports';

import { committedPoint } from '../support/recovery-points';

const fixtures = path.resolve(__dirname, '../../../shared/fixtures/policies');

export function fixtureDocument(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(fixtures, name), 'utf8')) as Record<string, unknown>;
}

export function fixturePolicy(name: string): Policy {
  const parsed = parsePolicy(fixtureDocument(name));
  if (!parsed.ok) throw new Error(`fixture ${name} does not parse`);
  return parsed.value;
}

/** A clock the test moves. */
export function manualClock(iso: string): Clock & { set(iso: string): void } {
  let now = new Date(iso);
  return { now: () => new Date(now), set: (v: string) => (now = new Date(v)) };
}

let seq = 0;

/** Writes a point the way commitRecoveryPoint does: dump and manifest blobs first, then the row with its dates. */
export async function writePoint(
  stores: StateStores,
  blobs: VaultBlobStore,
  options: {
    instanceName: string;
    policy: Policy;
    policyName: string;
    time: string;
    tag: TagName;
    extra?: Partial<RecoveryPointRecord>;
  },
): Promise<RecoveryPointRecord> {
  const jobId = `job${++seq}x${Date.parse(options.time)}`;
  const dump = Buffer.from(`dump of ${options.time}`);
  const committed = committedPoint(blobs, { ...options, jobId, bytes: dump.length, databaseName: 'orders' });
  await blobs.ensureContainer();
  await blobs.blockBlobClient(committed.blobName).upload(dump, dump.length);
  await blobs.putJson(committed.manifestBlobName, { time: options.time });
  const point: RecoveryPointRecord = { ...committed, ...options.extra };
  await stores.recoveryPoints.create(point);
  return point;
}

export function expiryDeps(
  stores: StateStores,
  blobs: ExpiryActivityDeps['blobs'],
  clock: Clock,
  overrides: Partial<ExpiryActivityDeps> = {},
): ExpiryActivityDeps {
  return {
    instances: stores.instances,
    policies: stores.policies,
    recoveryPoints: stores.recoveryPoints,
    jobs: stores.jobs,
    blobs,
    clock,
    settings: { orphanGraceHours: 48, orphanSweepIntervalHours: 168 },
    log: () => undefined,
    ...overrides,
  };
}

export const activitiesOver = (deps: ExpiryActivityDeps) => createExpiryActivities(deps);

/** An error like the Storage SDK's, for an injected failure. */
export class InjectedStorageError extends Error {
  readonly statusCode = 503;
  readonly code = 'ServerBusy';
  constructor(what: string) {
    super(`injected failure: ${what}`);
  }
}

type Method<T> = { [K in keyof T]: T[K] extends (...args: never[]) => unknown ? K : never }[keyof T];

/**
 * Wraps `target` so that the calls of `method` numbered in `failing` (1-based, counted from now) throw, optionally
 * only when `when(args)` holds; every other call goes through.
 */
export function failingOn<T extends object>(
  target: T,
  method: Method<T>,
  failing: readonly number[],
  when: (args: unknown[]) => boolean = () => true,
): T & { calls(): number } {
  let calls = 0;
  const wrapper = Object.create(target) as T & { calls(): number };
  const original = (target[method] as (...args: unknown[]) => unknown).bind(target);
  (wrapper as Record<PropertyKey, unknown>)[method] = (...args: unknown[]) => {
    if (!when(args)) return original(...args);
    calls++;
    if (failing.includes(calls)) return Promise.reject(new InjectedStorageError(`${String(method)} #${calls}`));
    return original(...args);
  };
  wrapper.calls = () => calls;
  return wrapper;
}

/** Every row of an instance, oldest first. */
export async function rowsOf(points: RecoveryPointStore, instanceName: string): Promise<RecoveryPointRecord[]> {
  const out: RecoveryPointRecord[] = [];
  for await (const { value } of points.list(instanceName)) out.push(value);
  return out.reverse();
}

export async function blobNames(blobs: VaultBlobStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const b of blobs.list(prefix)) out.push(b.name);
  return out.sort();
}
