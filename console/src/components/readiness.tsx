// The readiness report (design §8): every check with its result, and for each failed one what fixes it — the GRANT
// script with a copy button, the role-assignment template to download, or the remediation in words.

import { useEffect, useRef } from 'preact/hooks';
import type { ValidateForBackupResult } from '../../../shared/contracts/instances';
import { Status } from './basics';
import { CopyButton, DownloadButton } from './forms';

type Check = ValidateForBackupResult['checks'][number];

// Titles for the check names of shared/activities/readiness.ts (checkNames); an unknown name shows as it is.
const checkTitles: Record<string, string> = {
  armReaderOnServer: "The app's identity can read the server (Azure Reader role)",
  appCanReadServer: "The app's identity can read the server (Azure Reader role)",
  secretStoreAccess: 'The app can read the secret',
  secretFormat: 'The secret is a connection string',
  serverReachable: 'The server is reachable',
  userCanLogIn: 'The user can log in',
  databaseExists: 'The database exists',
  userCanReadDatabase: 'The user can read every table, sequence and schema',
  pgDumpVersion: 'A pg_dump at least as new as the server is installed',
  // validateRestore (shared/activities/restore.ts)
  backupInstance: 'The backup instance exists',
  recoveryPoint: 'The recovery point can be restored',
  restoreOptions: 'The restore options fit the dump',
  targetSecret: 'The target credentials can be read',
  targetServer: 'The target server accepts the login',
  databaseName: 'The new database name is free',
  pgRestoreVersion: 'A pg_restore that can read the dump is installed',
  encryptionKey: 'The key that decrypts the dump is configured',
  filePrefix: 'The file prefix is valid',
  targetContainer: 'The target container is writable',
};

const looksLikeSql = (text: string) => /^\s*(GRANT|ALTER|--)/im.test(text);

function Remedy({ check }: { check: Check }) {
  const remediation = check.remediation;
  return (
    <div class="remedy">
      {remediation && looksLikeSql(remediation) ? (
        <>
          <p>Run this on the database as its owner, then check again:</p>
          <pre class="sql">{remediation}</pre>
          <CopyButton text={remediation} label="Copy SQL" />
        </>
      ) : (
        remediation && <p>What to do: {remediation}</p>
      )}
      {check.remediationTemplate && (
        <p>
          <DownloadButton
            filename="pgkeep-reader-role-assignment.json"
            content={JSON.stringify(check.remediationTemplate, null, 2)}
            label="Download role-assignment template"
          />
        </p>
      )}
      {check.details && check.details.length > 0 && (
        <details>
          <summary>{check.details.length} object(s) concerned</summary>
          <ul>
            {check.details.map((d) => (
              <li key={d.target}>
                <code>{d.target}</code> {d.message}
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

export function ReadinessChecks({
  result,
  label,
}: {
  result: Pick<ValidateForBackupResult, 'checks' | 'serverVersion'>;
  label: string;
}) {
  const failed = result.checks.filter((c) => c.status === 'Failed').length;
  const ref = useRef<HTMLElement>(null);
  // A new report is what the user asked for: bring it into view.
  useEffect(() => ref.current?.scrollIntoView({ block: 'nearest', behavior: 'smooth' }), [result]);
  return (
    <section class="readiness" aria-label={label} ref={ref}>
      <p class={failed > 0 ? 'verdict verdict-bad' : 'verdict verdict-ok'} role="status">
        {failed > 0
          ? `${failed} of ${result.checks.length} checks failed`
          : `All ${result.checks.length} checks passed`}
        {result.serverVersion && <span class="muted"> · PostgreSQL {result.serverVersion}</span>}
      </p>
      <table class="data">
        <thead>
          <tr>
            <th scope="col">Check</th>
            <th scope="col">Result</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {result.checks.map((c) => (
            <tr key={c.name}>
              <th scope="row">
                {checkTitles[c.name] ?? c.name}
                <div class="muted mono">{c.name}</div>
              </th>
              <td>
                <Status value={c.status} />
              </td>
              <td>
                <p>
                  {c.message}
                  {c.code && (
                    <>
                      {' '}
                      <code>{c.code}</code>
                    </>
                  )}
                </p>
                {c.status === 'Failed' && <Remedy check={c} />}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
