// Jobs of the last 7 days, filtered by instance, operation and status (the filters live in the URL). Running jobs
// refresh every few seconds without a reload; each row opens the job with its progress, error and recommended action.

import { jobOperations, jobStatuses } from '../../../shared/contracts/jobs';
import { api } from '../api';
import { Empty, ErrorPanel, Loading, PageHead, Pager, Status, Time } from '../components/basics';
import { isRunning, phaseOf } from '../components/job';
import { bytes, isoDuration } from '../format';
import { usePages, usePoll, useResource } from '../hooks';
import { href, Link, navigate } from '../router';

const PAGE = 50;
const triggerWords: Record<string, string> = { Scheduled: 'scheduled', OnDemand: 'on demand', Queue: 'from the queue' };

export function JobsPage({ query }: { query: URLSearchParams }) {
  const filter = {
    backupInstance: query.get('backupInstance') ?? '',
    operation: query.get('operation') ?? '',
    status: query.get('status') ?? '',
  };
  const key = JSON.stringify(filter);
  const jobs = useResource(
    () =>
      api.listJobs({
        ...(filter.backupInstance ? { backupInstance: filter.backupInstance } : {}),
        ...(filter.operation ? { operation: filter.operation as (typeof jobOperations)[number] } : {}),
        ...(filter.status ? { status: filter.status as (typeof jobStatuses)[number] } : {}),
      }),
    [key],
  );
  const instances = useResource(api.listInstances, []);
  const running = (jobs.data?.value ?? []).some((j) => isRunning(j.properties.status));
  usePoll(jobs.reload, 3000, running);
  const rows = jobs.data?.value ?? [];
  const { shown, pager, reset } = usePages(rows, PAGE);
  const setFilter = (k: keyof typeof filter, v: string) => {
    reset();
    navigate(href('/jobs', { ...filter, [k]: v }), { replace: true });
  };
  const select = (k: keyof typeof filter, label: string, values: readonly string[]) => (
    <label class="inline-field">
      <span>{label}</span>
      <select value={filter[k]} onChange={(e) => setFilter(k, e.currentTarget.value)}>
        <option value="">All</option>
        {[...new Set([...values, ...(filter[k] ? [filter[k]] : [])])].map((v) => (
          <option key={v} value={v}>
            {v}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <>
      <PageHead title="Jobs" subtitle="Backups, restores, rehydrations and expiry runs of the last 7 days." />
      <div class="toolbar" role="search" aria-label="Filter jobs">
        {select('backupInstance', 'Instance', (instances.data?.value ?? []).map((i) => i.name).sort())}
        {select('operation', 'Operation', jobOperations)}
        {select('status', 'Status', jobStatuses)}
        {running && (
          <span class="muted small live" role="status">
            Updating live
          </span>
        )}
      </div>
      {jobs.error && <ErrorPanel error={jobs.error} title="The jobs could not be loaded" />}
      {!jobs.data && !jobs.error && <Loading what="jobs" />}
      {jobs.data && rows.length === 0 && (
        <Empty
          title={
            filter.backupInstance || filter.operation || filter.status
              ? 'No job matches these filters.'
              : 'No job in the last 7 days.'
          }
        >
          <p>
            Jobs appear when a scheduled or on-demand backup, a restore or an expiry run starts. Open an{' '}
            <Link href="/instances">instance</Link> to back it up now.
          </p>
        </Empty>
      )}
      {rows.length > 0 && (
        <>
          <div class="table-wrap">
            <table class="data">
              <thead>
                <tr>
                  <th scope="col">Operation</th>
                  <th scope="col">Instance</th>
                  <th scope="col">Status</th>
                  <th scope="col">Started</th>
                  <th scope="col">Duration</th>
                  <th scope="col">Progress</th>
                  <th scope="col">Error</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((j) => {
                  const p = j.properties;
                  return (
                    <tr key={j.name}>
                      <th scope="row">
                        <Link href={`/jobs/${encodeURIComponent(j.name)}`}>{p.operation}</Link>
                        <div class="muted small">{triggerWords[p.trigger] ?? p.trigger}</div>
                      </th>
                      <td>
                        {p.backupInstance === '*' ? (
                          'all instances'
                        ) : (
                          <Link href={`/instances/${encodeURIComponent(p.backupInstance)}`}>{p.backupInstance}</Link>
                        )}
                      </td>
                      <td>
                        <Status value={p.status} />
                      </td>
                      <td>
                        <Time iso={p.startTime} />
                      </td>
                      <td>{isoDuration(p.duration)}</td>
                      <td>
                        {isRunning(p.status) ? (
                          <>
                            {phaseOf(p)} · {bytes(p.progress.bytes)}
                            {p.progress.percent !== undefined && ` (${p.progress.percent}%)`}
                          </>
                        ) : (
                          bytes(p.progress.bytes)
                        )}
                      </td>
                      <td>
                        {p.error && (
                          <span title={`${p.error.message} — ${p.error.hint}`}>
                            <code>{p.error.code}</code>
                          </span>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <Pager {...pager} label="Jobs" />
        </>
      )}
    </>
  );
}
