// The interfaces activities depend on (design §2 "Ports and adapters"). Each port's contract is written on it;
// test/contract/ runs one suite per port against the real thing (Azurite, PostgreSQL) and against any fake.

// --- secrets and connections ---

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

/** A parsed PostgreSQL connection. `password` is a secret: never log, never put in argv or errors. */
export interface PgConnection {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  readonly sslMode: SslMode;
}

/** Where a database credential lives (design §3): only this reference is stored by pgkeep. */
export interface SecretReference {
  readonly secretStoreType: 'AzureKeyVault' | 'AppSetting';
  /** `https://<vault>.vault.azure.net/secrets/<name>[/<version>]` or `appsetting://<SETTING_NAME>` */
  readonly uri: string;
}

/**
 * Resolves a secret reference to its value.
 * Contract: throws PgkeepError UserErrorInvalidSecret when it does not exist, UserErrorMissingPermissionsOnSecretStore
 * when access is denied; never includes the value in an error.
 */
export interface SecretResolver {
  resolve(ref: SecretReference, options?: { abortSignal?: AbortSignal }): Promise<string>;
}

// --- PostgreSQL tools ---

// --- blob storage ---

// --- state stores (Table Storage) ---

// --- clock ---

/** The only source of "now" outside orchestrators (which use context.df.currentUtcDateTime). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
