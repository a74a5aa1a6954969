// Overview: the vault at a glance — instances by health, jobs of the last 24 hours and 7 days by status, storage by
// tier, the next scheduled backups and what failed today.

import { healthStatuses } from '../../../shared/contracts/health';
import { api } from '../api';
import { Card, Empty, ErrorPanel, Loading, PageHead, Status, Tier, Time } from '../components/basics';
import { bytes, count } from '../format';
import { useCan, usePoll, useResource } from '../hooks';
import { href, Link } from '../router';

const jobStatusOrder = ['Succeeded', 'Failed', 'InProgress', 'Queued', 'NotStarted', 'Cancelled'];

/** GET /api/health: counts and the instances that are not Healthy (status and time only for a caller without a role). */
function useHealth() {
  return useResource(api.health, []);
}

const SHOWN_UNHEALTHY = 5;

export function OverviewPage() {
  const overview = useResource(api.overview, []);
  // Its own request: a scan of every point, which the other figures do not wait for.
  const storage = useResource(api.storage, []);
  const health = useHealth();
  usePoll(health.reload, 30_000, true);
  const can = useCan();
  usePoll(overview.reload, 30_000, true);
  const o = overview.data;
  return (
    <>
      <PageHead title="Overview" subtitle="What is protected, what ran, what is stored, and what runs next.">
        {can('Admin') && (
          <Link class="btn btn-primary" href="/protect">
            Protect a database
          </Link>
        )}
      </PageHead>
      {overview.error && <ErrorPanel error={overview.error} title="The overview could not be loaded" />}
      {!o && !overview.error && <Loading what="the overview" />}
      {o && o.instances.total === 0 && (
        <Empty title="Nothing is protected yet.">
          {can('Admin') ? (
            <p>
              Start by <Link href="/policies/new">creating a backup policy</Link> (when and how long to keep), then{' '}
              <Link href="/protect">protect a database</Link> with it.
            </p>
          ) : (
            <p>Ask a pgkeep Admin to protect a database; its backups and jobs will show here.</p>
          )}
        </Empty>
      )}
      {o && (
        <div class="grid">
          <Card title="Instances by health">
            {health.error && <ErrorPanel error={health.error} title="Health could not be loaded" />}
            {!health.data && !health.error && <Loading what="health" />}
            {health.data && !health.data.counts && (
              <p>
                Overall <Status value={health.data.status} />. <span class="muted">Counts need a pgkeep role.</span>
              </p>
            )}
            {health.data?.counts && (
              <ul class="stat-list">
                {healthStatuses.map((s) => (
                  <li key={s}>
                    <Status value={s} />
                    <span class="stat">{count(health.data?.counts?.[s] ?? 0)}</span>
                  </li>
                ))}
              </ul>
            )}
            {health.data?.instances && health.data.instances.length > 0 && (
              <ul class="plain small" aria-label="Instances that are not Healthy">
                {health.data.instances.slice(0, SHOWN_UNHEALTHY).map((i) => (
                  <li key={i.name}>
                    <Link href={`/instances/${encodeURIComponent(i.name)}`}>{i.name}</Link>{' '}
                    <Status value={i.health.status} /> <span class="muted">{i.health.reasons[0]?.message ?? ''}</span>
                  </li>
                ))}
              </ul>
            )}
            <p class="muted small">
              {count(o.instances.total)} {o.instances.total === 1 ? 'instance' : 'instances'}:{' '}
              {count(o.instances.protected)} protected, {count(o.instances.stopped)} stopped.{' '}
              <Link href="/instances">See all instances</Link>
            </p>
          </Card>
          <Card title="Jobs">
            <table class="data compact">
              <thead>
                <tr>
                  <th scope="col">Status</th>
                  <th scope="col">Last 24 hours</th>
                  <th scope="col">Last 7 days</th>
                </tr>
              </thead>
              <tbody>
                {[...new Set([...jobStatusOrder, ...Object.keys(o.jobs.last7Days)])]
                  .filter((s) => (o.jobs.last7Days[s] ?? 0) > 0 || ['Succeeded', 'Failed', 'InProgress'].includes(s))
                  .map((s) => (
                    <tr key={s}>
                      <th scope="row">
                        <Link href={href('/jobs', { status: s })}>
                          <Status value={s} />
                        </Link>
                      </th>
                      <td class="num">{count(o.jobs.last24Hours[s] ?? 0)}</td>
                      <td class="num">{count(o.jobs.last7Days[s] ?? 0)}</td>
                    </tr>
                  ))}
              </tbody>
            </table>
          </Card>
          <Card title="Storage by tier">
            {storage.error !== undefined && (
              <ErrorPanel error={storage.error} title="The storage totals could not be loaded" />
            )}
            {!storage.data && storage.error === undefined && <Loading what="storage totals" />}
            {storage.data && (
              <table class="data compact">
                <thead>
                  <tr>
                    <th scope="col">Tier</th>
                    <th scope="col">Recovery points</th>
                    <th scope="col">Size</th>
                  </tr>
                </thead>
                <tbody>
                  {(['VaultStore', 'ArchiveStore'] as const).map((t) => (
                    <tr key={t}>
                      <th scope="row">
                        <Tier value={t} />
                      </th>
                      <td class="num">{count(storage.data![t].points)}</td>
                      <td class="num">{bytes(storage.data![t].bytes)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
          <Card title="Next scheduled backups" class="wide">
            {o.nextScheduledBackups.length === 0 ? (
              <p class="muted">No protected instance has a scheduled backup.</p>
            ) : (
              <table class="data compact">
                <thead>
                  <tr>
                    <th scope="col">Instance</th>
                    <th scope="col">Policy</th>
                    <th scope="col">When</th>
                  </tr>
                </thead>
                <tbody>
                  {o.nextScheduledBackups.map((n) => (
                    <tr key={n.backupInstance}>
                      <td>
                        <Link href={`/instances/${encodeURIComponent(n.backupInstance)}`}>{n.backupInstance}</Link>
                      </td>
                      <td>{n.policyName}</td>
                      <td>
                        <Time iso={n.time} />{' '}
                        <span class="muted">
                          (<Time iso={n.time} relative />)
                        </span>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
          <Card title="Failed in the last 24 hours" class="wide">
            {o.recentFailures.length === 0 ? (
              <p class="muted">No job failed in the last 24 hours.</p>
            ) : (
              <table class="data compact">
                <thead>
                  <tr>
                    <th scope="col">Job</th>
                    <th scope="col">Instance</th>
                    <th scope="col">Started</th>
                    <th scope="col">Error</th>
                  </tr>
                </thead>
                <tbody>
                  {o.recentFailures.map((f) => (
                    <tr key={f.jobId}>
                      <td>
                        <Link href={`/jobs/${encodeURIComponent(f.jobId)}`}>{f.operation}</Link>
                      </td>
                      <td>
                        {f.backupInstance === '*' ? (
                          'all'
                        ) : (
                          <Link href={`/instances/${encodeURIComponent(f.backupInstance)}`}>{f.backupInstance}</Link>
                        )}
                      </td>
                      <td>
                        <Time iso={f.startTime} relative />
                      </td>
                      <td>
                        <code>{f.code}</code> {f.message}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
        </div>
      )}
    </>
  );
}
