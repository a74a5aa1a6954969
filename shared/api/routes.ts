// The API's route table (design §3): one entry per method and route, with the caller role it needs (design §12).
// functions/api.ts registers each entry with the Functions runtime under /api; tests call the handlers directly.

import { PgkeepError } from '../errors';
import { hasRole, type CallerRole } from '../contracts/caller';
import { callerRoles as callerRolesOf } from './caller';
import type { ApiDeps } from './deps';
import type { ApiRequest, ApiResponse } from '../contracts/http';
import { instanceRoutes } from './instances';
import { jobRoutes } from './jobs';
import { policyRoutes } from './policies';
import { recoveryPointRoutes } from './recovery-points';
import { retentionPreviewRoutes } from './retention-preview';
import { restoreRoutes } from './restores';
import { meRoutes } from './me';
import { overviewRoutes } from './overview';
import { keyRoutes } from './keys';
import { auditRoutes } from './audit';
import { healthRoutes } from './health';
import { notificationRoutes } from './notifications';
import { restoreTestRoutes } from './restore-tests';
import { serverRoutes } from './servers';

export type { CallerRole };

export interface Route {
  /** Function name (unique across the app). */
  readonly name: string;
  readonly method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** Route template under /api, in the Functions host's syntax. */
  readonly route: string;
  /** Anonymous: no function key, no role check; the handler decides what it shows (health, /me). */
  readonly role: CallerRole | 'Anonymous';
  /** Dependencies arrive per invocation (the durable client is bound to the invocation). */
  readonly run: (deps: ApiDeps, req: ApiRequest) => Promise<ApiResponse>;
}

const I = 'backupInstances/{name}';
const P = policyRoutes;
const N = instanceRoutes;
const J = jobRoutes;
const R = recoveryPointRoutes;
const S = serverRoutes;
const SV = 'servers/{name}';

/** Every API route; literal segments beat parameters in the host's matcher, as in Azure. */
export const apiRoutes: readonly Route[] = [
  { name: 'listPolicies', method: 'GET', route: 'backupPolicies', role: 'Reader', run: (d, r) => P(d).list(r) },
  { name: 'getPolicy', method: 'GET', route: 'backupPolicies/{name}', role: 'Reader', run: (d, r) => P(d).get(r) },
  { name: 'putPolicy', method: 'PUT', route: 'backupPolicies/{name}', role: 'Admin', run: (d, r) => P(d).put(r) },
  {
    name: 'deletePolicy',
    method: 'DELETE',
    route: 'backupPolicies/{name}',
    role: 'Admin',
    run: (d, r) => P(d).remove(r),
  },
  { name: 'listInstances', method: 'GET', route: 'backupInstances', role: 'Reader', run: (d) => N(d).list() },
  { name: 'getInstance', method: 'GET', route: I, role: 'Reader', run: (d, r) => N(d).get(r) },
  { name: 'putInstance', method: 'PUT', route: I, role: 'Admin', run: (d, r) => N(d).put(r) },
  { name: 'deleteInstance', method: 'DELETE', route: I, role: 'Admin', run: (d, r) => N(d).remove(r) },
  {
    name: 'validateForBackupHttp',
    method: 'POST',
    route: `${I}/validateForBackup`,
    role: 'Operator',
    run: (d, r) => N(d).validateForBackup(r),
  },
  { name: 'backupNowHttp', method: 'POST', route: `${I}/backup`, role: 'Operator', run: (d, r) => N(d).backupNow(r) },
  {
    name: 'stopProtection',
    method: 'POST',
    route: `${I}/stopProtection`,
    role: 'Admin',
    run: (d, r) => N(d).stopProtection(r),
  },
  {
    name: 'resumeProtection',
    method: 'POST',
    route: `${I}/resumeProtection`,
    role: 'Admin',
    run: (d, r) => N(d).resumeProtection(r),
  },
  {
    name: 'listRecoveryPoints',
    method: 'GET',
    route: `${I}/recoveryPoints`,
    role: 'Reader',
    run: (d, r) => R(d).list(r),
  },
  {
    name: 'getRecoveryPoint',
    method: 'GET',
    route: `${I}/recoveryPoints/{id}`,
    role: 'Reader',
    run: (d, r) => R(d).get(r),
  },
  {
    name: 'validateRestoreHttp',
    method: 'POST',
    route: `${I}/validateRestore`,
    role: 'Operator',
    run: (d, r) => restoreRoutes(d).validateRestore(r),
  },
  {
    name: 'restoreHttp',
    method: 'POST',
    route: `${I}/restore`,
    role: 'Operator',
    run: (d, r) => restoreRoutes(d).restore(r),
  },
  // --- restore tests (issue 17) ---
  {
    name: 'listRestoreTestPlans',
    method: 'GET',
    route: 'restoreTestPlans',
    role: 'Reader',
    run: (d) => restoreTestRoutes(d).list(),
  },
  {
    name: 'getRestoreTestPlan',
    method: 'GET',
    route: 'restoreTestPlans/{name}',
    role: 'Reader',
    run: (d, r) => restoreTestRoutes(d).get(r),
  },
  {
    name: 'putRestoreTestPlan',
    method: 'PUT',
    route: 'restoreTestPlans/{name}',
    role: 'Admin',
    run: (d, r) => restoreTestRoutes(d).put(r),
  },
  {
    name: 'deleteRestoreTestPlan',
    method: 'DELETE',
    route: 'restoreTestPlans/{name}',
    role: 'Admin',
    run: (d, r) => restoreTestRoutes(d).remove(r),
  },
  {
    name: 'runRestoreTestPlan',
    method: 'POST',
    route: 'restoreTestPlans/{name}/run',
    role: 'Operator',
    run: (d, r) => restoreTestRoutes(d).run(r),
  },
  {
    name: 'listRestoreTests',
    method: 'GET',
    route: `${I}/restoreTests`,
    role: 'Reader',
    run: (d, r) => restoreTestRoutes(d).history(r),
  },
  {
    name: 'verifyRecoveryPointHttp',
    method: 'POST',
    route: `${I}/recoveryPoints/{id}/verify`,
    role: 'Operator',
    run: (d, r) => restoreTestRoutes(d).verify(r),
  },
  { name: 'listJobs', method: 'GET', route: 'backupJobs', role: 'Reader', run: (d, r) => J(d).list(r) },
  { name: 'getJob', method: 'GET', route: 'backupJobs/{id}', role: 'Reader', run: (d, r) => J(d).get(r) },
  // --- fleets (issue 15) ---
  { name: 'listServers', method: 'GET', route: 'servers', role: 'Reader', run: (d) => S(d).list() },
  { name: 'getServer', method: 'GET', route: SV, role: 'Reader', run: (d, r) => S(d).get(r) },
  { name: 'putServer', method: 'PUT', route: SV, role: 'Admin', run: (d, r) => S(d).put(r) },
  { name: 'deleteServer', method: 'DELETE', route: SV, role: 'Admin', run: (d, r) => S(d).remove(r) },
  {
    name: 'listServerDatabases',
    method: 'GET',
    route: `${SV}/databases`,
    role: 'Reader',
    run: (d, r) => S(d).databases(r),
  },
  { name: 'protectServer', method: 'POST', route: `${SV}/protect`, role: 'Admin', run: (d, r) => S(d).protect(r) },
  {
    name: 'discoverServer',
    method: 'POST',
    route: `${SV}/discover`,
    role: 'Admin',
    run: (d, r) => S(d).discover(r),
  },
  {
    name: 'listServerRecoveryPoints',
    method: 'GET',
    route: `${SV}/recoveryPoints`,
    role: 'Reader',
    run: (d, r) => S(d).listGlobals(r),
  },
  {
    name: 'getServerRecoveryPoint',
    method: 'GET',
    route: `${SV}/recoveryPoints/{id}`,
    role: 'Reader',
    run: (d, r) => S(d).getGlobals(r),
  },
  {
    name: 'assignMissingRolesServer',
    method: 'POST',
    route: `${SV}/assignMissingRoles`,
    role: 'Admin',
    run: (d, r) => S(d).assignRolesOfServer(r),
  },
  {
    name: 'assignMissingRolesInstance',
    method: 'POST',
    route: `${I}/assignMissingRoles`,
    role: 'Admin',
    run: (d, r) => S(d).assignRolesOfInstance(r),
  },
  {
    name: 'retentionPreview',
    method: 'GET',
    route: `${I}/retentionPreview`,
    role: 'Reader',
    run: (d, r) => retentionPreviewRoutes(d).preview(r),
  },
  // --- what the console needs beyond Azure's API (issue 12) ---
  { name: 'me', method: 'GET', route: 'me', role: 'Anonymous', run: (d, r) => meRoutes(d).me(r) },
  { name: 'overview', method: 'GET', route: 'overview', role: 'Reader', run: (d, r) => overviewRoutes(d).overview(r) },
  {
    name: 'storageOverview',
    method: 'GET',
    route: 'overview/storage',
    role: 'Reader',
    run: (d, r) => overviewRoutes(d).storage(r),
  },
  {
    name: 'recoveryPointTimeline',
    method: 'GET',
    route: `${I}/recoveryPointTimeline`,
    role: 'Reader',
    run: (d, r) => R(d).timeline(r),
  },
  {
    name: 'simulatePolicy',
    method: 'POST',
    route: 'backupPolicies/simulate',
    role: 'Reader',
    run: (d, r) => P(d).simulate(r),
  },
  {
    // Azure's vault-level ValidateForBackup: configuring means choosing a secret the app will read, hence Admin.
    name: 'validateNewForBackup',
    method: 'POST',
    route: 'validateForBackup',
    role: 'Admin',
    run: (d, r) => N(d).validateNewForBackup(r),
  },
  // --- keys and trust (issue 16) ---
  {
    name: 'rewrapRecoveryPointHttp',
    method: 'POST',
    route: `${I}/recoveryPoints/{id}/rewrap`,
    role: 'Admin',
    run: (d, r) => keyRoutes(d).rewrapRecoveryPoint(r),
  },
  {
    name: 'rewrapInstanceHttp',
    method: 'POST',
    route: `${I}/rewrap`,
    role: 'Admin',
    run: (d, r) => keyRoutes(d).rewrapInstance(r),
  },
  {
    name: 'rewrapServerGlobalsHttp',
    method: 'POST',
    route: `${SV}/rewrap`,
    role: 'Admin',
    run: (d, r) => keyRoutes(d).rewrapServer(r),
  },
  { name: 'listAuditLog', method: 'GET', route: 'auditLog', role: 'Admin', run: (d, r) => auditRoutes(d).list(r) },
  // --- health and alerts (issue 13) ---
  {
    name: 'healthSummary',
    method: 'GET',
    route: 'health',
    role: 'Anonymous',
    run: (d, r) => healthRoutes(d).summary(!d.enforceCallerRoles || callerRoles(r).length > 0),
  },
  { name: 'healthLive', method: 'GET', route: 'health/live', role: 'Anonymous', run: (d) => healthRoutes(d).live() },
  {
    name: 'listNotificationChannels',
    method: 'GET',
    route: 'notificationChannels',
    role: 'Reader',
    run: (d) => notificationRoutes(d).list(),
  },
  {
    name: 'getNotificationChannel',
    method: 'GET',
    route: 'notificationChannels/{name}',
    role: 'Reader',
    run: (d, r) => notificationRoutes(d).get(r),
  },
  {
    name: 'putNotificationChannel',
    method: 'PUT',
    route: 'notificationChannels/{name}',
    role: 'Admin',
    run: (d, r) => notificationRoutes(d).put(r),
  },
  {
    name: 'deleteNotificationChannel',
    method: 'DELETE',
    route: 'notificationChannels/{name}',
    role: 'Admin',
    run: (d, r) => notificationRoutes(d).remove(r),
  },
  {
    name: 'testNotificationChannel',
    method: 'POST',
    route: 'notificationChannels/{name}/test',
    role: 'Operator',
    run: (d, r) => notificationRoutes(d).test(r),
  },
  {
    name: 'listNotifications',
    method: 'GET',
    route: 'notifications',
    role: 'Reader',
    run: (d, r) => notificationRoutes(d).deliveries(r),
  },
];

/** Roles of the caller from the platform's `x-ms-client-principal` header (App Service authentication). */
export function callerRoles(req: ApiRequest): CallerRole[] {
  return callerRolesOf(req);
}

/** Throws 401/403 unless the caller holds `needed` or a stronger role (anyone passes for Anonymous). */
export function requireRole(req: ApiRequest, needed: CallerRole | 'Anonymous'): void {
  if (needed === 'Anonymous') return;
  const roles = callerRoles(req);
  if (hasRole(roles, needed)) return;
  throw new PgkeepError(
    'UserErrorInvalidRequest',
    roles.length === 0
      ? 'the caller is not authenticated (no x-ms-client-principal with a pgkeep role)'
      : `this operation needs the ${needed} role`,
    { status: roles.length === 0 ? 401 : 403, hint: 'assign the caller the Reader, Operator or Admin app role' },
  );
}

/**
 * The Functions-level auth of the API routes: `anonymous` when caller roles are enforced (App Service Authentication
 * admits the caller, the app checks the role; the console can call the API without a function key), `function` (a
 * key) otherwise. Unreadable settings keep the keys.
 */
export function apiAuthLevel(enforceCallerRoles: () => boolean): 'anonymous' | 'function' {
  try {
    return enforceCallerRoles() ? 'anonymous' : 'function';
  } catch {
    return 'function';
  }
}

/**
 * The name of the catch-all function (functions/console.ts). The real Functions host tries HTTP routes in the order
 * of their function names, compared case-insensitively (ordinal), not by how specific the route is; a catch-all
 * named before another function would swallow that function's requests. This name sorts after every other one.
 */
export const catchAllFunctionName = 'zzConsoleAndNotFound';
