// The restore wizard: the point (archived points ask for rehydration priority and how long to keep the copy), the
// target — a new database (credentials reference, name, optional schemas, tables, owner, parallel jobs) or files (a
// blob container URL and a prefix) — then Validate, which shows each problem next to the field it names, and Start
// restore, which follows the job. The request is checked with the API's own schema before it is sent.

import { useState } from 'preact/hooks';
import { toRestoreRequest, type RestoreOptionsSpec, type RestoreSpec } from '../../../shared/contracts/restores';
import type { RecoveryPointResource } from '../../../shared/contracts/recovery-points';
import { api, type Problem } from '../api';
import { Card, ErrorPanel, Loading, PageHead, Tag, Tier } from '../components/basics';
import {
  Button,
  Field,
  FormProblems,
  problemsOf,
  SecretFields,
  secretStoreResource,
  TextField,
  type SecretInput,
} from '../components/forms';
import { JobProgress } from '../components/job';
import { ReadinessChecks } from '../components/readiness';
import { bytes, localTime } from '../format';
import { useCan, useResource } from '../hooks';
import { Link } from '../router';

const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

interface Form {
  point: string;
  priority: 'Standard' | 'High';
  keepDays: string;
  kind: 'database' | 'files';
  secret: SecretInput;
  databaseName: string;
  schemas: string;
  tables: string;
  owner: 'none' | 'keep' | 'role';
  ownerRole: string;
  jobs: string;
  url: string;
  prefix: string;
}

/** What the form describes, as the API's normalised RestoreSpec (sent in Azure's shape by toRestoreRequest). */
export function specOf(f: Form, point: RecoveryPointResource | undefined): RestoreSpec {
  const store = point?.properties.recoveryPointDataStoresDetails[0];
  const archived = store?.type === 'ArchiveStore' && store.state !== 'REHYDRATED';
  const options: RestoreOptionsSpec = {
    ...(list(f.schemas).length > 0 ? { schemas: list(f.schemas) } : {}),
    ...(list(f.tables).length > 0 ? { tables: list(f.tables) } : {}),
    ...(f.owner === 'none' ? {} : { owner: f.owner === 'keep' ? 'keep' : { role: f.ownerRole.trim() } }),
    ...(f.jobs.trim() !== '' ? { jobs: Number(f.jobs) } : {}),
  };
  return {
    recoveryPointId: f.point,
    sourceDataStoreType: store?.type ?? 'VaultStore',
    ...(archived ? { rehydration: { priority: f.priority, retentionDays: Number(f.keepDays.trim()) } } : {}),
    target:
      f.kind === 'database'
        ? { kind: 'database', databaseName: f.databaseName.trim(), secret: secretStoreResource(f.secret) }
        : { kind: 'files', url: f.url.trim(), filePrefix: f.prefix.trim() },
    ...(f.kind === 'database' && Object.keys(options).length > 0 ? { options } : {}),
  };
}

const T = {
  point: ['$.recoveryPointId', '$.sourceDataStoreType', '$.objectType', 'recoveryPoint'],
  priority: ['$.rehydrationPriority'],
  keep: ['$.rehydrationRetentionDuration'],
  secret: ['$.restoreTargetInfo.datasourceAuthCredentials', 'targetSecret', 'targetServer'],
  name: ['$.restoreTargetInfo.datasourceInfo', 'databaseName'],
  schemas: ['$.options.schemas', 'restoreOptions'],
  tables: ['$.options.tables'],
  owner: ['$.options.owner'],
  jobs: ['$.options.jobs'],
  url: ['$.restoreTargetInfo.targetDetails.url', '$.restoreTargetInfo.objectType', 'targetContainer'],
  prefix: ['$.restoreTargetInfo.targetDetails.filePrefix', 'filePrefix'],
};
const claimed = Object.values(T).flat();

export function RestorePage({ name, point }: { name: string; point?: string | undefined }) {
  const can = useCan();
  const points = useResource(() => api.recoveryPoints(name, 50), [name]);
  const chosen = useResource(
    () => (point ? api.recoveryPoint(name, point) : Promise.resolve(undefined)),
    [name, point],
  );
  const [f, setF] = useState<Form>({
    point: point ?? '',
    priority: 'Standard',
    keepDays: '15',
    kind: 'database',
    secret: { type: 'AppSetting', value: '' },
    databaseName: '',
    schemas: '',
    tables: '',
    owner: 'none',
    ownerRole: '',
    jobs: '',
    url: '',
    prefix: '',
  });
  const [error, setError] = useState<unknown>(undefined);
  const [validated, setValidated] = useState<
    { checks: Parameters<typeof ReadinessChecks>[0]['result']['checks'] } | undefined
  >(undefined);
  const [busy, setBusy] = useState<'validate' | 'start' | undefined>(undefined);
  const [jobId, setJobId] = useState<string | undefined>(undefined);

  const options: RecoveryPointResource[] = [...(points.data?.value ?? [])];
  if (chosen.data && !options.some((o) => o.name === chosen.data!.name)) options.unshift(chosen.data);
  const selected = options.find((o) => o.name === (f.point || options[0]?.name));
  const pointId = f.point || selected?.name || '';
  const store = selected?.properties.recoveryPointDataStoresDetails[0];
  const archived = store?.type === 'ArchiveStore' && store.state !== 'REHYDRATED';
  const set = <K extends keyof Form>(k: K, v: Form[K]) => {
    setF((old) => ({ ...old, [k]: v }));
    setValidated(undefined);
  };

  const run = async (what: 'validate' | 'start') => {
    setBusy(what);
    setError(undefined);
    setValidated(undefined);
    const body = toRestoreRequest(specOf({ ...f, point: pointId }, selected));
    try {
      if (what === 'validate') setValidated(await api.validateRestore(name, body));
      else setJobId((await api.restore(name, body)).name);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(undefined);
    }
  };
  const problems: Problem[] = problemsOf(error);

  if (!can('Operator')) {
    return (
      <>
        <PageHead title={`Restore ${name}`} />
        <ErrorPanel error={new Error('restores need the Operator role')} title="You cannot start restores" />
        <p>
          <Link href={`/instances/${encodeURIComponent(name)}`}>Back to {name}</Link>
        </p>
      </>
    );
  }
  return (
    <>
      <PageHead
        title={`Restore ${name}`}
        subtitle="A restore never overwrites: it creates a new database, or writes the dump and a restore script as files."
      >
        <Link class="btn" href={`/instances/${encodeURIComponent(name)}`}>
          Back to {name}
        </Link>
      </PageHead>
      {points.error && <ErrorPanel error={points.error} title="The recovery points could not be loaded" />}
      {!points.data && !points.error && <Loading what="recovery points" />}
      {points.data && (
        <form
          class="wizard"
          onSubmit={(e) => {
            e.preventDefault();
            void run('validate');
          }}
        >
          <Card title="1. Recovery point">
            <Field label="Recovery point" targets={T.point} problems={problems}>
              {(a) => (
                <select
                  {...a}
                  value={pointId}
                  onChange={(e) => set('point', e.currentTarget.value)}
                  disabled={jobId !== undefined}
                >
                  {options.map((o) => (
                    <option key={o.name} value={o.name}>
                      {localTime(o.properties.recoveryPointTime)} · {o.properties.retentionTagName} ·{' '}
                      {o.properties.recoveryPointDataStoresDetails[0]?.type} · {bytes(o.properties.sizeInBytes)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            {selected && (
              <p class="muted small">
                <Tag value={selected.properties.retentionTagName} /> <Tier value={store?.type ?? 'VaultStore'} />{' '}
                PostgreSQL {selected.properties.serverVersion}, dumped with pg_dump {selected.properties.pgDumpVersion}
              </p>
            )}
            {archived && (
              <fieldset class="group">
                <legend>Rehydration (the point is in ArchiveStore)</legend>
                <p class="muted small">
                  It is copied back to a readable tier first; that takes hours in Azure (Standard up to 15 h, High up to
                  1 h).
                </p>
                <Field label="Rehydration priority" targets={T.priority} problems={problems}>
                  {(a) => (
                    <select
                      {...a}
                      value={f.priority}
                      onChange={(e) => set('priority', e.currentTarget.value as Form['priority'])}
                    >
                      <option value="Standard">Standard</option>
                      <option value="High">High</option>
                    </select>
                  )}
                </Field>
                <Field
                  label="Keep the rehydrated copy for (days)"
                  targets={T.keep}
                  problems={problems}
                  hint="10 to 30 days"
                >
                  {(a) => (
                    <input
                      {...a}
                      type="number"
                      min={10}
                      max={30}
                      value={f.keepDays}
                      onInput={(e) => set('keepDays', e.currentTarget.value)}
                    />
                  )}
                </Field>
              </fieldset>
            )}
          </Card>
          <Card title="2. Target">
            <fieldset class="group radios">
              <legend>Restore as</legend>
              <label class="check">
                <input
                  type="radio"
                  name="kind"
                  checked={f.kind === 'database'}
                  onChange={() => set('kind', 'database')}
                />
                A new database
              </label>
              <label class="check">
                <input type="radio" name="kind" checked={f.kind === 'files'} onChange={() => set('kind', 'files')} />
                Files in a blob container
              </label>
            </fieldset>
            {f.kind === 'database' ? (
              <div class="form-grid">
                <SecretFields
                  secret={f.secret}
                  onChange={(v) => set('secret', v)}
                  settingLabel="App setting with the target connection string"
                  settingHint="the setting holds a connection string to the target server; its database name is ignored"
                  targets={T.secret}
                  problems={problems}
                />
                <TextField
                  label="New database name"
                  value={f.databaseName}
                  onValue={(v) => set('databaseName', v)}
                  targets={T.name}
                  problems={problems}
                  hint="must not exist on the target server"
                />
                <TextField
                  label="Schemas (optional)"
                  value={f.schemas}
                  onValue={(v) => set('schemas', v)}
                  targets={T.schemas}
                  problems={problems}
                  hint="comma-separated; empty restores every schema"
                />
                <TextField
                  label="Tables (optional)"
                  value={f.tables}
                  onValue={(v) => set('tables', v)}
                  targets={T.tables}
                  problems={problems}
                  hint='comma-separated, "table" or "schema.table"'
                />
                <Field label="Owner of the restored objects" targets={T.owner} problems={problems}>
                  {(a) => (
                    <select
                      {...a}
                      value={f.owner}
                      onChange={(e) => set('owner', e.currentTarget.value as Form['owner'])}
                    >
                      <option value="none">The restoring user</option>
                      <option value="keep">The original owners</option>
                      <option value="role">Another role</option>
                    </select>
                  )}
                </Field>
                {f.owner === 'role' && (
                  <TextField
                    label="Owner role"
                    value={f.ownerRole}
                    onValue={(v) => set('ownerRole', v)}
                    targets={['$.options.owner.role']}
                    problems={problems}
                  />
                )}
                <Field
                  label="Parallel jobs (optional)"
                  targets={T.jobs}
                  problems={problems}
                  hint="1 to 32; more than 1 runs pg_restore --jobs"
                >
                  {(a) => (
                    <input {...a} type="number" value={f.jobs} onInput={(e) => set('jobs', e.currentTarget.value)} />
                  )}
                </Field>
              </div>
            ) : (
              <div class="form-grid">
                <Field
                  label="Container URL"
                  targets={T.url}
                  problems={problems}
                  hint="https://<account>.blob.core.windows.net/<container>, with a SAS token or writable by the app's identity"
                >
                  {(a) => (
                    <input
                      {...a}
                      type="url"
                      value={f.url}
                      onInput={(e) => set('url', e.currentTarget.value)}
                      autoComplete="off"
                    />
                  )}
                </Field>
                <TextField
                  label="File prefix (optional)"
                  value={f.prefix}
                  onValue={(v) => set('prefix', v)}
                  targets={T.prefix}
                  problems={problems}
                  hint="a folder inside the container, e.g. orders/2026-03"
                />
              </div>
            )}
          </Card>
          <FormProblems error={error} problems={problems} claimed={claimed} />
          {validated && (
            <Card title="Validation">
              <ReadinessChecks result={validated} label="Restore checks" />
            </Card>
          )}
          {!jobId && (
            <div class="form-actions">
              <Button type="submit" busy={busy === 'validate'}>
                Validate
              </Button>
              <Button kind="primary" busy={busy === 'start'} onClick={() => void run('start')}>
                Start restore
              </Button>
            </div>
          )}
        </form>
      )}
      {jobId && (
        <Card title="Progress">
          <JobProgress id={jobId} title="Restore job" />
          <p class="small">
            <Link href={`/instances/${encodeURIComponent(name)}`}>Back to {name}</Link>
          </p>
        </Card>
      )}
    </>
  );
}
