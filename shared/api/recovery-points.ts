// Recovery point routes (design §3): list newest first (optionally bounded by time, optionally paged with $top and
// nextLink), get one with its manifest, and the timeline of an instance's points per tier (the console's chart).

import type { DataStore } from '../domain/types';
import type { ApiDeps } from './deps';
import { json, notFound, param } from './http';
import { validate } from '../contracts/validation';
import { recoveryPointListQuerySchema, type RecoveryPointTimeline } from '../contracts/recovery-points';
import type { ApiRequest, ApiResponse } from '../contracts/http';
import { loadInstance } from './instances';
import { listOf, toRecoveryPointResource } from './resources';

const DAY_MS = 86_400_000;

type Bucket = RecoveryPointTimeline['bucket'];

/** Days up to two months of history, ISO weeks up to two years, months beyond: at most ~120 bars. */
export function bucketFor(oldestMs: number, nowMs: number): Bucket {
  const days = (nowMs - oldestMs) / DAY_MS;
  return days <= 62 ? 'day' : days <= 731 ? 'week' : 'month';
}

/** A timeline starts this many buckets before now at the latest, so that a young instance still shows a span. */
const MIN_BUCKETS = 14;

/** The UTC start of the bucket holding `ms`. */
export function bucketStart(bucket: Bucket, ms: number): number {
  const d = new Date(ms);
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  if (bucket === 'day') return day;
  if (bucket === 'week') return day - ((d.getUTCDay() + 6) % 7) * DAY_MS; // back to Monday
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

function minStart(bucket: Bucket, nowMs: number): number {
  let start = bucketStart(bucket, nowMs);
  for (let i = 1; i < MIN_BUCKETS; i++) start = previousBucket(bucket, start);
  return start;
}

function previousBucket(bucket: Bucket, startMs: number): number {
  if (bucket === 'day') return startMs - DAY_MS;
  if (bucket === 'week') return startMs - 7 * DAY_MS;
  const d = new Date(startMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1);
}

function nextBucket(bucket: Bucket, startMs: number): number {
  if (bucket === 'day') return startMs + DAY_MS;
  if (bucket === 'week') return startMs + 7 * DAY_MS;
  const d = new Date(startMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

export function recoveryPointRoutes(deps: ApiDeps) {
  async function list(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    // A deleted instance's kept points stay listable until they expire.
    await loadInstance(deps, name, { includeDeleted: true });
    const q = validate(recoveryPointListQuerySchema, Object.fromEntries(req.query.entries()), 'query');
    const options = {
      ...(q.from ? { from: new Date(q.from).toISOString() } : {}),
      ...(q.to ? { to: new Date(q.to).toISOString() } : {}),
      ...(q.$skipToken ? { afterId: q.$skipToken } : {}),
      ...(q.$top ? { limit: q.$top } : {}),
    };
    const value = [];
    let scanned = 0;
    let lastId: string | undefined;
    for await (const { value: rp } of deps.recoveryPoints.list(name, options)) {
      scanned++;
      lastId = rp.id;
      if (rp.status === 'Available') value.push(toRecoveryPointResource(deps.vaultId, rp));
    }
    // A full page may have more behind it; the next page starts after the last row read (pages can be short when
    // points being deleted were skipped, as Azure's pages can).
    let nextLink: string | undefined;
    if (q.$top !== undefined && scanned === q.$top && lastId !== undefined) {
      const next = new URL(req.url);
      next.searchParams.set('$skipToken', lastId);
      nextLink = next.toString();
    }
    return json(200, listOf(value, nextLink));
  }

  async function get(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    const id = param(req, 'id');
    const stored = await deps.recoveryPoints.get(name, id);
    if (!stored || stored.value.status === 'Deleted') throw notFound('recovery point', `${name}/${id}`);
    const manifest = await deps.readManifest(name, id);
    return json(200, toRecoveryPointResource(deps.vaultId, stored.value, manifest ?? null));
  }

  /** GET …/recoveryPointTimeline: Available points per tier in consecutive buckets from the oldest to now. */
  async function timeline(req: ApiRequest): Promise<ApiResponse> {
    const name = param(req, 'name');
    await loadInstance(deps, name, { includeDeleted: true });
    const points: { ms: number; store: DataStore; bytes: number }[] = [];
    for await (const { value } of deps.recoveryPoints.list(name)) {
      if (value.status === 'Available')
        points.push({ ms: Date.parse(value.time), store: value.dataStore, bytes: value.bytes });
    }
    const zero = () => ({ VaultStore: 0, ArchiveStore: 0 });
    const totals = { points: zero(), bytes: zero() };
    const nowMs = deps.clock.now().getTime();
    // Newest first from the store: the last one is the oldest.
    const oldestMs = points.at(-1)?.ms ?? nowMs;
    const bucket = bucketFor(oldestMs, nowMs);
    const value: RecoveryPointTimeline['value'] = [];
    const index = new Map<number, number>();
    const first = Math.min(bucketStart(bucket, oldestMs), minStart(bucket, nowMs));
    for (let start = first; start <= nowMs; start = nextBucket(bucket, start)) {
      index.set(start, value.length);
      value.push({ start: new Date(start).toISOString(), points: zero(), bytes: zero() });
    }
    for (const p of points) {
      totals.points[p.store]++;
      totals.bytes[p.store] += p.bytes;
      const i = index.get(bucketStart(bucket, p.ms));
      // A point stamped after now (clock skew) joins the last bucket.
      const entry = value[i ?? value.length - 1];
      if (!entry) continue;
      entry.points[p.store]++;
      entry.bytes[p.store] += p.bytes;
    }
    const body: RecoveryPointTimeline = {
      bucket,
      value: points.length === 0 ? [] : value,
      totals,
      ...(points.length > 0
        ? { oldest: new Date(oldestMs).toISOString(), newest: new Date(points[0]!.ms).toISOString() }
        : {}),
    };
    return json(200, body);
  }

  return { list, get, timeline };
}
