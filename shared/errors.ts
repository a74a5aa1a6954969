// The one registry of pgkeep's error codes (design §8, §9) and the one error class that carries them.
// Every failure a caller can see — HTTP body, job error, queue result — has a code from this table.

export interface ErrorSpec {
  /** HTTP status when the error answers a request. */
  readonly status: number;
  /** Whether trying the same thing again later may succeed. */
  readonly retryable: boolean;
  /** What the operator can do about it. Never contains data from the failing request. */
  readonly hint: string;
}

const registry = {
  UserErrorInvalidRequest: {
    status: 400,
    retryable: false,
    hint: 'fix the fields named in details and send the request again',
  },
  UserErrorInvalidPolicy: {
    status: 400,
    retryable: false,
    hint: 'fix the policy fields named in details; see the fixtures in the README for valid policies',
  },
  UserErrorPolicyInUse: {
    status: 409,
    retryable: false,
    hint: 'policies cannot be edited or deleted while backup instances use them: create a new policy and move the instances to it',
  },
  UserErrorNotFound: { status: 404, retryable: false, hint: 'check the name; list the collection to see what exists' },
  UserErrorDatasourceAlreadyProtected: {
    status: 409,
    retryable: false,
    hint: 'this database is already protected by another backup instance; change that instance instead',
  },
  UserErrorBackupInProgress: {
    status: 409,
    retryable: true,
    hint: 'wait for the running backup job of this instance to finish',
  },
  UserErrorProtectionStopped: {
    status: 409,
    retryable: false,
    hint: 'resume protection of the backup instance first',
  },
  UserErrorRecoveryPointArchived: {
    status: 400,
    retryable: false,
    hint: 'the recovery point is in ArchiveStore: send an AzureBackupRestoreWithRehydrationRequest with sourceDataStoreType ArchiveStore',
  },
  UserErrorDatabaseNameAlreadyInUse: {
    status: 409,
    retryable: false,
    hint: 'restores never overwrite: choose a database name that does not exist on the target server',
  },
  UserErrorContainerNotAccessible: {
    status: 400,
    retryable: true,
    hint: 'create the target container and grant the app Storage Blob Data Contributor on it',
  },
  UserErrorServerConnectionClosed: {
    status: 502,
    retryable: true,
    hint: 'the server closed the connection; check that it is running and not restarting, then retry',
  },
  UserErrorMSIMissingPermissions: {
    status: 403,
    retryable: false,
    hint: "assign the app's managed identity the Reader role on the PostgreSQL server",
  },
  UserErrorMissingPermissionsOnSecretStore: {
    status: 403,
    retryable: false,
    hint: "assign the app's managed identity the Key Vault Secrets User role on the key vault",
  },
  UserErrorInvalidSecret: {
    status: 400,
    retryable: false,
    hint: 'check that the secret exists at the given URI (or the app setting is set)',
  },
  UserErrorSecretValueInUnsupportedFormat: {
    status: 400,
    retryable: false,
    hint: 'store the connection string as "Server=…;Database=…;Port=5432;User Id=…;Password=…;Ssl Mode=Require;" or "postgresql://user:password@host:port/database"',
  },
  UserErrorMissingNetworkSecurityPermissions: {
    status: 502,
    retryable: true,
    hint: "allow the app's outbound addresses (or Azure services) in the server's firewall and check the host name and port",
  },
  UserErrorDBUserAuthFailed: {
    status: 401,
    retryable: false,
    hint: 'check the user name and password in the secret',
  },
  UserErrorMissingDBPermissions: {
    status: 403,
    retryable: false,
    hint: 'run the generated GRANT script on the database as its owner, then retry',
  },
  UserErrorPgDumpVersionMismatch: {
    status: 400,
    retryable: false,
    hint: 'install a pg_dump whose major version is at least the server major (or set PG_BIN_DIRS to where it is)',
  },
  SystemErrorDumpFailed: {
    status: 500,
    retryable: true,
    hint: 'pg_dump failed; the job error carries its message. Retry; if it persists check the server log',
  },
  SystemErrorDumpStalled: {
    status: 500,
    retryable: true,
    hint: 'pg_dump produced no bytes for longer than DUMP_STALL_TIMEOUT_SECONDS; check for locks on the database',
  },
  SystemErrorRestoreFailed: {
    status: 500,
    retryable: true,
    hint: 'pg_restore failed; the job error carries its message',
  },
  SystemErrorIntegrityCheckFailed: {
    status: 500,
    retryable: false,
    hint: 'the stored backup does not match its recorded SHA-256; restore another recovery point and report this one',
  },
  // --- health and alerts (issue 13) ---
  // A job error only (the watchdog records it); 409 if it ever answered a request: the slot's time has passed.
  UserErrorBackupMissed: {
    status: 409,
    retryable: true,
    hint: 'no backup started for a scheduled slot: check that the function app was running and its scheduler timer fired; the next slot is tried as usual (MISSED_SLOT_START_LATE_BACKUP=true starts a late backup instead)',
  },
  SystemErrorInternal: {
    status: 500,
    retryable: true,
    hint: 'an unexpected error; the app log has details under the job id',
  },
  // --- restore tests (issue 17) ---
  UserErrorRestoreTestTargetNotReady: {
    status: 400,
    retryable: false,
    hint: "give the scratch target's user the CREATEDB right (ALTER ROLE … CREATEDB), or name a server where it has it: a restore test creates and drops databases named pgkeep_verify_<id> there",
  },
  UserErrorRestoreTestTargetIsSource: {
    status: 400,
    retryable: false,
    hint: 'name a scratch server other than the one the backup instance protects, or set target.allowSourceServer to true in the plan to test on the source server on purpose',
  },
  SystemErrorRestoreTestFailed: {
    status: 500,
    retryable: false,
    hint: "the restored database differed from the recovery point's manifest of contents, or an assertion did not return true: the job's restoreTest lists each mismatch and assertion; keep the point and investigate it",
  },
  // --- keys and trust (issue 16): key-encryption keys and the vault's immutability ---
  UserErrorEncryptionKeyDisabled: {
    status: 409,
    retryable: false,
    hint: 'the key version that wrapped this backup is disabled or expired: enable it again, or, if it was retired on purpose, restore a point that was rewrapped under the current version',
  },
  UserErrorEncryptionKeyNotFound: {
    status: 409,
    retryable: false,
    hint: 'the key (or key version) that wrapped this backup no longer exists: recover it (Key Vault soft delete) or put it back in BACKUP_KEYRING; rewrap points before retiring a key',
  },
  UserErrorMissingPermissionsOnKey: {
    status: 403,
    retryable: false,
    hint: "grant the app's managed identity the Key Vault Crypto Service Encryption User role (wrapKey, unwrapKey, get) on the key or its vault",
  },
  UserErrorBlobImmutable: {
    status: 409,
    retryable: true,
    hint: 'the blob is protected by the container immutability policy (or a legal hold) and cannot be changed or deleted yet; it is retried on a later run',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof registry;

export const errorCodes = Object.freeze(Object.keys(registry) as ErrorCode[]);

export function errorSpec(code: ErrorCode): ErrorSpec {
  return registry[code];
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(registry, value);
}

/** One problem inside a request or document, named by its JSON path (`$.policyRules[2].name`). */
export interface ErrorDetail {
  code: ErrorCode;
  message: string;
  target: string;
  /** What fixes it, when there is something precise to offer (a GRANT script, a role assignment). */
  remediation?: string;
}

export interface PgkeepErrorOptions {
  target?: string;
  details?: ErrorDetail[];
  /** Overrides the registry's hint when the situation has a more precise one. */
  hint?: string;
  /** Overrides the registry's HTTP status (e.g. readiness failures answer 400 whatever the check's code). */
  status?: number;
  cause?: unknown;
}

/** The error every pgkeep module throws for an expected failure. The message never contains a secret. */
export class PgkeepError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly hint: string;
  readonly target: string | undefined;
  readonly details: ErrorDetail[];

  constructor(code: ErrorCode, message: string, options: PgkeepErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PgkeepError';
    const spec = registry[code];
    this.code = code;
    this.status = options.status ?? spec.status;
    this.retryable = spec.retryable;
    this.hint = options.hint ?? spec.hint;
    this.target = options.target;
    this.details = options.details ?? [];
  }

  /** The Azure-shaped error body of design §3 (no stack, no cause). */
  toBody(): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message, hint: this.hint };
    if (this.target !== undefined) error.target = this.target;
    if (this.details.length > 0) error.details = this.details;
    return { error };
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; target?: string; details?: ErrorDetail[]; hint?: string };
}

/** Any thrown value as a PgkeepError; unknown errors become SystemErrorInternal without leaking their text. */
export function toPgkeepError(err: unknown): PgkeepError {
  if (err instanceof PgkeepError) return err;
  return new PgkeepError('SystemErrorInternal', 'internal error', { cause: err });
}
