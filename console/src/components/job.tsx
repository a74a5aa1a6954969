// A job as it runs: status word, phase, bytes, rate and ETA, refreshed every two seconds until it ends (no reload);
// a failed job shows its error code, message and recommended action. Unknown operations and statuses show as they are.

import { useEffect, useRef, useState } from 'preact/hooks';
import type { JobResource } from '../../../shared/contracts/jobs';
import { api } from '../api';
import { bytes, isoDuration, seconds } from '../format';
import { usePoll, useResource } from '../hooks';
import { Link } from '../router';
import { ErrorPanel, Status, Time } from './basics';

export const terminalStatuses = ['Succeeded', 'Failed', 'Cancelled'];
export const isRunning = (status: string) => !terminalStatuses.includes(status);

type Job = JobResource['properties'];

/** What the job is doing, in words, from what the job resource says (or its extendedInfo.phase when it has one). */
export function phaseOf(job: Job): string {
  const phase = job.extendedInfo?.phase;
  if (typeof phase === 'string') return phase;
  if (job.status === 'NotStarted') return 'Waiting to start';
  // Statuses this console does not know yet (e.g. Queued) show as they are.
  if (!['InProgress', 'Succeeded', 'Failed', 'Cancelled'].includes(job.status)) return job.status;
  if (!isRunning(job.status)) return job.status === 'Succeeded' ? 'Done' : job.status;
  if (job.progress.bytes === 0) return job.operation === 'Backup' ? 'Checking readiness and connecting' : 'Preparing';
  if (job.progress.percent === 100) return 'Finishing';
  const verb: Record<string, string> = {
    Backup: 'Dumping and uploading',
    Restore: 'Restoring',
    Rehydrate: 'Rehydrating from the archive',
    Expiry: 'Applying retention',
    RestoreTest: 'Restoring into a scratch database and comparing',
    Verify: 'Reading back and checking',
  };
  return verb[job.operation] ?? 'Running';
}

/** Bytes per second between successive polls, smoothed. */
function useRate(job: Job | undefined): number | undefined {
  const last = useRef<{ bytes: number; at: number } | undefined>(undefined);
  const [rate, setRate] = useState<number | undefined>(undefined);
  useEffect(() => {
    if (!job || !isRunning(job.status)) return;
    const now = Date.now();
    const prev = last.current;
    last.current = { bytes: job.progress.bytes, at: now };
    if (prev && now > prev.at && job.progress.bytes >= prev.bytes) {
      const r = ((job.progress.bytes - prev.bytes) * 1000) / (now - prev.at);
      setRate((old) => (old === undefined ? r : old * 0.5 + r * 0.5));
    }
  }, [job?.progress.bytes, job?.status]);
  return rate;
}

export function JobFacts({ job, rate }: { job: Job; rate?: number | undefined }) {
  const running = isRunning(job.status);
  const eta =
    running && rate && rate > 0 && job.progress.percent !== undefined && job.progress.percent > 0
      ? (job.progress.bytes * (100 / job.progress.percent - 1)) / rate
      : undefined;
  return (
    <dl class="facts">
      <div>
        <dt>Status</dt>
        <dd>
          <Status value={job.status} />
        </dd>
      </div>
      <div>
        <dt>Phase</dt>
        <dd>{phaseOf(job)}</dd>
      </div>
      <div>
        <dt>Bytes</dt>
        <dd>
          {bytes(job.progress.bytes)}
          {job.progress.percent !== undefined && ` (${job.progress.percent}%)`}
        </dd>
      </div>
      <div>
        <dt>Rate</dt>
        <dd>{running && rate !== undefined ? `${bytes(Math.round(rate))}/s` : '—'}</dd>
      </div>
      <div>
        <dt>ETA</dt>
        <dd>{eta !== undefined ? seconds(eta) : '—'}</dd>
      </div>
      <div>
        <dt>Started</dt>
        <dd>
          <Time iso={job.startTime} />
        </dd>
      </div>
      <div>
        <dt>Duration</dt>
        <dd>{isoDuration(job.duration)}</dd>
      </div>
    </dl>
  );
}

export function JobError({ job }: { job: Job }) {
  if (!job.error) return null;
  return (
    <div class="error-panel" role="alert">
      <p class="error-title">
        <strong>{job.operation} failed</strong> <code>{job.error.code}</code>
      </p>
      <p>{job.error.message}</p>
      <p class="hint">Recommended action: {job.error.hint}</p>
    </div>
  );
}

export function JobWarnings({ job }: { job: Job }) {
  if (!job.warnings || job.warnings.length === 0) return null;
  return (
    <div class="warn-panel">
      <p>
        <strong>{job.warnings.length} warning(s)</strong>
      </p>
      <ul>
        {job.warnings.map((w, i) => (
          <li key={i}>
            <code>{w.code}</code> {w.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** A job followed live; calls onEnd once when it ends. */
export function JobProgress({ id, onEnd, title }: { id: string; onEnd?: (job: Job) => void; title?: string }) {
  const job = useResource(() => api.getJob(id), [id]);
  const props = job.data?.properties;
  const running = props ? isRunning(props.status) : true;
  usePoll(job.reload, 2000, running);
  const rate = useRate(props);
  const ended = useRef(false);
  useEffect(() => {
    if (props && !running && !ended.current) {
      ended.current = true;
      onEnd?.(props);
    }
  }, [props?.status]);
  if (!props) return job.error ? <ErrorPanel error={job.error} /> : <p role="status">Starting…</p>;
  return (
    <section class="job-progress" aria-label={title ?? `${props.operation} job`} aria-live="polite">
      <p class="job-title">
        {title ?? `${props.operation} job`} <Link href={`/jobs/${encodeURIComponent(props.id)}`}>{props.id}</Link>
      </p>
      <JobFacts job={props} rate={rate} />
      <JobError job={props} />
      <JobWarnings job={props} />
      {job.error ? <ErrorPanel error={job.error} title="Could not refresh the job" /> : null}
    </section>
  );
}
