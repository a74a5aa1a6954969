// Shapes shared by the Durable engine, its store and its HTTP API: DTFx history events (PascalCase, protocol §2.2),
// the persisted per-instance state, and the pending work items that survive a restart.

export type RuntimeStatus =
  'Pending' | 'Running' | 'Completed' | 'Failed' | 'Terminated' | 'ContinuedAsNew' | 'Suspended';

export const TERMINAL: readonly RuntimeStatus[] = ['Completed', 'Failed', 'Terminated'];

export const EventType = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  ExecutionTerminated: 3,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  SubOrchestrationInstanceCreated: 7,
  SubOrchestrationInstanceCompleted: 8,
  SubOrchestrationInstanceFailed: 9,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventRaised: 15,
  ContinueAsNew: 16,
  ExecutionSuspended: 19,
  ExecutionResumed: 20,
} as const;

export const EventTypeName: Record<number, string> = Object.fromEntries(
  Object.entries(EventType).map(([k, v]) => [v, k]),
);

export interface HistoryEvent {
  EventType: number;
  EventId: number;
  IsPlayed: boolean;
  Timestamp: string;
  [k: string]: unknown;
}

export interface FailureDetailsWire {
  ErrorType: string;
  ErrorMessage: string;
  StackTrace?: string;
  IsNonRetriable?: boolean;
  Properties?: Record<string, unknown>;
}

export interface RetryOptionsWire {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
  retryTimeoutInMilliseconds?: number;
}

/** One leaf action the orchestrator emitted, in flattened order (protocol §2.7.1). */
export interface RecordedAction {
  actionType: number;
  functionName?: string;
  externalEventName?: string;
  /** The sequence id it took (absent for WaitForExternalEvent / ContinueAsNew). */
  id?: number;
  isCanceled?: boolean;
}

/** Host-side retry bookkeeping for CallActivityWithRetry / CallSubOrchestratorWithRetry (protocol §2.6). */
export interface RetryRecord {
  kind: 'activity' | 'sub';
  name: string;
  input: unknown;
  instanceId?: string;
  version?: string;
  options: RetryOptionsWire;
  /** Attempt number of the task currently scheduled or last failed (1-based). */
  attempt: number;
}

export interface InstanceState {
  instanceId: string;
  name: string;
  version: string | null;
  executionId: string;
  status: RuntimeStatus;
  /** Parsed orchestration input (what getStatus reports and ctx.df.getInput() returns). */
  input: unknown;
  output: unknown;
  customStatus: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  parent?: { instanceId: string; executionId: string; taskId: number };
  history: HistoryEvent[];
  actions: RecordedAction[];
  nextId: number;
  /** Retry records keyed by the id of the task or retry timer currently pending for them. */
  retries: Record<string, RetryRecord>;
  /** Dedup keys of completions already applied (a crash can deliver one twice). */
  applied: string[];
}

export type InstanceSummary = {
  name: string;
  instanceId: string;
  runtimeStatus: RuntimeStatus;
  input: unknown;
  customStatus: unknown;
  output: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  executionId: string;
};

/** A message for an instance's inbox: one is applied per episode. */
export interface MessageItem {
  kind: 'message';
  instanceId: string;
  key: string;
  /** Messages for a finished execution (continue-as-new, restart) are dropped. Absent: any execution. */
  executionId?: string;
  dedup?: string;
  message:
    | { type: 'start'; executionId: string }
    | { type: 'event'; event: { EventType: number; EventId?: number; [k: string]: unknown } }
    | { type: 'terminate'; reason: string }
    | { type: 'suspend'; reason: string }
    | { type: 'resume'; reason: string };
}

export interface ActivityItem {
  kind: 'activity';
  instanceId: string;
  key: string;
  executionId: string;
  taskId: number;
  name: string;
  input: unknown;
}

export interface TimerItem {
  kind: 'timer';
  instanceId: string;
  key: string;
  executionId: string;
  timerId: number;
  fireAt: string;
}

export interface SubStartItem {
  kind: 'sub';
  instanceId: string;
  key: string;
  executionId: string;
  taskId: number;
  childId: string;
  name: string;
  version?: string;
  input: unknown;
}

export type WorkItem = MessageItem | ActivityItem | TimerItem | SubStartItem;
