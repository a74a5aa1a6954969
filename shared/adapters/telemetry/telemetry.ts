// What pgkeep tells Azure Monitor (issue 13), through the OpenTelemetry API: job outcomes with their duration and
// bytes, notification attempts, instance health, spans around the timers, and a log record per job outcome. Without
// an SDK registered (no APPLICATIONINSIGHTS_CONNECTION_STRING) every call is the API's no-op.
//
//   metric                  kind            unit  attributes
//   pgkeep.jobs             counter         1     operation, status, error.code
//   pgkeep.job.duration     histogram       s     operation, status
//   pgkeep.job.bytes        histogram       By    operation, status
//   pgkeep.instances        gauge           1     health.status (instances per status, as the watchdog last saw)
//   pgkeep.notifications    counter         1     channel.kind, outcome (delivered, retry, failed)

import { metrics, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { logs, SeverityNumber } from '@opentelemetry/api-logs';
import { healthStatuses, type HealthStatus } from '../../domain/health';
import type { ChannelKind, JobRecord } from '../../ports';

const SCOPE = 'pgkeep';

export interface Telemetry {
  jobEnded(job: JobRecord): void;
  notificationAttempt(kind: ChannelKind, outcome: 'delivered' | 'retry' | 'failed'): void;
  healthCounts(counts: Record<HealthStatus, number>): void;
  /** Runs `fn` in a span named `name`, recording a thrown error on it. */
  span<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T>;
}

export function createTelemetry(): Telemetry {
  const meter = metrics.getMeter(SCOPE);
  const jobs = meter.createCounter('pgkeep.jobs', { description: 'jobs that ended, by operation and status' });
  const duration = meter.createHistogram('pgkeep.job.duration', { description: 'job duration', unit: 's' });
  const bytes = meter.createHistogram('pgkeep.job.bytes', { description: 'bytes a job stored or read', unit: 'By' });
  const notifications = meter.createCounter('pgkeep.notifications', { description: 'notification attempts' });
  let lastCounts: Record<HealthStatus, number> | undefined;
  meter
    .createObservableGauge('pgkeep.instances', { description: 'backup instances per health status' })
    .addCallback((result) => {
      if (!lastCounts) return;
      for (const status of healthStatuses) result.observe(lastCounts[status], { 'health.status': status });
    });
  const logger = logs.getLogger(SCOPE);
  const tracer = trace.getTracer(SCOPE);

  return {
    jobEnded(job) {
      const attrs: Attributes = { operation: job.operation, status: job.status };
      jobs.add(1, { ...attrs, ...(job.error ? { 'error.code': job.error.code } : {}) });
      if (job.endTime !== undefined) {
        duration.record(Math.max(0, (Date.parse(job.endTime) - Date.parse(job.startTime)) / 1000), attrs);
      }
      if (job.progress.bytes > 0) bytes.record(job.progress.bytes, attrs);
      logger.emit({
        severityNumber: job.status === 'Failed' ? SeverityNumber.WARN : SeverityNumber.INFO,
        severityText: job.status === 'Failed' ? 'WARN' : 'INFO',
        body: `${job.operation} job ${job.id} of ${job.backupInstance} ended ${job.status}${
          job.error ? `: ${job.error.code}: ${job.error.message}` : ''
        }`,
        attributes: {
          'pgkeep.job.id': job.id,
          'pgkeep.backup_instance': job.backupInstance,
          ...attrs,
          ...(job.error ? { 'error.code': job.error.code } : {}),
        },
      });
    },
    notificationAttempt(kind, outcome) {
      notifications.add(1, { 'channel.kind': kind, outcome });
    },
    healthCounts(counts) {
      lastCounts = { ...counts };
    },
    span(name, attributes, fn) {
      return tracer.startActiveSpan(name, { attributes }, async (span) => {
        try {
          return await fn();
        } catch (err) {
          span.recordException(err instanceof Error ? err : String(err));
          span.setStatus({ code: SpanStatusCode.ERROR });
          throw err;
        } finally {
          span.end();
        }
      });
    },
  };
}
