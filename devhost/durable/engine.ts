// The Durable engine: plays the extension + DTFx around the real durable-functions replay engine. It keeps each
// instance's history, applies one new event per episode (protocol §2.7.3), allocates sequence ids exactly as DTFx
// would, runs activities/timers/sub-orchestrations, and writes every pending item to storage before acting on it.
import { randomUUID } from 'node:crypto';
import type { FunctionRegistry } from '../core-shim';
import { decodeRpcTypedData, invokeFunction, type InvokeResult, type RpcTypedData } from '../invoke';
import type { DurableStore } from './store';
import { summarize } from './store';
import {
  EventType,
  TERMINAL,
  type ActivityItem,
  type FailureDetailsWire,
  type HistoryEvent,
  type InstanceState,
  type InstanceSummary,
  type MessageItem,
  type RecordedAction,
  type RetryOptionsWire,
  type RetryRecord,
  type SubStartItem,
  type TimerItem,
  type WorkItem,
} from './types';

const ActionType = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  CallSubOrchestrator: 2,
  CallSubOrchestratorWithRetry: 3,
  ContinueAsNew: 4,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  CallEntity: 7,
  CallHttp: 8,
  SignalEntity: 9,
  WhenAny: 11,
  WhenAll: 12,
  LockEntities: 13,
  ReleaseEntities: 14,
} as const;

const UNSUPPORTED: Record<number, string> = {
  7: 'callEntity (Durable Entities)',
  8: 'callHttp',
  9: 'signalEntity (Durable Entities)',
  13: 'lock (Durable Entities)',
  14: 'entity lock release (Durable Entities)',
};

const OUT_OF_PROC_MARKER = '$OutOfProcData$:';
const MAX_TIMEOUT_MS = 2_147_000_000;

interface WireAction {
  actionType: number;
  functionName?: string;
  input?: unknown;
  instanceId?: string;
  version?: string;
  retryOptions?: RetryOptionsWire;
  fireAt?: string;
  isCanceled?: boolean;
  externalEventName?: string;
  compoundActions?: WireAction[];
}

interface OrchestratorStateWire {
  isDone: boolean;
  actions: (WireAction | WireAction[])[];
  output?: unknown;
  customStatus?: unknown;
  error?: string;
  failureDetails?: FailureDetailsWire;
}

export class StartConflictError extends Error {}
export class UnknownOrchestratorError extends Error {}

export interface EngineOptions {
  registry: FunctionRegistry;
  store: DurableStore;
  log: (msg: string) => void;
  maxConcurrentActivities: number;
}

/** Activity and ContinueAsNew inputs are pre-JSON-encoded when they are strings (protocol §2.4). */
function actionInputValue(input: unknown): unknown {
  return typeof input === 'string' ? (JSON.parse(input) as unknown) : input;
}

function flatten(actions: (WireAction | WireAction[])[], out: WireAction[] = []): WireAction[] {
  for (const a of actions) {
    if (Array.isArray(a)) flatten(a, out);
    else if (a.compoundActions) flatten(a.compoundActions, out);
    else out.push(a);
  }
  return out;
}

function describe(a: { actionType: number; functionName?: string; externalEventName?: string }): string {
  const name = a.functionName ?? a.externalEventName;
  const type = Object.entries(ActionType).find(([, v]) => v === a.actionType)?.[0] ?? `action ${a.actionType}`;
  return name === undefined ? type : `${type} '${name}'`;
}

function retryDelayMs(o: RetryOptionsWire, failedAttempt: number): number {
  const raw = o.firstRetryIntervalInMilliseconds * Math.pow(o.backoffCoefficient ?? 1, failedAttempt - 1);
  return Math.max(0, o.maxRetryIntervalInMilliseconds ? Math.min(raw, o.maxRetryIntervalInMilliseconds) : raw);
}

/** Activity errors: a JSON message with errorType (exception-properties provider) becomes FailureDetails. */
export function activityFailure(name: string, err: Error): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(err.message);
  } catch {
    parsed = undefined;
  }
  if (parsed && typeof parsed === 'object' && typeof (parsed as { errorType?: unknown }).errorType === 'string') {
    const p = parsed as {
      errorType: string;
      errorMessage?: string;
      stackTrace?: string;
      isNonRetriable?: boolean;
      properties?: Record<string, unknown>;
    };
    const details: FailureDetailsWire = {
      ErrorType: p.errorType,
      ErrorMessage: p.errorMessage ?? '',
      IsNonRetriable: p.isNonRetriable ?? false,
    };
    if (p.stackTrace) details.StackTrace = p.stackTrace;
    if (p.properties) details.Properties = p.properties;
    return {
      Reason: `Activity function '${name}' failed: ${details.ErrorMessage}`,
      Details: p.stackTrace ?? '',
      FailureDetails: details,
    };
  }
  return { Reason: `Activity function '${name}' failed: ${err.message}`, Details: err.stack ?? String(err) };
}

export class DurableEngine {
  readonly #o: EngineOptions;
  readonly states = new Map<string, InstanceState>();
  readonly summaries = new Map<string, InstanceSummary>();
  readonly #inbox = new Map<string, MessageItem[]>();
  readonly #work = new Map<string, WorkItem>();
  readonly #running = new Set<string>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #waiters: (() => void)[] = [];
  #activeActivities = 0;
  #seq = 0;
  #stopped = false;
  #abandoned = false;
  /** Episodes and storage writes, awaited by stop(). */
  readonly #pending = new Set<Promise<unknown>>();
  /** Running activities, awaited by stop() until the host gives up on them (abandon()). */
  readonly #activities = new Set<Promise<unknown>>();

  constructor(o: EngineOptions) {
    this.#o = o;
  }

  // ---- lifecycle -------------------------------------------------------------------------------------------

  /** Loads every instance and pending item from storage and resumes them. */
  async start(): Promise<void> {
    this.#stopped = false;
    for (const s of await this.#o.store.listSummaries()) this.summaries.set(s.instanceId, s);
    const items = await this.#o.store.listWork();
    const ids = new Set(items.map((i) => i.instanceId));
    for (const s of this.summaries.values()) if (!TERMINAL.includes(s.runtimeStatus)) ids.add(s.instanceId);
    for (const id of ids) {
      const st = await this.#o.store.loadState(id);
      if (st) {
        this.states.set(id, st);
        this.summaries.set(id, summarize(st));
      }
    }
    for (const item of items) {
      this.#work.set(`${item.instanceId}\n${item.key}`, item);
      if (item.kind === 'message') this.#addInbox(item);
    }
    // A start that crashed between saving the instance and queueing its start message.
    for (const st of this.states.values()) {
      if (st.status === 'Pending' && st.history.length === 0 && !(this.#inbox.get(st.instanceId)?.length ?? 0)) {
        await this.#enqueue({
          kind: 'message',
          instanceId: st.instanceId,
          key: this.#messageKey(),
          executionId: st.executionId,
          message: { type: 'start', executionId: st.executionId },
        });
      }
    }
    const resumed = [...this.states.values()].filter((s) => !TERMINAL.includes(s.status)).length;
    if (resumed || items.length) {
      this.#o.log(`Durable: resuming ${resumed} in-flight instance(s) and ${items.length} pending work item(s)`);
    }
    for (const item of items) if (item.kind !== 'message') this.#dispatch(item);
    for (const id of this.#inbox.keys()) this.#kick(id);
  }

  /**
   * Takes no new work — no episode, activity, timer or sub-orchestration starts — and resolves once the running
   * episodes and activities have ended and written their results. The host bounds the wait and then calls abandon().
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    while (this.#pending.size || this.#activities.size) {
      await Promise.allSettled([...this.#pending, ...this.#activities]);
    }
  }

  /**
   * Gives up on the activities still running: nothing more is written for them, so their work items stay in storage
   * and they run again after the next start (at-least-once, as when the host crashes). Returns how many there were.
   */
  abandon(): number {
    this.#abandoned = true;
    return this.#activities.size;
  }

  #track<T>(p: Promise<T>, kind: 'episode' | 'activity' = 'episode'): void {
    const set = kind === 'activity' ? this.#activities : this.#pending;
    set.add(p);
    void p
      .catch((err: unknown) => {
        if (kind === 'activity') this.#o.log(`Durable: activity: ${err instanceof Error ? err.message : String(err)}`);
      })
      .finally(() => set.delete(p));
  }

  // ---- client operations ---------------------------------------------------------------------------------

  isOrchestrator(name: string): boolean {
    const fn = this.#o.registry.functions.get(name);
    return !!fn && Object.values(fn.bindings).some((b) => b.type === 'orchestrationTrigger');
  }

  async startNew(name: string, instanceId: string | undefined, input: unknown, version?: string): Promise<string> {
    if (!this.isOrchestrator(name))
      throw new UnknownOrchestratorError(`orchestrator function '${name}' does not exist`);
    const id = instanceId ?? randomUUID().replace(/-/g, '');
    const existing = this.summaries.get(id);
    if (existing && !TERMINAL.includes(existing.runtimeStatus)) {
      throw new StartConflictError(
        `an instance with id '${id}' is already ${existing.runtimeStatus.toLowerCase()}; ` +
          'it can be restarted once it has completed, failed or been terminated',
      );
    }
    await this.#createInstance(id, name, input, version ?? null);
    return id;
  }

  async #createInstance(
    id: string,
    name: string,
    input: unknown,
    version: string | null,
    parent?: InstanceState['parent'],
  ): Promise<void> {
    const now = new Date().toISOString();
    const st: InstanceState = {
      instanceId: id,
      name,
      version,
      executionId: randomUUID().replace(/-/g, ''),
      status: 'Pending',
      input: input === undefined ? null : input,
      output: null,
      customStatus: null,
      createdTime: now,
      lastUpdatedTime: now,
      history: [],
      actions: [],
      nextId: 0,
      retries: {},
      applied: [],
    };
    if (parent) st.parent = parent;
    // A restarted id drops whatever the previous run left pending.
    for (const [k, w] of this.#work) {
      if (w.instanceId === id && w.kind !== 'message') {
        this.#work.delete(k);
        this.#clearTimer(w);
      }
    }
    this.states.set(id, st);
    this.summaries.set(id, summarize(st));
    await this.#o.store.saveState(st);
    await this.#enqueue({
      kind: 'message',
      instanceId: id,
      key: this.#messageKey(),
      executionId: st.executionId,
      message: { type: 'start', executionId: st.executionId },
    });
  }

  /** Queues a control message (event, terminate, suspend, resume) for a non-terminal instance. */
  async send(instanceId: string, message: MessageItem['message']): Promise<void> {
    const st = this.states.get(instanceId);
    await this.#enqueue({
      kind: 'message',
      instanceId,
      key: this.#messageKey(),
      ...(st && message.type === 'event' ? { executionId: st.executionId } : {}),
      message,
    });
  }

  async getState(instanceId: string): Promise<InstanceState | undefined> {
    return this.states.get(instanceId) ?? (await this.#o.store.loadState(instanceId));
  }

  async purge(instanceId: string): Promise<boolean> {
    const s = this.summaries.get(instanceId);
    if (!s || !TERMINAL.includes(s.runtimeStatus)) return false;
    const keys = [...this.#work.values()].filter((w) => w.instanceId === instanceId).map((w) => w.key);
    for (const k of keys) this.#work.delete(`${instanceId}\n${k}`);
    this.#inbox.delete(instanceId);
    await this.#o.store.purge(instanceId, keys);
    this.states.delete(instanceId);
    this.summaries.delete(instanceId);
    return true;
  }

  // ---- inbox and episodes --------------------------------------------------------------------------------

  #messageKey(): string {
    this.#seq = (this.#seq + 1) % 1_000_000;
    return `m-${Date.now().toString().padStart(15, '0')}-${this.#seq.toString().padStart(6, '0')}-${randomUUID().slice(0, 8)}`;
  }

  #addInbox(item: MessageItem): void {
    const list = this.#inbox.get(item.instanceId) ?? [];
    if (!list.some((m) => m.key === item.key)) list.push(item);
    list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.#inbox.set(item.instanceId, list);
  }

  async #enqueue(item: MessageItem): Promise<void> {
    await this.#o.store.putWork(item);
    this.#work.set(`${item.instanceId}\n${item.key}`, item);
    this.#addInbox(item);
    this.#kick(item.instanceId);
  }

  #kick(instanceId: string): void {
    if (this.#stopped || this.#running.has(instanceId)) return;
    if (!this.#nextMessage(instanceId)) return;
    this.#running.add(instanceId);
    let failed = false;
    const p = this.#drain(instanceId)
      .catch((err: unknown) => {
        failed = true;
        this.#o.log(
          `Durable: instance ${instanceId}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
        );
        // The in-memory state may hold a half-applied episode: reload it from storage and try again shortly.
        this.states.delete(instanceId);
        setTimeout(() => this.#kick(instanceId), 1000).unref();
      })
      .finally(() => {
        this.#running.delete(instanceId);
        // A message may have arrived between the last check and now.
        if (!failed) this.#kick(instanceId);
      });
    this.#track(p, 'episode');
  }

  /** The next message an episode may apply: a suspended instance only takes resume or terminate. */
  #nextMessage(instanceId: string): MessageItem | undefined {
    const list = this.#inbox.get(instanceId) ?? [];
    const st = this.states.get(instanceId);
    return st?.status === 'Suspended'
      ? list.find((m) => m.message.type === 'resume' || m.message.type === 'terminate')
      : list[0];
  }

  async #drain(instanceId: string): Promise<void> {
    for (;;) {
      if (this.#stopped) return;
      if (!this.states.has(instanceId)) {
        const loaded = await this.#o.store.loadState(instanceId);
        if (loaded) this.states.set(instanceId, loaded);
      }
      const st = this.states.get(instanceId);
      const msg = this.#nextMessage(instanceId);
      if (!msg) return;
      if (!st) {
        await this.#consume(msg);
        continue;
      }
      await this.#episode(st, msg);
    }
  }

  async #consume(msg: MessageItem): Promise<void> {
    await this.#o.store.deleteWork(msg.instanceId, msg.key);
    this.#work.delete(`${msg.instanceId}\n${msg.key}`);
    const list = this.#inbox.get(msg.instanceId);
    if (list) {
      const i = list.indexOf(msg);
      if (i >= 0) list.splice(i, 1);
    }
  }

  #timestamp(st: InstanceState, atLeast?: string): string {
    let t = Date.now();
    const last = st.history[st.history.length - 1];
    if (last) t = Math.max(t, Date.parse(last.Timestamp));
    if (atLeast) t = Math.max(t, Date.parse(atLeast));
    return new Date(t).toISOString();
  }

  async #episode(st: InstanceState, msg: MessageItem): Promise<void> {
    const m = msg.message;
    const stale =
      (msg.executionId !== undefined && msg.executionId !== st.executionId) ||
      (msg.dedup !== undefined && st.applied.includes(msg.dedup)) ||
      (TERMINAL.includes(st.status) && m.type !== 'start') ||
      (m.type === 'start' && (st.history.length > 0 || m.executionId !== st.executionId));
    if (stale) {
      await this.#consume(msg);
      return;
    }
    const ep: Episode = { newWork: [], outgoing: [], cancelWork: false };
    const ts = this.#timestamp(
      st,
      m.type === 'event' && typeof m.event.FireAt === 'string' ? m.event.FireAt : undefined,
    );
    if (msg.dedup) st.applied = [...st.applied, msg.dedup].slice(-500);

    switch (m.type) {
      case 'terminate':
        st.history.push(ev(EventType.ExecutionTerminated, ts, { Input: m.reason }));
        this.#finish(st, 'Terminated', m.reason, ep);
        break;
      case 'suspend':
        if (st.status === 'Running' || st.status === 'Pending') {
          st.history.push(ev(EventType.ExecutionSuspended, ts, { Reason: m.reason }));
          st.status = 'Suspended';
        }
        break;
      case 'resume':
        if (st.status === 'Suspended') {
          st.history.push(ev(EventType.ExecutionResumed, ts, { Reason: m.reason }));
          st.status = 'Running';
        }
        break;
      case 'start': {
        st.history.push(ev(EventType.OrchestratorStarted, ts));
        st.history.push(
          ev(EventType.ExecutionStarted, ts, {
            Name: st.name,
            Input: JSON.stringify(st.input ?? null),
            Version: st.version ?? '',
            OrchestrationInstance: { InstanceId: st.instanceId, ExecutionId: st.executionId },
            ParentInstance: st.parent
              ? {
                  Name: null,
                  OrchestrationInstance: { InstanceId: st.parent.instanceId },
                  TaskScheduleId: st.parent.taskId,
                }
              : null,
            Tags: null,
          }),
        );
        st.status = 'Running';
        await this.#runOrchestrator(st, ep);
        break;
      }
      case 'event': {
        const e = m.event;
        if (e.EventType === EventType.TimerFired) {
          const action = st.actions.find((a) => a.id === e.TimerId && a.actionType === ActionType.CreateTimer);
          if (action?.isCanceled) break; // the orchestrator cancelled it: no episode
        }
        st.history.push(ev(EventType.OrchestratorStarted, ts));
        st.history.push({ ...e, EventType: e.EventType, EventId: e.EventId ?? -1, IsPlayed: false, Timestamp: ts });
        this.#hostRetryAllocation(st, e, ts, ep);
        await this.#runOrchestrator(st, ep);
        break;
      }
    }

    st.lastUpdatedTime = new Date().toISOString();
    await Promise.all([...ep.newWork, ...ep.outgoing].map((w) => this.#o.store.putWork(w)));
    if (ep.cancelWork) await this.#cancelWork(st.instanceId);
    await this.#o.store.saveState(st);
    this.summaries.set(st.instanceId, summarize(st));
    await this.#consume(msg);
    for (const w of ep.newWork) {
      this.#work.set(`${w.instanceId}\n${w.key}`, w);
      if (w.kind === 'message') this.#addInbox(w);
      else this.#dispatch(w);
    }
    for (const o of ep.outgoing) {
      this.#work.set(`${o.instanceId}\n${o.key}`, o);
      this.#addInbox(o);
      this.#kick(o.instanceId);
    }
    this.#notifyWaiters();
  }

  /** Retry timers and re-schedules are allocated by the host before the orchestrator runs (protocol §2.6, §2.7.2). */
  #hostRetryAllocation(st: InstanceState, e: MessageEvent, ts: string, ep: Episode): void {
    const failed = e.EventType === EventType.TaskFailed || e.EventType === EventType.SubOrchestrationInstanceFailed;
    if (failed && typeof e.TaskScheduledId === 'number' && st.retries[e.TaskScheduledId]) {
      const r = st.retries[e.TaskScheduledId]!;
      delete st.retries[e.TaskScheduledId];
      const timerId = st.nextId++;
      const fireAt = new Date(Date.parse(ts) + retryDelayMs(r.options, r.attempt)).toISOString();
      st.history.push(ev(EventType.TimerCreated, ts, { FireAt: fireAt }, timerId));
      st.retries[timerId] = r;
      ep.newWork.push(timerItem(st, timerId, fireAt));
    } else if (e.EventType === EventType.TimerFired && typeof e.TimerId === 'number' && st.retries[e.TimerId]) {
      const r = st.retries[e.TimerId]!;
      delete st.retries[e.TimerId];
      if (r.attempt >= r.options.maxNumberOfAttempts) return; // the JS now surfaces the last error
      const id = st.nextId++;
      r.attempt += 1;
      st.retries[id] = r;
      if (r.kind === 'activity') {
        st.history.push(
          ev(EventType.TaskScheduled, ts, { Name: r.name, Version: '', Input: JSON.stringify(r.input) }, id),
        );
        ep.newWork.push(activityItem(st, id, r.name, r.input));
      } else {
        const childId = r.instanceId ?? `${st.instanceId}:${id}`;
        st.history.push(
          ev(
            EventType.SubOrchestrationInstanceCreated,
            ts,
            { Name: r.name, InstanceId: childId, Input: JSON.stringify(r.input) },
            id,
          ),
        );
        ep.newWork.push(subItem(st, id, childId, r.name, r.input, r.version));
      }
    }
  }

  async #runOrchestrator(st: InstanceState, ep: Episode): Promise<void> {
    const fn = this.#o.registry.functions.get(st.name);
    const binding = fn && Object.entries(fn.bindings).find(([, b]) => b.type === 'orchestrationTrigger');
    if (!fn || !binding) {
      this.#fail(st, `orchestrator function '${st.name}' is not registered in this app`, ep);
      return;
    }
    const playedUpTo = st.history.length;
    const ctx = {
      history: st.history,
      input: st.input,
      instanceId: st.instanceId,
      isReplaying: false,
      parentInstanceId: st.parent?.instanceId ?? null,
      upperSchemaVersion: 1,
      upperSchemaVersionNew: 2,
      longRunningTimerIntervalDuration: '3.00:00:00',
      maximumShortTimerDuration: '6.00:00:00',
      defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
    };
    const res = await invokeFunction(this.#o.registry, {
      functionName: st.name,
      inputData: [{ name: binding[0], data: { string: JSON.stringify(ctx) } }],
    });
    for (let i = 0; i < playedUpTo; i++) st.history[i]!.IsPlayed = true;
    const state = parseOrchestratorResult(res);
    const now = this.#timestamp(st);

    const unsupported = this.#applyActions(st, state.actions ? flatten(state.actions) : [], now, ep, state);
    if (state.customStatus !== undefined) st.customStatus = state.customStatus;
    if (unsupported) {
      this.#fail(st, unsupported, ep);
      return;
    }
    if (state.error !== undefined || !state.actions) {
      this.#fail(st, state.error ?? 'the orchestrator returned no state', ep, state.failureDetails);
      return;
    }
    st.history.push(ev(EventType.OrchestratorCompleted, now));
    if (!state.isDone) return;
    const can = flatten(state.actions).find((a) => a.actionType === ActionType.ContinueAsNew);
    if (can) {
      st.history.push(ev(EventType.ContinueAsNew, now, { Result: JSON.stringify(can.input ?? null) }));
      ep.cancelWork = true;
      st.executionId = randomUUID().replace(/-/g, '');
      st.input = actionInputValue(can.input) ?? null;
      st.history = [];
      st.actions = [];
      st.nextId = 0;
      st.retries = {};
      st.status = 'Running';
      ep.newWork.push({
        kind: 'message',
        instanceId: st.instanceId,
        key: this.#messageKey(),
        executionId: st.executionId,
        message: { type: 'start', executionId: st.executionId },
      });
      return;
    }
    st.history.push(
      ev(EventType.ExecutionCompleted, now, {
        OrchestrationStatus: 'Completed',
        Result: JSON.stringify(state.output ?? null),
      }),
    );
    this.#finish(st, 'Completed', state.output ?? null, ep);
  }

  /** Diffs the cumulative action list against what was already scheduled; returns an error text to fail with. */
  #applyActions(
    st: InstanceState,
    actions: WireAction[],
    ts: string,
    ep: Episode,
    state: OrchestratorStateWire,
  ): string | undefined {
    const seen = st.actions.length;
    for (let i = 0; i < Math.min(seen, actions.length); i++) {
      const a = actions[i]!;
      const r = st.actions[i]!;
      if (
        a.actionType !== r.actionType ||
        a.functionName !== r.functionName ||
        a.externalEventName !== r.externalEventName
      ) {
        return (
          `Non-Deterministic workflow detected: action #${i} was ${describe(r)} in an earlier execution but ` +
          `${describe(a)} on replay. Was the orchestrator changed, or does it read non-deterministic data?`
        );
      }
      if (a.actionType === ActionType.CreateTimer && a.isCanceled && !r.isCanceled) {
        r.isCanceled = true;
        if (r.id !== undefined) this.#cancelTimer(st, r.id, ep);
      }
    }
    if (actions.length < seen && state.error === undefined) {
      return (
        `Non-Deterministic workflow detected: an earlier execution scheduled ${seen} actions but the replay ` +
        `scheduled only ${actions.length}. Was the orchestrator changed, or does it read non-deterministic data?`
      );
    }
    if (state.error !== undefined) return undefined; // a failing episode schedules nothing new
    for (let i = seen; i < actions.length; i++) {
      const a = actions[i]!;
      if (UNSUPPORTED[a.actionType]) {
        return `devhost does not support ${UNSUPPORTED[a.actionType]}: entities and callHttp are out of scope for the local Durable engine`;
      }
      const rec: RecordedAction = { actionType: a.actionType };
      if (a.functionName !== undefined) rec.functionName = a.functionName;
      if (a.externalEventName !== undefined) rec.externalEventName = a.externalEventName;
      switch (a.actionType) {
        case ActionType.CallActivity:
        case ActionType.CallActivityWithRetry: {
          const id = st.nextId++;
          const input = actionInputValue(a.input);
          const name = a.functionName ?? '';
          st.history.push(
            ev(EventType.TaskScheduled, ts, { Name: name, Version: '', Input: JSON.stringify(input ?? null) }, id),
          );
          ep.newWork.push(activityItem(st, id, name, input));
          if (a.actionType === ActionType.CallActivityWithRetry && a.retryOptions) {
            st.retries[id] = { kind: 'activity', name, input, options: a.retryOptions, attempt: 1 };
          }
          rec.id = id;
          break;
        }
        case ActionType.CallSubOrchestrator:
        case ActionType.CallSubOrchestratorWithRetry: {
          const id = st.nextId++;
          const name = a.functionName ?? '';
          const childId = a.instanceId || `${st.instanceId}:${id}`;
          st.history.push(
            ev(
              EventType.SubOrchestrationInstanceCreated,
              ts,
              { Name: name, InstanceId: childId, Input: JSON.stringify(a.input ?? null) },
              id,
            ),
          );
          ep.newWork.push(subItem(st, id, childId, name, a.input, a.version));
          if (a.actionType === ActionType.CallSubOrchestratorWithRetry && a.retryOptions) {
            const r: RetryRecord = { kind: 'sub', name, input: a.input, options: a.retryOptions, attempt: 1 };
            if (a.instanceId) r.instanceId = a.instanceId;
            if (a.version) r.version = a.version;
            st.retries[id] = r;
          }
          rec.id = id;
          break;
        }
        case ActionType.CreateTimer: {
          const id = st.nextId++;
          const fireAt = new Date(a.fireAt ?? ts).toISOString();
          st.history.push(ev(EventType.TimerCreated, ts, { FireAt: fireAt }, id));
          if (a.isCanceled) rec.isCanceled = true;
          else ep.newWork.push(timerItem(st, id, fireAt));
          rec.id = id;
          break;
        }
        default:
          break; // WaitForExternalEvent and ContinueAsNew take no id
      }
      st.actions.push(rec);
    }
    return undefined;
  }

  #cancelTimer(st: InstanceState, id: number, ep: Episode): void {
    const key = `${st.instanceId}\n${timerKey(st.executionId, id)}`;
    const item = this.#work.get(key);
    ep.newWork = ep.newWork.filter((w) => !(w.kind === 'timer' && w.timerId === id));
    if (item) {
      this.#clearTimer(item);
      this.#work.delete(key);
      this.#track(this.#o.store.deleteWork(item.instanceId, item.key));
    }
  }

  #fail(st: InstanceState, error: string, ep: Episode, failureDetails?: FailureDetailsWire): void {
    const output = `Orchestrator function '${st.name}' failed: ${error}`;
    const now = this.#timestamp(st);
    st.history.push(ev(EventType.OrchestratorCompleted, now));
    const extra: Record<string, unknown> = { OrchestrationStatus: 'Failed', Result: output };
    if (failureDetails) extra.FailureDetails = failureDetails;
    st.history.push(ev(EventType.ExecutionCompleted, now, extra));
    ep.newWork = ep.newWork.filter((w) => w.kind === 'message');
    this.#finish(st, 'Failed', output, ep, error);
    this.#o.log(`Durable: ${st.name} (${st.instanceId}) failed: ${error.split('\n')[0]}`);
  }

  #finish(
    st: InstanceState,
    status: 'Completed' | 'Failed' | 'Terminated',
    output: unknown,
    ep: Episode,
    error?: string,
  ): void {
    st.status = status;
    st.output = output;
    ep.cancelWork = true;
    if (!st.parent || status === 'Terminated') return;
    const p = st.parent;
    const event =
      status === 'Completed'
        ? {
            EventType: EventType.SubOrchestrationInstanceCompleted,
            TaskScheduledId: p.taskId,
            Result: JSON.stringify(output ?? null),
          }
        : {
            EventType: EventType.SubOrchestrationInstanceFailed,
            TaskScheduledId: p.taskId,
            Reason: String(output),
            Details: error ?? '',
          };
    ep.outgoing.push({
      kind: 'message',
      instanceId: p.instanceId,
      key: this.#messageKey(),
      executionId: p.executionId,
      dedup: `sub:${p.executionId}:${p.taskId}`,
      message: { type: 'event', event },
    });
  }

  async #cancelWork(instanceId: string): Promise<void> {
    for (const [k, w] of [...this.#work]) {
      if (w.instanceId !== instanceId || w.kind === 'message') continue;
      const st = this.states.get(instanceId);
      if (st && 'executionId' in w && w.executionId === st.executionId && !TERMINAL.includes(st.status)) continue;
      this.#clearTimer(w);
      this.#work.delete(k);
      await this.#o.store.deleteWork(instanceId, w.key);
    }
  }

  // ---- work dispatch -------------------------------------------------------------------------------------

  #dispatch(item: WorkItem): void {
    if (this.#stopped) return;
    if (item.kind === 'activity') this.#track(this.#runActivity(item), 'activity');
    else if (item.kind === 'timer') this.#armTimer(item);
    else if (item.kind === 'sub') this.#track(this.#startSub(item));
  }

  #current(item: ActivityItem | TimerItem | SubStartItem): boolean {
    const st = this.states.get(item.instanceId);
    return !!st && st.executionId === item.executionId && !TERMINAL.includes(st.status);
  }

  async #acquireSlot(): Promise<void> {
    while (this.#activeActivities >= this.#o.maxConcurrentActivities) {
      await new Promise<void>((r) => this.#waiters.push(r));
    }
    this.#activeActivities++;
  }

  #releaseSlot(): void {
    this.#activeActivities--;
    this.#waiters.shift()?.();
  }

  async #runActivity(item: ActivityItem): Promise<void> {
    if (!this.#current(item)) {
      await this.#dropWork(item);
      return;
    }
    await this.#acquireSlot();
    if (this.#stopped) {
      // Waited for a slot while the host began stopping: it runs after the next start instead.
      this.#releaseSlot();
      return;
    }
    let event: MessageEvent;
    try {
      const fn = this.#o.registry.functions.get(item.name);
      const binding = fn && Object.entries(fn.bindings).find(([, b]) => b.type === 'activityTrigger');
      if (!fn || !binding) {
        event = {
          EventType: EventType.TaskFailed,
          TaskScheduledId: item.taskId,
          Reason: `The function '${item.name}' doesn't exist, is disabled, or is not an activity function.`,
          Details: '',
        };
      } else {
        const data: RpcTypedData | undefined =
          item.input === undefined ? undefined : { json: JSON.stringify(item.input) };
        const res = await invokeFunction(this.#o.registry, {
          functionName: item.name,
          inputData: [{ name: binding[0], data }],
          triggerMetadata: { instanceId: { string: item.instanceId } },
        });
        event = res.error
          ? { EventType: EventType.TaskFailed, TaskScheduledId: item.taskId, ...activityFailure(item.name, res.error) }
          : {
              EventType: EventType.TaskCompleted,
              TaskScheduledId: item.taskId,
              Result: activityResult(res.returnValue),
            };
      }
    } finally {
      this.#releaseSlot();
    }
    // A failure while the host stops may be the stop's doing (a Ctrl-C reaches the activity's child processes too):
    // it is not recorded, and the activity runs again after the next start, as an abandoned one does.
    if (this.#abandoned || (this.#stopped && event.EventType === EventType.TaskFailed)) return;
    await this.#complete(item, `task:${item.executionId}:${item.taskId}`, event);
  }

  /** Records a completion as an inbox message, then retires the work item that produced it. */
  async #complete(item: ActivityItem | TimerItem | SubStartItem, dedup: string, event: MessageEvent): Promise<void> {
    const msg: MessageItem = {
      kind: 'message',
      instanceId: item.instanceId,
      key: this.#messageKey(),
      executionId: item.executionId,
      dedup,
      message: { type: 'event', event },
    };
    await this.#o.store.putWork(msg);
    await this.#dropWork(item);
    this.#work.set(`${msg.instanceId}\n${msg.key}`, msg);
    this.#addInbox(msg);
    this.#kick(msg.instanceId);
  }

  async #dropWork(item: WorkItem): Promise<void> {
    this.#work.delete(`${item.instanceId}\n${item.key}`);
    await this.#o.store.deleteWork(item.instanceId, item.key);
  }

  #clearTimer(item: WorkItem): void {
    const k = `${item.instanceId}\n${item.key}`;
    const t = this.#timers.get(k);
    if (t) clearTimeout(t);
    this.#timers.delete(k);
  }

  #armTimer(item: TimerItem): void {
    const k = `${item.instanceId}\n${item.key}`;
    this.#clearTimer(item);
    const wait = Date.parse(item.fireAt) - Date.now();
    const t = setTimeout(
      () => {
        this.#timers.delete(k);
        if (Date.parse(item.fireAt) > Date.now()) {
          this.#armTimer(item); // long timers are re-armed in slices below the setTimeout limit
          return;
        }
        if (!this.#current(item)) {
          this.#track(this.#dropWork(item));
          return;
        }
        this.#track(
          this.#complete(item, `timer:${item.executionId}:${item.timerId}`, {
            EventType: EventType.TimerFired,
            TimerId: item.timerId,
            FireAt: item.fireAt,
          }),
        );
      },
      Math.min(Math.max(wait, 0), MAX_TIMEOUT_MS),
    );
    this.#timers.set(k, t);
  }

  async #startSub(item: SubStartItem): Promise<void> {
    if (!this.#current(item)) {
      await this.#dropWork(item);
      return;
    }
    const parent = { instanceId: item.instanceId, executionId: item.executionId, taskId: item.taskId };
    const child = this.states.get(item.childId);
    const same = child?.parent && JSON.stringify(child.parent) === JSON.stringify(parent);
    if (same) {
      await this.#dropWork(item); // started before a crash
      return;
    }
    if (child && !TERMINAL.includes(child.status)) {
      await this.#complete(item, `sub:${item.executionId}:${item.taskId}`, {
        EventType: EventType.SubOrchestrationInstanceFailed,
        TaskScheduledId: item.taskId,
        Reason: `an instance with id '${item.childId}' is already running`,
        Details: '',
      });
      return;
    }
    if (!this.isOrchestrator(item.name)) {
      await this.#complete(item, `sub:${item.executionId}:${item.taskId}`, {
        EventType: EventType.SubOrchestrationInstanceFailed,
        TaskScheduledId: item.taskId,
        Reason: `The function '${item.name}' doesn't exist, is disabled, or is not an orchestrator function.`,
        Details: '',
      });
      return;
    }
    await this.#createInstance(item.childId, item.name, item.input, item.version ?? null, parent);
    await this.#dropWork(item);
  }

  // ---- waiting (tests, ?timeout= on start) ---------------------------------------------------------------

  readonly #listeners = new Set<() => void>();

  #notifyWaiters(): void {
    for (const l of [...this.#listeners]) l();
  }

  /** Resolves when the instance is terminal or the timeout passes. */
  async waitForTerminal(instanceId: string, timeoutMs: number): Promise<InstanceSummary | undefined> {
    const done = (): InstanceSummary | undefined => {
      const s = this.summaries.get(instanceId);
      return s && TERMINAL.includes(s.runtimeStatus) ? s : undefined;
    };
    const first = done();
    if (first) return first;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#listeners.delete(check);
        resolve(this.summaries.get(instanceId));
      }, timeoutMs);
      const check = (): void => {
        const s = done();
        if (s) {
          clearTimeout(timer);
          this.#listeners.delete(check);
          resolve(s);
        }
      };
      this.#listeners.add(check);
    });
  }
}

type MessageEvent = Extract<MessageItem['message'], { type: 'event' }>['event'] & Record<string, unknown>;

interface Episode {
  newWork: WorkItem[];
  outgoing: MessageItem[];
  cancelWork: boolean;
}

function ev(type: number, ts: string, extra: Record<string, unknown> = {}, eventId = -1): HistoryEvent {
  return { EventType: type, EventId: eventId, IsPlayed: false, Timestamp: ts, ...extra };
}

function timerKey(executionId: string, id: number): string {
  return `t-${executionId}-${id}`;
}

function timerItem(st: InstanceState, id: number, fireAt: string): TimerItem {
  return {
    kind: 'timer',
    instanceId: st.instanceId,
    key: timerKey(st.executionId, id),
    executionId: st.executionId,
    timerId: id,
    fireAt,
  };
}

function activityItem(st: InstanceState, id: number, name: string, input: unknown): ActivityItem {
  return {
    kind: 'activity',
    instanceId: st.instanceId,
    key: `a-${st.executionId}-${id}`,
    executionId: st.executionId,
    taskId: id,
    name,
    input,
  };
}

function subItem(
  st: InstanceState,
  id: number,
  childId: string,
  name: string,
  input: unknown,
  version?: string,
): SubStartItem {
  const item: SubStartItem = {
    kind: 'sub',
    instanceId: st.instanceId,
    key: `s-${st.executionId}-${id}`,
    executionId: st.executionId,
    taskId: id,
    childId,
    name,
    input,
  };
  if (version) item.version = version;
  return item;
}

/** TaskCompleted.Result: the JSON of the decoded return value; `undefined` becomes null (protocol §2.8). */
function activityResult(rv: RpcTypedData | undefined): string {
  let v = decodeRpcTypedData(rv);
  if (Buffer.isBuffer(v)) v = v.toString('base64');
  return JSON.stringify(v ?? null);
}

function parseOrchestratorResult(res: InvokeResult): OrchestratorStateWire {
  if (res.error) {
    const text = res.error.message;
    const i = text.indexOf(OUT_OF_PROC_MARKER);
    if (i >= 0) {
      try {
        return JSON.parse(text.slice(i + OUT_OF_PROC_MARKER.length)) as OrchestratorStateWire;
      } catch {
        // fall through: report the raw error
      }
    }
    return { isDone: false, actions: [], error: res.error.stack ?? text };
  }
  const v = decodeRpcTypedData(res.returnValue);
  const parsed = typeof v === 'string' ? (JSON.parse(v) as unknown) : v;
  if (!parsed || typeof parsed !== 'object') {
    return { isDone: false, actions: [], error: 'the orchestrator function returned no orchestration state' };
  }
  return parsed as OrchestratorStateWire;
}
