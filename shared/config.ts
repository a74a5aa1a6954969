// The one registry of settings (design §11) and the only module that reads process.env.
// Each setting is declared once with its type, default, range and whether it is a secret; loadConfig validates all
// of them at once and freezes the result. Everything else receives settings as arguments.

import { PgkeepError, type ErrorDetail } from './errors';

type Kind = 'string' | 'int' | 'bool';

interface SettingDecl<K extends Kind> {
  kind: K;
  description: string;
  /** Secrets are never logged or echoed; `describeConfig` masks them. */
  secret?: boolean;
  /** Undefined = required. */
  default?: K extends 'int' ? number : K extends 'bool' ? boolean : string;
  min?: number;
  max?: number;
  /** Allowed values for a string setting. */
  oneOf?: readonly string[];
  /** A regular expression a string setting must match. */
  pattern?: RegExp;
  /** Value used in local.settings.sample.json when it differs from the default. */
  localValue?: string;
}

const s = <K extends Kind>(decl: SettingDecl<K>): SettingDecl<K> => decl;

export const settings = {
  AzureWebJobsStorage: s({
    kind: 'string',
    secret: true,
    description:
      "the Functions host's storage (Durable task hub, queues); a connection string or UseDevelopmentStorage=true",
    default: '',
    localValue: 'UseDevelopmentStorage=true',
  }),
  AzureWebJobsStorage__accountName: s({
    kind: 'string',
    description:
      "identity-based connection to the Functions host's storage (Azure); restore results are posted to its queues",
    default: '',
  }),
  VAULT_STORAGE: s({
    kind: 'string',
    secret: true,
    description:
      'connection string of the vault storage account (dumps, recovery points, jobs); empty = AzureWebJobsStorage. In Azure use VAULT_STORAGE__accountName (identity-based) instead',
    default: '',
  }),
  VAULT_STORAGE__accountName: s({
    kind: 'string',
    description: 'identity-based connection to the vault storage account (Azure): the account name',
    default: '',
  }),
  VAULT_RESOURCE_ID: s({
    kind: 'string',
    description: 'the ARM-style id this deployment answers as (one pgkeep deployment is one backup vault)',
    default:
      '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/pgkeep/providers/Microsoft.DataProtection/backupVaults/pgkeep',
    pattern:
      /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.DataProtection\/backupVaults\/[^/]+$/,
  }),
  ARM_ENDPOINT: s({
    kind: 'string',
    description: 'Azure Resource Manager endpoint for the Reader readiness check (sovereign clouds differ)',
    default: 'https://management.azure.com',
    pattern: /^https:\/\/[^\s]+$/,
  }),
  BACKUP_CONTAINER: s({
    kind: 'string',
    description: 'blob container that holds dumps and manifests',
    default: 'pgkeep-backups',
    pattern: /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/,
  }),
  TABLE_PREFIX: s({
    kind: 'string',
    description:
      'prefix of the Table Storage tables (backupPolicies, backupInstances, recoveryPoints, jobs, notificationChannels, notifications, instanceHealth)',
    default: '',
    pattern: /^([A-Za-z][A-Za-z0-9]{0,30})?$/,
  }),
  DURABLE_TASK_HUB: s({
    kind: 'string',
    description: 'Durable Functions task hub name (host.json reads it as %DURABLE_TASK_HUB%)',
    default: 'pgkeep',
    pattern: /^[A-Za-z][A-Za-z0-9]{2,44}$/,
  }),
  SCHEDULER_SCHEDULE: s({
    kind: 'string',
    description: 'NCRONTAB (6 fields) of the scheduler timer that starts due backups',
    default: '0 */5 * * * *',
  }),
  EXPIRY_SCHEDULE: s({
    kind: 'string',
    description: 'NCRONTAB (6 fields) of the expiry timer',
    default: '0 30 2 * * *',
  }),
  RESTORE_TEST_SCHEDULER_SCHEDULE: s({
    kind: 'string',
    description: 'NCRONTAB (6 fields) of the timer that starts the restore-test plans that are due',
    default: '0 */5 * * * *',
  }),
  CONTENTS_MANIFEST: s({
    kind: 'bool',
    description:
      'compute the manifest of contents (per-table row counts and checksums) from each dump as it streams; restore tests compare restored databases against it',
    default: true,
  }),
  EXPIRY_CONCURRENCY: s({
    kind: 'int',
    description: 'backup instances the expiry run processes at once',
    default: 8,
    min: 1,
    max: 64,
  }),
  ORPHAN_GRACE_HOURS: s({
    kind: 'int',
    description: 'a dump blob without a recovery point row is deleted after this many hours',
    default: 48,
    min: 1,
    max: 24 * 30,
  }),
  ORPHAN_SWEEP_INTERVAL_HOURS: s({
    kind: 'int',
    description:
      "the expiry run also lists every instance's blobs (orphans, missing blobs) when no run has in this many hours; 0 = every run",
    default: 168,
    min: 0,
    max: 24 * 90,
  }),
  DUMP_STALL_TIMEOUT_SECONDS: s({
    kind: 'int',
    description: 'a dump that produces no bytes for this long is killed and fails SystemErrorDumpStalled',
    default: 900,
    min: 5,
    max: 86_400,
  }),
  ZSTD_LEVEL: s({
    kind: 'int',
    description:
      "zstd compression level of dumps (1 is the design's speed baseline; 3 saves a few % of storage for ~1.5× the CPU)",
    default: 1,
    min: 1,
    max: 3,
  }),
  PG_BIN_DIRS: s({
    kind: 'string',
    description:
      'extra directories (":"-separated) searched for pg_dump/pg_restore besides PATH and /usr/lib/postgresql/*/bin',
    default: '',
  }),
  // --- keys and trust (issue 16): envelope encryption of dumps, restore targets ---
  BACKUP_ENCRYPTION_KEY_URI: s({
    kind: 'string',
    description:
      "Key Vault / Managed HSM key that wraps each backup's data key (https://<vault>.vault.azure.net/keys/<name>[/<version>]; versionless = the current version, so a new version applies to new backups at once); wins over BACKUP_KEYRING for new backups",
    default: '',
    pattern: /^(https:\/\/[^\s/?#]+\/keys\/[0-9A-Za-z-]{1,127}(\/[0-9A-Za-z]{1,64})?\/?)?$/,
  }),
  BACKUP_KEYRING: s({
    kind: 'string',
    secret: true,
    description:
      'local keyring of key-encryption keys, JSON {"current":"k2","keys":{"k1":"<base64 of 32 bytes>","k2":"…"}}: "current" wraps new backups, every entry unwraps the points that name it (in Azure, a Key Vault reference)',
    default: '',
  }),
  BACKUP_ENCRYPTION_KEY: s({
    kind: 'string',
    secret: true,
    description:
      'legacy single base64 AES-256 key, read as a keyring of one entry named BACKUP_ENCRYPTION_KEY_ID: points written with it as their raw key keep restoring, and with no other key configured it wraps new backups',
    default: '',
    pattern: /^([A-Za-z0-9+/]{43}=)?$/,
  }),
  BACKUP_ENCRYPTION_KEY_ID: s({
    kind: 'string',
    description:
      'the keyring entry name of BACKUP_ENCRYPTION_KEY, recorded in manifests (never the key); empty = "default"',
    default: '',
    pattern: /^([A-Za-z0-9._-]{1,64})?$/,
  }),
  RESTORE_FILES_ALLOWED_ACCOUNTS: s({
    kind: 'string',
    description:
      "blob endpoint host names (comma-separated, e.g. exports.blob.core.windows.net) a restore as files may write to with the app's own identity; any other container URL must carry its own SAS. The vault's own account is not on it unless listed",
    default: '',
    pattern: /^[A-Za-z0-9.:,\s-]*$/,
  }),
  RESTORE_REQUESTS_QUEUE: s({ kind: 'string', description: 'queue of restore requests', default: 'restore-requests' }),
  RESTORE_RESULTS_QUEUE: s({
    kind: 'string',
    description: 'default queue for restore results',
    default: 'restore-results',
  }),
  MAX_REQUEST_BODY_BYTES: s({
    kind: 'int',
    description: 'largest HTTP request body accepted',
    default: 1_048_576,
    min: 1024,
    max: 16 * 1_048_576,
  }),
  ENFORCE_CALLER_ROLES: s({
    kind: 'bool',
    description: 'require Reader/Operator/Admin roles from x-ms-client-principal (on in Azure, off locally)',
    default: false,
  }),
  // --- fleets (issue 15): servers, discovery, backup slots ---
  SERVER_MAX_CONCURRENT_BACKUPS: s({
    kind: 'int',
    description:
      "backups of one server's databases running at once (scheduled and on demand); a server's maxConcurrentBackups overrides it",
    default: 2,
    min: 1,
    max: 64,
  }),
  HOST_MAX_CONCURRENT_BACKUPS: s({
    kind: 'int',
    description: 'backups running at once across every server, on all workers of the function app',
    default: 8,
    min: 1,
    max: 512,
  }),
  BACKUP_SLOT_POLL_SECONDS: s({
    kind: 'int',
    description: 'how often a Queued backup asks again for its slot (a durable timer)',
    default: 30,
    min: 1,
    max: 600,
  }),
  BACKUP_JITTER_SECONDS: s({
    kind: 'int',
    description:
      'scheduled backups start up to this many seconds after their slot, spread by instance name (0 = at the slot)',
    default: 0,
    min: 0,
    max: 6 * 3600,
  }),
  DISCOVERY_SCHEDULE: s({
    kind: 'string',
    description: 'NCRONTAB (6 fields) of the discovery timer: auto-protect, missing databases, globals backups',
    default: '0 */15 * * * *',
  }),
  GLOBALS_BACKUP_HOURS: s({
    kind: 'int',
    description: "how often discovery backs up a server's globals (pg_dumpall --globals-only); 0 = never",
    default: 24,
    min: 0,
    max: 24 * 365,
  }),
  GLOBALS_KEEP: s({
    kind: 'int',
    description: 'globals recovery points kept per server (the oldest beyond this are deleted)',
    default: 30,
    min: 1,
    max: 1000,
  }),
  LOG_LEVEL: s({
    kind: 'string',
    description: 'least severe log level written',
    default: 'info',
    oneOf: ['debug', 'info', 'warn', 'error'],
  }),
  // --- health and alerts (issue 13; README "Health and alerts") ---
  WATCHDOG_SCHEDULE: s({
    kind: 'string',
    description:
      'NCRONTAB (6 fields) of the health watchdog: records missed backup slots and raises HealthChanged events',
    default: '0 */5 * * * *',
  }),
  MISSED_SLOT_GRACE_MINUTES: s({
    kind: 'int',
    description: 'a scheduled slot with no backup this many minutes after it was due is recorded as missed',
    default: 30,
    min: 1,
    max: 24 * 60,
  }),
  MISSED_SLOT_START_LATE_BACKUP: s({
    kind: 'bool',
    description: 'when the watchdog finds a missed slot, also start a late backup for it (off: the next slot runs)',
    default: false,
  }),
  NOTIFICATION_SCHEDULE: s({
    kind: 'string',
    description: 'NCRONTAB (6 fields) of the notification worker that delivers the outbox to the channels',
    default: '*/15 * * * * *',
  }),
  NOTIFICATION_TIMEOUT_SECONDS: s({
    kind: 'int',
    description: 'a notification endpoint that has not answered in this many seconds counts as a failed attempt',
    default: 15,
    min: 1,
    max: 120,
  }),
  NOTIFICATION_RETRY_BASE_SECONDS: s({
    kind: 'int',
    description: 'wait before the first retry of a delivery; each later retry waits twice as long',
    default: 30,
    min: 1,
    max: 3600,
  }),
  NOTIFICATION_RETRY_MAX_SECONDS: s({
    kind: 'int',
    description: 'longest wait between two attempts of a delivery',
    default: 3600,
    min: 1,
    max: 6 * 3600,
  }),
  NOTIFICATION_RETRY_HOURS: s({
    kind: 'int',
    description: 'a delivery that keeps failing with 408, 429, 5xx or a connection error is retried this long',
    default: 24,
    min: 24,
    max: 24 * 7,
  }),
  NOTIFICATION_LEASE_SECONDS: s({
    kind: 'int',
    description: 'how long a worker holds a delivery it is sending; a worker that died mid-send is taken over after it',
    default: 120,
    min: 5,
    max: 3600,
  }),
  NOTIFICATION_RETENTION_DAYS: s({
    kind: 'int',
    description: 'finished deliveries (and the record of each raised event) are kept this many days',
    default: 30,
    min: 2,
    max: 365,
  }),
  ALLOW_HTTP_LOOPBACK_URLS: s({
    kind: 'bool',
    description:
      'accept http:// URLs from callers (notification endpoints, restore-as-files containers) when they point at this machine (localhost, 127.0.0.1, ::1): local receivers and Azurite; off in Azure, where only https is accepted',
    default: false,
    localValue: 'true',
  }),
  PUBLIC_BASE_URL: s({
    kind: 'string',
    description:
      "the app's public URL for links in notifications (https://<app>.azurewebsites.net); empty = from WEBSITE_HOSTNAME",
    default: '',
    pattern: /^(https?:\/\/[^\s/?#]+)?$/,
  }),
  APPLICATIONINSIGHTS_CONNECTION_STRING: s({
    kind: 'string',
    description: 'export traces, logs and metrics to Application Insights (OpenTelemetry); empty = no export',
    default: '',
  }),
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: s({
    kind: 'string',
    description:
      "Authorization=AAD[;ClientId=…]: publish telemetry with the app's identity (needed when local auth is off)",
    default: '',
  }),
  TEST_CLOCK_OFFSET_SECONDS: s({
    kind: 'int',
    description:
      "tests only: the app's clock runs this many seconds ahead of the machine's; refused unless AZURE_FUNCTIONS_ENVIRONMENT=Development",
    default: 0,
    min: 0,
    max: 20 * 366 * 86_400,
  }),
} as const;

export type SettingName = keyof typeof settings;

type ValueOf<D> = D extends SettingDecl<'int'> ? number : D extends SettingDecl<'bool'> ? boolean : string;

export type Config = { readonly [N in SettingName]: ValueOf<(typeof settings)[N]> };

function parseOne(name: string, decl: SettingDecl<Kind>, raw: string | undefined): { value?: unknown; error?: string } {
  if (raw === undefined || raw === '') {
    if (decl.default === undefined) return { error: `${name} is required` };
    return { value: decl.default };
  }
  switch (decl.kind) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) return { error: `${name} must be a whole number` };
      const n = Number(raw.trim());
      if (decl.min !== undefined && n < decl.min) return { error: `${name} must be at least ${decl.min}` };
      if (decl.max !== undefined && n > decl.max) return { error: `${name} must be at most ${decl.max}` };
      return { value: n };
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['true', '1', 'yes'].includes(v)) return { value: true };
      if (['false', '0', 'no'].includes(v)) return { value: false };
      return { error: `${name} must be true or false` };
    }
    case 'string': {
      // Never echo the value: it may be a secret.
      if (decl.oneOf && !decl.oneOf.includes(raw)) return { error: `${name} must be one of ${decl.oneOf.join(', ')}` };
      if (decl.pattern && !decl.pattern.test(raw)) return { error: `${name} does not have the expected form` };
      return { value: raw };
    }
  }
}

/** Validates every setting at once; throws UserErrorInvalidRequest naming each bad one. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const out: Record<string, unknown> = {};
  const details: ErrorDetail[] = [];
  for (const [name, decl] of Object.entries(settings) as [string, SettingDecl<Kind>][]) {
    const r = parseOne(name, decl, env[name]);
    if (r.error) details.push({ code: 'UserErrorInvalidRequest', message: r.error, target: name });
    else out[name] = r.value;
  }
  if (
    typeof out.TEST_CLOCK_OFFSET_SECONDS === 'number' &&
    out.TEST_CLOCK_OFFSET_SECONDS !== 0 &&
    env.AZURE_FUNCTIONS_ENVIRONMENT !== 'Development'
  ) {
    // A moved clock is a test device (docs/decisions.md, "Health and alerts"): never in a deployed app.
    details.push({
      code: 'UserErrorInvalidRequest',
      message: 'TEST_CLOCK_OFFSET_SECONDS is for tests only: it needs AZURE_FUNCTIONS_ENVIRONMENT=Development',
      target: 'TEST_CLOCK_OFFSET_SECONDS',
    });
  }
  if (details.length > 0) {
    throw new PgkeepError('UserErrorInvalidRequest', `invalid settings: ${details.map((d) => d.target).join(', ')}`, {
      details,
    });
  }
  return Object.freeze(out) as Config;
}

let cached: Config | undefined;
/** The process's settings, read once. Only composition roots (functions/, devhost, cli) call this. */
export function getConfig(): Config {
  cached ??= loadConfig();
  return cached;
}

/**
 * The host name the platform gives the app (WEBSITE_HOSTNAME: `<app>.azurewebsites.net` in Azure, `localhost:<port>`
 * under devhost), for links in notifications when PUBLIC_BASE_URL is not set. Not a pgkeep setting: the platform sets it.
 */
export function platformHostName(env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  const v = env.WEBSITE_HOSTNAME?.trim();
  return v ? v : undefined;
}

/** Settings as printable lines with secrets masked, for start-up output. */
export function describeConfig(config: Config): string[] {
  return (Object.keys(settings) as SettingName[]).map((name) => {
    const decl: SettingDecl<Kind> = settings[name];
    const v = config[name];
    return `${name}=${decl.secret && v !== '' ? '***' : String(v)}`;
  });
}

/** The Values of local.settings.sample.json: every setting with its local value. */
export function localSettingsValues(): Record<string, string> {
  const values: Record<string, string> = { FUNCTIONS_WORKER_RUNTIME: 'node' };
  for (const [name, decl] of Object.entries(settings) as [string, SettingDecl<Kind>][]) {
    values[name] = decl.localValue ?? String(decl.default ?? '');
  }
  return values;
}

// Settings a backup instance may not name as its secret (`appsetting://NAME`): pgkeep's own settings and the
// platform's credentials. Their values would only ever be parsed as a connection string, but a reference to them is
// a mistake at best and an attempt to probe them at worst.
const reservedAppSettingPrefixes = ['AZUREWEBJOBS', 'FUNCTIONS_', 'WEBSITE_', 'IDENTITY_', 'MSI_', 'AZURE_'];

/** Whether a user-named app setting is one pgkeep refuses to read as a secret (see readAppSetting). */
export function isReservedAppSettingName(name: string): boolean {
  const upper = name.toUpperCase();
  return (
    Object.keys(settings).some((own) => own.toUpperCase() === upper) ||
    reservedAppSettingPrefixes.some((prefix) => upper.startsWith(prefix))
  );
}

/**
 * The value of a user-named app setting (an `appsetting://NAME` secret reference, design §3), read at call time so
 * that settings changed by the platform (Key Vault references) are seen. The one sanctioned reader of such names;
 * reserved names and unset settings read as undefined.
 */
export function readAppSetting(name: string): string | undefined {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || isReservedAppSettingName(name)) return undefined;
  return process.env[name];
}
