// Backup readiness of one instance (design §8): every check in order — ARM Reader (ARM ids only), secret access,
// secret format, the database checks, and a suitable pg_dump — reported at once as pure data. The same report
// answers PUT backupInstances, validateForBackup and the first step of every backup.

import { PgkeepError } from '../errors';
import type {
  DbReadinessReport,
  InstanceRecord,
  PgClientTools,
  PgConnection,
  ReadinessCheck,
  SecretResolver,
} from '../ports';
import { parseConnectionString } from '../adapters/postgres/connection-string';
import { pgDumpReadinessCheck } from '../adapters/postgres/pg-binaries';
import { checkDatabaseReadiness, readinessCheckNames } from '../adapters/postgres/pg-readiness';

export interface ReadinessDeps {
  readonly secrets: SecretResolver;
  /** ARM Reader check on the server; NotApplicable for ids that are not ARM resource ids. */
  readonly checkArmReader: (resourceId: string) => Promise<ReadinessCheck>;
  readonly discoverTools: () => Promise<PgClientTools[]>;
  readonly connectTimeoutMs?: number;
}

export const checkNames = {
  armReader: 'armReaderOnServer',
  secretAccess: 'secretStoreAccess',
  secretFormat: 'secretFormat',
  ...readinessCheckNames,
  pgDump: 'pgDumpVersion',
} as const;

const skipped = (name: string): ReadinessCheck => ({
  name,
  status: 'NotApplicable',
  message: 'not checked because an earlier check failed',
});

function failedFrom(name: string, err: unknown): ReadinessCheck {
  if (!(err instanceof PgkeepError)) throw err;
  return { name, status: 'Failed', code: err.code, message: err.message, remediation: err.hint };
}

/** Resolves the instance's secret to a connection for its database; throws the PgkeepError of the failing step. */
export async function resolveConnection(secrets: SecretResolver, instance: InstanceRecord): Promise<PgConnection> {
  const value = await secrets.resolve(instance.secret);
  return parseConnectionString(value, { database: instance.dataSource.resourceName });
}

export async function checkInstanceReadiness(
  deps: ReadinessDeps,
  instance: InstanceRecord,
): Promise<DbReadinessReport> {
  const checks: ReadinessCheck[] = [await deps.checkArmReader(instance.dataSource.resourceID)];
  const dbNames = [
    readinessCheckNames.reachable,
    readinessCheckNames.login,
    readinessCheckNames.database,
    readinessCheckNames.privileges,
  ];

  let secretValue: string | undefined;
  try {
    secretValue = await deps.secrets.resolve(instance.secret);
    checks.push({ name: checkNames.secretAccess, status: 'Succeeded', message: 'the secret was read' });
  } catch (err) {
    checks.push(failedFrom(checkNames.secretAccess, err));
  }
  let conn: PgConnection | undefined;
  if (secretValue === undefined) {
    checks.push(skipped(checkNames.secretFormat));
  } else {
    try {
      conn = parseConnectionString(secretValue, { database: instance.dataSource.resourceName });
      checks.push({ name: checkNames.secretFormat, status: 'Succeeded', message: 'the connection string parses' });
    } catch (err) {
      checks.push(failedFrom(checkNames.secretFormat, err));
    }
  }
  if (conn === undefined) {
    checks.push(...dbNames.map(skipped), skipped(checkNames.pgDump));
    return { checks };
  }
  const db = await checkDatabaseReadiness(
    conn,
    deps.connectTimeoutMs ? { connectTimeoutMs: deps.connectTimeoutMs } : {},
  );
  checks.push(...db.checks);
  checks.push(pgDumpReadinessCheck(db.serverMajor, await deps.discoverTools()));
  return {
    checks,
    ...(db.serverVersion !== undefined ? { serverVersion: db.serverVersion } : {}),
    ...(db.serverMajor !== undefined ? { serverMajor: db.serverMajor } : {}),
  };
}
