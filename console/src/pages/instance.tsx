// One instance: its facts, its recovery points newest first (paged, 50 at a time, each with its latest restore test)
// with a timeline chart coloured by tier, its restore-test history, and the actions its roles allow — Back up now
// (rule and retention tag), Test restore now (through a plan covering it), Restore (per point), Stop / Resume
// protection — plus its readiness checks with each failed check's remediation.

import { useState } from 'preact/hooks';
import type { BackupInstanceResource, ValidateForBackupResult } from '../../../shared/contracts/instances';
import { policyNameFromId } from '../../../shared/contracts/instances';
import type { RecoveryPointTimeline } from '../../../shared/contracts/recovery-points';
import type { TagName } from '../../../shared/domain/types';
import { api } from '../api';
import {
  Card,
  Empty,
  ErrorPanel,
  Loading,
  PageHead,
  protectionWords,
  Status,
  Tag,
  Tier,
  Time,
} from '../components/basics';
import { StackedBars } from '../components/chart';
import { Button, Dialog, Field, FormProblems, problemsOf } from '../components/forms';
import { isRunning, JobProgress } from '../components/job';
import { ReadinessChecks } from '../components/readiness';
import { plansCovering, RestoreTestBadge, RestoreTestHistory, TestRestoreDialog } from '../components/restore-tests';
import { bytes, count, localDay } from '../format';
import { useCan, useResource } from '../hooks';
import { href, Link, navigate } from '../router';

const PAGE = 50;

function bucketLabel(bucket: RecoveryPointTimeline['bucket'], start: string): string {
  const d = new Date(start);
  return bucket === 'month'
    ? d.toLocaleDateString(undefined, { month: 'short', year: 'numeric', timeZone: 'UTC' })
    : d.toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
}

function Timeline({ name, version }: { name: string; version: number }) {
  const t = useResource(() => api.timeline(name), [name, version]);
  if (t.error) return <ErrorPanel error={t.error} title="The timeline could not be loaded" />;
  if (!t.data) return <Loading what="the timeline" />;
  if (t.data.value.length === 0)
    return <p class="muted">No recovery points yet: the chart fills in as backups succeed.</p>;
  const data = t.data;
  return (
    <>
      <StackedBars
        title={`Recovery points per ${data.bucket}`}
        unit="points"
        series={[
          { key: 'VaultStore', label: 'VaultStore', tone: 'fill-vault' },
          { key: 'ArchiveStore', label: 'ArchiveStore', tone: 'fill-archive' },
        ]}
        bars={data.value.map((b) => ({ label: bucketLabel(data.bucket, b.start), values: b.points }))}
      />
      <p class="muted small">
        {count(data.totals.points.VaultStore)} in VaultStore ({bytes(data.totals.bytes.VaultStore)}),{' '}
        {count(data.totals.points.ArchiveStore)} in ArchiveStore ({bytes(data.totals.bytes.ArchiveStore)}); oldest{' '}
        <Time iso={data.oldest} />.
      </p>
    </>
  );
}

function Points({ name, version, canRestore }: { name: string; version: number; canRestore: boolean }) {
  // Links of the pages seen so far: [first, second, …]; the first page is the plain $top query.
  const [links, setLinks] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState(0);
  const link = links[page];
  const points = useResource(
    () => (link ? api.recoveryPointsPage(link) : api.recoveryPoints(name, PAGE)),
    [name, link, version],
  );
  if (points.error) return <ErrorPanel error={points.error} title="The recovery points could not be loaded" />;
  if (!points.data) return <Loading what="recovery points" />;
  const next = points.data.nextLink;
  if (points.data.value.length === 0 && page === 0) {
    return (
      <Empty title="No recovery points yet.">
        <p>
          {canRestore
            ? 'Use Back up now for a first backup, or wait for the next scheduled one.'
            : 'They appear here after the first backup.'}
        </p>
      </Empty>
    );
  }
  return (
    <>
      <div class="table-wrap">
        <table class="data">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Tag</th>
              <th scope="col">Tier</th>
              <th scope="col" class="num">
                Size
              </th>
              <th scope="col">Expires</th>
              <th scope="col">Integrity</th>
              <th scope="col">Restore test</th>
              {canRestore && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {points.data.value.map((rp) => {
              const p = rp.properties;
              const store = p.recoveryPointDataStoresDetails[0];
              return (
                <tr key={rp.name}>
                  <th scope="row">
                    <Time iso={p.recoveryPointTime} />
                  </th>
                  <td>
                    <Tag value={p.retentionTagName} />
                    {p.trigger === 'OnDemand' && <span class="muted small"> on demand</span>}
                  </td>
                  <td>
                    <Tier value={store?.type ?? 'VaultStore'} />
                    {store?.state === 'REHYDRATED' && <span class="muted small"> rehydrated</span>}
                    {p.movesToArchiveAt && store?.type === 'VaultStore' && (
                      <span class="muted small" title={`moves to ArchiveStore on ${p.movesToArchiveAt}`}>
                        {' '}
                        → archive {localDay(p.movesToArchiveAt)}
                      </span>
                    )}
                  </td>
                  <td class="num">{bytes(p.sizeInBytes)}</td>
                  <td>
                    <Time iso={p.expiryTime} />
                  </td>
                  <td>
                    <span class="mono small" title={`SHA-256 ${p.sha256}, checked on every restore`}>
                      SHA-256 {p.sha256.slice(0, 10)}…
                    </span>
                  </td>
                  <td>
                    <RestoreTestBadge test={p.restoreTest} pointTime={p.recoveryPointTime} />
                  </td>
                  {canRestore && (
                    <td>
                      <button
                        type="button"
                        class="btn btn-small"
                        onClick={() =>
                          navigate(href(`/instances/${encodeURIComponent(name)}/restore`, { point: rp.name }))
                        }
                      >
                        Restore
                      </button>
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {(page > 0 || next) && (
        <nav class="pager" aria-label="Recovery point pages">
          <button type="button" class="btn" disabled={page === 0} onClick={() => setPage(page - 1)}>
            Previous page
          </button>
          <span>Page {page + 1}</span>
          <button
            type="button"
            class="btn"
            disabled={!next}
            onClick={() => {
              setLinks([...links.slice(0, page + 1), next]);
              setPage(page + 1);
            }}
          >
            Next page
          </button>
        </nav>
      )}
    </>
  );
}

function BackupNowDialog({
  instance,
  open,
  onClose,
  onStarted,
}: {
  instance: BackupInstanceResource;
  open: boolean;
  onClose: () => void;
  onStarted: (jobId: string) => void;
}) {
  const policyName = policyNameFromId(instance.properties.policyInfo.policyId);
  const policy = useResource(() => api.getPolicy(policyName), [policyName]);
  const [tag, setTag] = useState<TagName>('Default');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const summary = policy.data?.summary;
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const job = await api.backupNow(instance.name, {
        backupRuleOptions: {
          ...(summary ? { ruleName: summary.backupRuleName } : {}),
          triggerOption: { retentionTagOverride: tag },
        },
      });
      onStarted(job.name);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const problems = problemsOf(error);
  return (
    <Dialog title={`Back up ${instance.name} now`} open={open} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)}>
        {policy.error && <ErrorPanel error={policy.error} title="The policy could not be read" />}
        <Field label="Backup rule" targets={['$.backupRuleOptions.ruleName']} problems={problems}>
          {(a) => (
            <select {...a} disabled>
              <option>{summary?.backupRuleName ?? '…'}</option>
            </select>
          )}
        </Field>
        <Field
          label="Retention tag"
          targets={['$.backupRuleOptions.triggerOption.retentionTagOverride']}
          problems={problems}
          hint={summary?.retention.find((r) => r.tag === tag)?.text ?? 'how long this backup is kept'}
        >
          {(a) => (
            <select {...a} value={tag} onChange={(e) => setTag(e.currentTarget.value as TagName)}>
              {(summary?.retention.map((r) => r.tag) ?? ['Default']).map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          )}
        </Field>
        <FormProblems error={error} problems={problems} claimed={['$.backupRuleOptions']} />
        <div class="dialog-actions">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" kind="primary" busy={busy}>
            Back up now
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function StopDialog({
  name,
  open,
  onClose,
  onDone,
}: {
  name: string;
  open: boolean;
  onClose: () => void;
  onDone: () => void;
}) {
  const [deleteData, setDeleteData] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await api.stopProtection(name, deleteData);
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Stop protection of ${name}`} open={open} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)}>
        <p>Scheduled backups stop. Recovery points stay restorable until they expire by their own dates.</p>
        <label class="check">
          <input type="checkbox" checked={deleteData} onChange={(e) => setDeleteData(e.currentTarget.checked)} />
          Delete all recovery points at the next expiry run
        </label>
        {deleteData && <p class="warn-panel">Every recovery point of {name} will be deleted. This cannot be undone.</p>}
        {error !== undefined && <ErrorPanel error={error} />}
        <div class="dialog-actions">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" kind="danger" busy={busy}>
            Stop protection
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function Jobs({ name, version }: { name: string; version: number }) {
  const jobs = useResource(() => api.listJobs({ backupInstance: name }), [name, version]);
  if (jobs.error) return <ErrorPanel error={jobs.error} title="The jobs could not be loaded" />;
  if (!jobs.data) return <Loading what="jobs" />;
  if (jobs.data.value.length === 0) return <p class="muted">No job in the last 7 days.</p>;
  return (
    <table class="data compact">
      <thead>
        <tr>
          <th scope="col">Operation</th>
          <th scope="col">Status</th>
          <th scope="col">Started</th>
          <th scope="col">Result</th>
        </tr>
      </thead>
      <tbody>
        {jobs.data.value.slice(0, 10).map((j) => (
          <tr key={j.name}>
            <td>
              <Link href={`/jobs/${encodeURIComponent(j.name)}`}>{j.properties.operation}</Link>
            </td>
            <td>
              <Status value={j.properties.status} />
            </td>
            <td>
              <Time iso={j.properties.startTime} relative />
            </td>
            <td>
              {j.properties.error ? (
                <code>{j.properties.error.code}</code>
              ) : j.properties.operation === 'Backup' && j.properties.recoveryPointId ? (
                'recovery point created'
              ) : (
                ''
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RestoreTests({ name, version }: { name: string; version: number }) {
  const tests = useResource(() => api.restoreTests(name), [name, version]);
  if (tests.error) return <ErrorPanel error={tests.error} title="The restore tests could not be loaded" />;
  if (!tests.data) return <Loading what="restore tests" />;
  if (tests.data.value.length === 0) {
    return (
      <Empty title="No restore test yet.">
        <p>A restore-test plan that covers {name} restores its points into a scratch database on its schedule.</p>
      </Empty>
    );
  }
  return <RestoreTestHistory tests={tests.data.value.map((t) => t.properties)} />;
}

/** The instance's header, actions, facts and dialogs; mounted once the instance is loaded. */
function InstanceTop({ instance: i, refresh }: { instance: BackupInstanceResource; refresh: () => void }) {
  const name = i.name;
  const can = useCan();
  const [dialog, setDialog] = useState<'backup' | 'stop' | 'test' | undefined>(undefined);
  const [testJobId, setTestJobId] = useState<string | undefined>(undefined);
  const [testEnded, setTestEnded] = useState<string | undefined>(undefined);
  const plans = useResource(() => (can('Operator') ? api.listRestoreTestPlans() : Promise.resolve(undefined)), [name]);
  const covering = plans.data ? plansCovering(plans.data.value, i) : [];
  const [jobId, setJobId] = useState<string | undefined>(undefined);
  const [finished, setFinished] = useState<string | undefined>(undefined);
  const [readiness, setReadiness] = useState<ValidateForBackupResult | undefined>(undefined);
  const [checking, setChecking] = useState(false);
  const [actionError, setActionError] = useState<unknown>(undefined);

  const p = i.properties;
  const protectedNow = p.currentProtectionState === 'ProtectionConfigured';
  const policyName = policyNameFromId(p.policyInfo.policyId);
  const running =
    p.lastJob && p.lastJob.operation === 'Backup' && isRunning(p.lastJob.status) ? p.lastJob.jobId : undefined;
  // The backup started here (kept on screen with its outcome), or one already running when the page opened.
  const followed = jobId ?? running;
  const busy = followed !== undefined && finished !== followed;

  const checkReadiness = async () => {
    setChecking(true);
    setActionError(undefined);
    try {
      setReadiness(await api.validateForBackup(name));
    } catch (err) {
      setActionError(err);
    } finally {
      setChecking(false);
    }
  };
  const resume = async () => {
    setActionError(undefined);
    try {
      await api.resumeProtection(name);
      refresh();
    } catch (err) {
      setActionError(err);
    }
  };

  return (
    <>
      <PageHead
        title={i.name}
        subtitle={
          <>
            <Status value={p.currentProtectionState} label={protectionWords[p.currentProtectionState]} />
            {p.health && (
              <>
                {' '}
                · health <Status value={p.health.status} />
              </>
            )}{' '}
            · database <strong>{p.dataSourceInfo.resourceName}</strong> · policy{' '}
            <Link href={`/policies#${encodeURIComponent(policyName)}`}>{policyName}</Link>
          </>
        }
      >
        {can('Operator') && protectedNow && (
          <Button kind="primary" onClick={() => setDialog('backup')} disabled={busy}>
            Back up now
          </Button>
        )}
        {can('Operator') && covering.length > 0 && (
          <Button onClick={() => setDialog('test')} disabled={testJobId !== undefined && testEnded !== testJobId}>
            Test restore now
          </Button>
        )}
        {can('Operator') && (
          <Button onClick={() => void checkReadiness()} busy={checking}>
            Check readiness
          </Button>
        )}
        {can('Admin') && protectedNow && (
          <Button kind="danger" onClick={() => setDialog('stop')}>
            Stop protection
          </Button>
        )}
        {can('Admin') && !protectedNow && <Button onClick={() => void resume()}>Resume protection</Button>}
      </PageHead>
      {actionError !== undefined && <ErrorPanel error={actionError} />}
      {p.health && p.health.reasons.length > 0 && (
        <div class={p.health.status === 'Critical' ? 'error-panel' : 'warn-panel'}>
          <ul>
            {p.health.reasons.map((r) => (
              <li key={r.code}>
                <code>{r.code}</code> {r.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      {followed && (
        <Card title={busy ? 'Running backup' : 'Last backup from this page'}>
          <JobProgress
            key={followed}
            id={followed}
            title="Backup job"
            onEnd={() => {
              setFinished(followed);
              refresh();
            }}
          />
        </Card>
      )}
      {testJobId && (
        <Card title={testEnded === testJobId ? 'Last restore test from this page' : 'Running restore test'}>
          <JobProgress
            key={testJobId}
            id={testJobId}
            title="Restore test job"
            onEnd={() => {
              setTestEnded(testJobId);
              refresh();
            }}
          />
        </Card>
      )}
      <div class="grid">
        <Card title="Protection">
          <dl class="facts">
            <div>
              <dt>Last successful backup</dt>
              <dd>
                <Time iso={p.lastRecoveryPoint?.recoveryPointTime} />
              </dd>
            </div>
            <div>
              <dt>Next scheduled backup</dt>
              <dd>{protectedNow ? <Time iso={p.nextScheduledBackup} /> : 'none: protection is stopped'}</dd>
            </div>
            <div>
              <dt>Newest point</dt>
              <dd>{bytes(p.lastRecoveryPoint?.sizeInBytes)}</dd>
            </div>
            <div>
              <dt>Readiness</dt>
              <dd>
                {p.readiness ? (
                  <>
                    <Status value={p.readiness.status} label={p.readiness.status === 'Ready' ? 'Ready' : 'Not ready'} />{' '}
                    as of <Time iso={p.readiness.checkedAt} relative />
                    {p.readiness.code && (
                      <div>
                        <code>{p.readiness.code}</code> {p.readiness.message}
                      </div>
                    )}
                  </>
                ) : (
                  '—'
                )}
              </dd>
            </div>
          </dl>
        </Card>
        <Card title="Database">
          <dl class="facts">
            <div>
              <dt>Database</dt>
              <dd>{p.dataSourceInfo.resourceName}</dd>
            </div>
            <div>
              <dt>Server resource ID</dt>
              <dd class="mono small break">{p.dataSourceInfo.resourceID}</dd>
            </div>
            <div>
              <dt>Credentials</dt>
              <dd class="mono small break">{p.datasourceAuthCredentials.secretStoreResource.uri}</dd>
            </div>
            {p.deleteBackupDataOnStop !== undefined && (
              <div>
                <dt>On stop</dt>
                <dd>
                  {p.deleteBackupDataOnStop
                    ? 'recovery points are being deleted'
                    : 'recovery points kept until they expire'}
                </dd>
              </div>
            )}
          </dl>
        </Card>
      </div>
      {readiness && (
        <Card title="Readiness checks">
          <ReadinessChecks result={readiness} label="Readiness checks" />
        </Card>
      )}
      {can('Operator') && (
        <BackupNowDialog
          instance={i}
          open={dialog === 'backup'}
          onClose={() => setDialog(undefined)}
          onStarted={(id) => {
            setDialog(undefined);
            setJobId(id);
          }}
        />
      )}
      {covering.length > 0 && (
        <TestRestoreDialog
          name={name}
          plans={covering}
          open={dialog === 'test'}
          onClose={() => setDialog(undefined)}
          onStarted={(id) => {
            setDialog(undefined);
            setTestJobId(id);
          }}
        />
      )}
      {can('Admin') && (
        <StopDialog
          name={name}
          open={dialog === 'stop'}
          onClose={() => setDialog(undefined)}
          onDone={() => {
            setDialog(undefined);
            refresh();
          }}
        />
      )}
    </>
  );
}

export function InstancePage({ name }: { name: string }) {
  const [version, setVersion] = useState(0);
  const refresh = () => setVersion((v) => v + 1);
  const instance = useResource(() => api.getInstance(name), [name, version]);
  const can = useCan();
  if (instance.error && !instance.data) {
    return (
      <>
        <PageHead title={name} />
        <ErrorPanel error={instance.error} title={`Backup instance ${name} could not be loaded`} />
        <p>
          <Link href="/instances">Back to the instances</Link>
        </p>
      </>
    );
  }
  // The points, chart and jobs load alongside the instance, not after it.
  return (
    <>
      {instance.data ? (
        <InstanceTop instance={instance.data} refresh={refresh} />
      ) : (
        <>
          <PageHead title={name} />
          <Loading what={`instance ${name}`} />
        </>
      )}
      <Card title="Recovery points over time">
        <Timeline name={name} version={version} />
      </Card>
      <Card title="Recovery points">
        <Points name={name} version={version} canRestore={can('Operator')} />
      </Card>
      <Card title="Restore tests">
        <RestoreTests name={name} version={version} />
      </Card>
      <Card title="Jobs of the last 7 days">
        <Jobs name={name} version={version} />
        <p class="small">
          <Link href={href('/jobs', { backupInstance: name })}>All jobs of {name}</Link>
        </p>
      </Card>
    </>
  );
}
