// The console's API client: one function per route it uses, each typed by the contracts the API validates with
// (shared/contracts). Request bodies are checked with the same zod schemas before they are sent, so a bad field is
// named the way the API would name it. Responses are typed, not re-validated: a newer API may add operations,
// statuses and error codes, which the pages show as they are.

import type { z } from 'zod';
import type { Me } from '../../shared/contracts/caller';
import type { HealthSummary } from '../../shared/contracts/health';
import {
  backupInstanceBodySchema,
  backupNowBodySchema,
  stopProtectionBodySchema,
  validateForBackupRequestSchema,
  type BackupInstanceBody,
  type BackupInstanceResource,
  type ValidateForBackupResult,
} from '../../shared/contracts/instances';
import { jobQuerySchema, type JobResource } from '../../shared/contracts/jobs';
import type { Overview, StorageSummary } from '../../shared/contracts/overview';
import {
  policySimulationRequestSchema,
  type PolicyResource,
  type PolicySimulation,
  type PolicySimulationRequest,
} from '../../shared/contracts/policies';
import type { RecoveryPointResource, RecoveryPointTimeline } from '../../shared/contracts/recovery-points';
import { restoreRequestSchema } from '../../shared/contracts/restores';
import type { RestoreTestPlanResource, RestoreTestResource } from '../../shared/contracts/restore-tests';
import type { List } from '../../shared/contracts/resources';
import { jsonPath } from '../../shared/contracts/validation';

/** One problem with a request, named by the JSON path (or readiness check) it concerns. */
export interface Problem {
  readonly target: string;
  readonly message: string;
  readonly code?: string;
  readonly remediation?: string;
}

/** A failed call: the API's error body (code, message, hint, details), or a network / sign-in problem. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
    readonly details: readonly Problem[] = [],
    readonly target?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The error for input that fails the request schema before anything is sent (code as the API would answer). */
export class InvalidInput extends ApiError {
  constructor(details: Problem[], what: string) {
    super(
      400,
      'UserErrorInvalidRequest',
      `the ${what} is invalid: ${details.map((d) => d.target).join(', ')}`,
      undefined,
      details,
    );
  }
}

/** Validates `value` with a contract schema; throws InvalidInput naming every bad field by JSON path. */
export function checked<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new InvalidInput(
    result.error.issues.map((i) => ({ target: jsonPath(i.path), message: i.message })),
    what,
  );
}

interface ErrorBodyLike {
  error?: { code?: string; message?: string; hint?: string; target?: string; details?: Problem[] };
}

async function call<T>(
  method: string,
  path: string,
  body?: unknown,
  options: { okStatuses?: readonly number[] } = {},
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: {
        accept: 'application/json',
        // App Service Authentication answers an expired session with 401 instead of a login redirect for these.
        'x-requested-with': 'XMLHttpRequest',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      credentials: 'same-origin',
    });
  } catch (err) {
    throw new ApiError(
      0,
      'NetworkError',
      `the app could not be reached (${err instanceof Error ? err.message : String(err)})`,
      'check your connection, then retry',
    );
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (res.ok || (options.okStatuses?.includes(res.status) && parsed !== undefined)) return parsed as T;
  const e = (parsed as ErrorBodyLike | undefined)?.error;
  if (e?.code && e.message) throw new ApiError(res.status, e.code, e.message, e.hint, e.details ?? [], e.target);
  if (res.status === 401) {
    throw new ApiError(
      401,
      'Unauthenticated',
      'you are not signed in, or your session has ended',
      'sign in again (reload the page)',
    );
  }
  throw new ApiError(
    res.status,
    `HTTP${res.status}`,
    `the app answered ${res.status} ${res.statusText}`.trim(),
    'retry; if it persists, see the app log',
  );
}

const enc = encodeURIComponent;
const instancePath = (name: string) => `/api/backupInstances/${enc(name)}`;

/** A nextLink as a same-origin path (the API may answer with its public host name). */
function localLink(nextLink: string): string {
  const u = new URL(nextLink, location.origin);
  return `${u.pathname}${u.search}`;
}

export type JobQuery = z.input<typeof jobQuerySchema>;

export const api = {
  me: () => call<Me>('GET', '/api/me'),
  overview: () => call<Overview>('GET', '/api/overview'),
  storage: () => call<StorageSummary>('GET', '/api/overview/storage'),
  /**
   * GET /api/health: with a role, the counts and the instances that are not Healthy; without one, status and time
   * only. A Critical app answers 503 with the same body, which is an answer here, not an error.
   */
  health: () => call<HealthSummary>('GET', '/api/health', undefined, { okStatuses: [503] }),

  listInstances: () => call<List<BackupInstanceResource>>('GET', '/api/backupInstances'),
  getInstance: (name: string) => call<BackupInstanceResource>('GET', instancePath(name)),
  putInstance: (name: string, body: BackupInstanceBody) =>
    call<BackupInstanceResource>('PUT', instancePath(name), checked(backupInstanceBodySchema, body, 'backup instance')),
  validateNewForBackup: (backupInstance: BackupInstanceBody['properties']) =>
    call<ValidateForBackupResult>(
      'POST',
      '/api/validateForBackup',
      checked(validateForBackupRequestSchema, { backupInstance }, 'validateForBackup request'),
    ),
  validateForBackup: (name: string) =>
    call<ValidateForBackupResult>('POST', `${instancePath(name)}/validateForBackup`, {}),
  backupNow: (name: string, body: z.input<typeof backupNowBodySchema>) =>
    call<JobResource>(
      'POST',
      `${instancePath(name)}/backup`,
      checked(backupNowBodySchema, body, 'backup request') ?? {},
    ),
  stopProtection: (name: string, deleteBackupData: boolean) =>
    call<BackupInstanceResource>(
      'POST',
      `${instancePath(name)}/stopProtection`,
      checked(stopProtectionBodySchema, { deleteBackupData }, 'request body'),
    ),
  resumeProtection: (name: string) =>
    call<BackupInstanceResource>('POST', `${instancePath(name)}/resumeProtection`, {}),

  /** One page of points, newest first; follow `nextLink` with recoveryPointsPage(link). */
  recoveryPoints: (name: string, top: number) =>
    call<List<RecoveryPointResource>>('GET', `${instancePath(name)}/recoveryPoints?$top=${top}`),
  recoveryPointsPage: (nextLink: string) => call<List<RecoveryPointResource>>('GET', localLink(nextLink)),
  recoveryPoint: (name: string, id: string) =>
    call<RecoveryPointResource>('GET', `${instancePath(name)}/recoveryPoints/${enc(id)}`),
  timeline: (name: string) => call<RecoveryPointTimeline>('GET', `${instancePath(name)}/recoveryPointTimeline`),

  validateRestore: (name: string, body: unknown) =>
    call<{ status: string; checks: ValidateForBackupResult['checks'] }>(
      'POST',
      `${instancePath(name)}/validateRestore`,
      checked(restoreRequestSchema, body, 'restore request'),
    ),
  restore: (name: string, body: unknown) =>
    call<JobResource>('POST', `${instancePath(name)}/restore`, checked(restoreRequestSchema, body, 'restore request')),

  /** The instance's restore tests, newest first. */
  restoreTests: (name: string) => call<List<RestoreTestResource>>('GET', `${instancePath(name)}/restoreTests`),
  listRestoreTestPlans: () => call<List<RestoreTestPlanResource>>('GET', '/api/restoreTestPlans'),
  /** Runs a plan now: one job per instance it covers (202 with their list). */
  runRestoreTestPlan: (plan: string) => call<List<JobResource>>('POST', `/api/restoreTestPlans/${enc(plan)}/run`, {}),

  listJobs: (query: JobQuery = {}) => {
    const q = checked(jobQuerySchema, query, 'query');
    const search = new URLSearchParams(Object.entries(q).filter((e): e is [string, string] => e[1] !== undefined));
    return call<List<JobResource>>('GET', `/api/backupJobs${search.size > 0 ? `?${search}` : ''}`);
  },
  getJob: (id: string) => call<JobResource>('GET', `/api/backupJobs/${enc(id)}`),

  listPolicies: () => call<List<PolicyResource>>('GET', '/api/backupPolicies?$expand=summary'),
  getPolicy: (name: string) => call<PolicyResource>('GET', `/api/backupPolicies/${enc(name)}?$expand=summary`),
  putPolicy: (name: string, document: unknown) =>
    call<PolicyResource>('PUT', `/api/backupPolicies/${enc(name)}`, document),
  simulatePolicy: (request: PolicySimulationRequest) =>
    call<PolicySimulation>(
      'POST',
      '/api/backupPolicies/simulate',
      checked(policySimulationRequestSchema, request, 'simulation request'),
    ),
};
