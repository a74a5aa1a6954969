// The retention planner (design §7): what expiry must do to an instance's recovery points at one instant, and the
// read-only preview of the same decisions. Pure and deterministic; one pass over the points after one sort.
import { epochMs } from './instants';
import { lifecycleOf, lifecyclesOf, type PointLifecycle } from './lifecycle';
import type { DataStore, IsoDuration, Policy, PointView, RecoveryPointStatus, RetentionAction, TagName } from './types';

/** Protected: scheduled backups run, the floor holds. Stopped: points expire by their dates, no floor.
 *  StoppedDeleteData: stopProtection with deleteBackupData true — every point goes now. */
export type ProtectionState = 'Protected' | 'Stopped' | 'StoppedDeleteData';

/** One point as the retention preview shows it. */
export interface RetentionPreviewEntry {
  readonly id: string;
  readonly time: string;
  readonly tag: TagName;
  readonly dataStore: DataStore;
  readonly status: RecoveryPointStatus;
  /** The scheduled move into ArchiveStore, when the point's rule moves it (in the past if it already moved). */
  readonly movesToArchiveAt?: string;
  readonly deleteAt: string;
  /** The newest Available point of a protected instance: never deleted, even past deleteAt. */
  readonly floorProtected: boolean;
  /** What an expiry run at asOf would do to this point (empty: nothing). */
  readonly actionsAtAsOf: readonly RetentionAction[];
}

/**
 * The actions expiry must take at `nowUtc`, ordered by point time then id. Applying them (moved → ArchiveStore,
 * deleted → gone, rehydrated copy expired → rehydratedUntil cleared) and planning again at the same instant yields
 * no actions. A delete removes everything of the point, its rehydrated copy included.
 */
export function planRetention(
  points: readonly PointView[],
  policy: Policy,
  nowUtc: string,
  protection: ProtectionState,
): RetentionAction[] {
  const ctx = contextOf(points, policy, nowUtc, protection);
  const actions: RetentionAction[] = [];
  for (const entry of ctx.ordered) decide(entry, ctx, actions, false);
  return actions;
}

/** Every point that still exists, with its dates and what expiry would do at `asOfUtc` (the same planner). */
export function previewRetention(
  points: readonly PointView[],
  policy: Policy,
  asOfUtc: string,
  protection: ProtectionState,
): RetentionPreviewEntry[] {
  const ctx = contextOf(points, policy, asOfUtc, protection);
  const preview: RetentionPreviewEntry[] = [];
  for (const entry of ctx.ordered) {
    const { point } = entry;
    if (point.status === 'Deleted') continue;
    const actions: RetentionAction[] = [];
    const lc = decide(entry, ctx, actions, true) ?? lifecycleFor(ctx, point);
    preview.push({
      id: point.id,
      time: point.time,
      tag: point.tag,
      dataStore: point.dataStore,
      status: point.status,
      ...(lc.movesToArchive ? { movesToArchiveAt: lc.vaultUntil } : {}),
      deleteAt: lc.deleteAt,
      floorProtected: point.id === ctx.floorId,
      actionsAtAsOf: actions,
    });
  }
  return preview;
}

interface Entry {
  readonly point: PointView;
  readonly ms: number;
}

interface Context {
  readonly policy: Policy;
  readonly nowIso: string;
  readonly now: number;
  readonly protection: ProtectionState;
  readonly ordered: readonly Entry[];
  readonly floorId: string | undefined;
  /** Per rule tag: lower bounds of the lifetimes, to skip date arithmetic for points that cannot be due yet. */
  readonly bounds: Map<TagName, LifetimeBounds>;
}

function contextOf(points: readonly PointView[], policy: Policy, nowUtc: string, protection: ProtectionState): Context {
  const ordered = points.map((point) => ({ point, ms: epochMs(point.time) }));
  ordered.sort(byTimeThenId);
  let floorId: string | undefined;
  if (protection === 'Protected') {
    for (let i = ordered.length - 1; i >= 0; i--) {
      const candidate = ordered[i]!.point;
      if (candidate.status === 'Available') {
        floorId = candidate.id;
        break;
      }
    }
  }
  return { policy, nowIso: nowUtc, now: epochMs(nowUtc), protection, ordered, floorId, bounds: new Map() };
}

function byTimeThenId(a: Entry, b: Entry): number {
  if (a.ms !== b.ms) return a.ms - b.ms;
  return a.point.id < b.point.id ? -1 : a.point.id > b.point.id ? 1 : 0;
}

/**
 * Appends the point's actions at ctx.now to `out`; returns its lifecycle when it had to be computed (always when
 * `needLifecycle`). Deleting a point makes every other action on it moot.
 */
function decide(
  entry: Entry,
  ctx: Context,
  out: RetentionAction[],
  needLifecycle: boolean,
): PointLifecycle | undefined {
  const { point } = entry;
  const lc = needLifecycle ? lifecycleFor(ctx, point) : undefined;
  if (point.status === 'Deleted') return lc;
  // A restore is reading the point (or its rehydrated copy): leave it alone until it is done.
  if (point.inUseUntil !== undefined && epochMs(point.inUseUntil) > ctx.now) return lc;

  if (ctx.protection === 'StoppedDeleteData') {
    out.push({ kind: 'delete', pointId: point.id, due: ctx.nowIso, reason: 'protectionStoppedDeleteData' });
    return lc;
  }

  if (point.status === 'Deleting') {
    // An interrupted delete: the row is already marked, finish it whatever the dates say.
    const dates = lc ?? lifecycleFor(ctx, point);
    const due = epochMs(dates.deleteAt) <= ctx.now ? dates.deleteAt : ctx.nowIso;
    out.push({ kind: 'delete', pointId: point.id, due, reason: 'expired' });
    return dates;
  }

  let dates = lc;
  if (dates === undefined && ctx.now >= entry.ms + earliestActionMs(ctx, point)) dates = lifecycleFor(ctx, point);
  if (dates !== undefined) {
    if (ctx.now >= epochMs(dates.deleteAt) && point.id !== ctx.floorId) {
      out.push({ kind: 'delete', pointId: point.id, due: dates.deleteAt, reason: 'expired' });
      return dates;
    }
    if (point.dataStore === 'VaultStore' && dates.movesToArchive && ctx.now >= epochMs(dates.vaultUntil)) {
      out.push({ kind: 'moveToArchive', pointId: point.id, due: dates.vaultUntil });
    }
  }
  if (point.rehydratedUntil !== undefined && epochMs(point.rehydratedUntil) <= ctx.now) {
    out.push({ kind: 'expireRehydrated', pointId: point.id, due: point.rehydratedUntil });
  }
  return dates;
}

function lifecycleFor(ctx: Context, point: PointView): PointLifecycle {
  return lifecycleOf(ctx.policy, point.time, ruleTagOf(ctx.policy, point.tag));
}

/** A point whose tag the (changed) policy no longer has is kept by the Default rule (docs/decisions.md). */
function ruleTagOf(policy: Policy, tag: TagName): TagName {
  return policy.retention[tag] === undefined ? 'Default' : tag;
}

interface LifetimeBounds {
  readonly vaultMs: number;
  readonly movesToArchive: boolean;
  readonly totalMs: number;
}

/**
 * How long after its time a point surely has nothing due: a vault point whose rule archives it can move at the
 * end of the vault lifetime; any other point can only be deleted, at the end of its whole lifetime.
 */
function earliestActionMs(ctx: Context, point: PointView): number {
  const tag = ruleTagOf(ctx.policy, point.tag);
  let b = ctx.bounds.get(tag);
  if (b === undefined) {
    const { vault, archive } = lifecyclesOf(ctx.policy, tag);
    const vaultMs = minimumLengthMs(vault.deleteAfter);
    const movesToArchive = vault.copyOnExpiryTo === 'ArchiveStore' && archive !== undefined;
    b = { vaultMs, movesToArchive, totalMs: vaultMs + (movesToArchive ? minimumLengthMs(archive.deleteAfter) : 0) };
    ctx.bounds.set(tag, b);
  }
  return point.dataStore === 'VaultStore' && b.movesToArchive ? b.vaultMs : b.totalMs;
}

const hourMs = 3_600_000;
const dayMs = 24 * hourMs;
// Local-calendar days can be shorter than 24 h (DST, and zones that skipped a whole date): stay well below.
const calendarSlackMs = 3 * dayMs;

/** A duration's shortest possible length on any local calendar: months ≥ 28 days, years ≥ 365 days. */
export function minimumLengthMs(d: IsoDuration): number {
  const days = d.years * 365 + d.months * 28 + d.weeks * 7 + d.days;
  const exact = d.hours * hourMs + d.minutes * 60_000 + d.seconds * 1000;
  return Math.max(0, days * dayMs + exact - calendarSlackMs);
}
