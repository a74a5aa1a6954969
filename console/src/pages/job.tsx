// One job: live progress while it runs (phase, bytes, rate, ETA), its error code, message and recommended action when
// it failed, its warnings, and what it worked on.

import { api } from '../api';
import { Card, ErrorPanel, Loading, PageHead, Status } from '../components/basics';
import { JobProgress } from '../components/job';
import { useResource } from '../hooks';
import { Link } from '../router';

export function JobPage({ id }: { id: string }) {
  const job = useResource(() => api.getJob(id), [id]);
  if (job.error) {
    return (
      <>
        <PageHead title="Job" />
        <ErrorPanel error={job.error} title={`Job ${id} could not be loaded`} />
      </>
    );
  }
  if (!job.data) return <Loading what="the job" />;
  const p = job.data.properties;
  const info = p.extendedInfo ?? {};
  return (
    <>
      <PageHead
        title={`${p.operation} job`}
        subtitle={
          <>
            <Status value={p.status} /> · {p.trigger} ·{' '}
            {p.backupInstance === '*' ? (
              'all instances'
            ) : (
              <Link href={`/instances/${encodeURIComponent(p.backupInstance)}`}>{p.backupInstance}</Link>
            )}
          </>
        }
      >
        <Link class="btn" href="/jobs">
          All jobs
        </Link>
      </PageHead>
      <Card title="Progress">
        <JobProgress id={id} title={`${p.operation} job`} />
      </Card>
      <Card title="Details">
        <dl class="facts">
          <div>
            <dt>Job id</dt>
            <dd class="mono">{p.id}</dd>
          </div>
          {p.recoveryPointId && (
            <div>
              <dt>Recovery point</dt>
              <dd class="mono">{p.recoveryPointId}</dd>
            </div>
          )}
          {Object.entries(info).map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd class="mono small break">{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
            </div>
          ))}
        </dl>
      </Card>
    </>
  );
}
