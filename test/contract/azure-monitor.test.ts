/* eslint-disable @typescript-eslint/no-unsafe-assignment -- asymmetric matchers inside expected objects */
// The telemetry adapter against a local stand-in for Application Insights' ingestion endpoint: with a connection string
// set, job outcomes, health counts, spans and logs leave the process through @azure/monitor-opentelemetry as the
// metrics and records the infra alert rules query (customMetrics pgkeep.jobs and pgkeep.instances).
import { createServer, type Server } from 'node:https';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startAzureMonitor,
  stopAzureMonitor,
  telemetryCredential,
} from '../../shared/adapters/telemetry/azure-monitor';
import { createTelemetry } from '../../shared/adapters/telemetry/telemetry';
import { createSelfSignedCert } from '../support/azure-standins';

interface Envelope {
  name?: string;
  data?: {
    baseType?: string;
    baseData?: {
      metrics?: { name: string; value: number }[];
      properties?: Record<string, string>;
      message?: string;
      name?: string;
    };
  };
}

/** Resolves once `done` holds (checked every 50 ms), or fails after 20 s. */
async function waitFor(done: () => boolean): Promise<void> {
  const until = Date.now() + 20_000;
  while (!done()) {
    if (Date.now() > until) throw new Error('the export did not arrive within 20 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

let server: Server;
const envelopes: Envelope[] = [];
let endpoint = '';

beforeAll(async () => {
  // The exporter speaks https only: a stand-in with a throwaway certificate, trusted by this test process alone.
  const tls = createSelfSignedCert();
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
      const text = raw.toString('utf8').trim();
      const items = text.startsWith('[')
        ? (JSON.parse(text) as Envelope[])
        : text.split('\n').map((l) => JSON.parse(l) as Envelope);
      envelopes.push(...items);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ itemsReceived: items.length, itemsAccepted: items.length, errors: [] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  endpoint = `https://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`;
  process.env.APPLICATIONINSIGHTS_STATSBEAT_DISABLED = 'true';
  process.env.OTEL_METRIC_EXPORT_INTERVAL = '500';
});

afterAll(async () => {
  await stopAzureMonitor();
  delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('Azure Monitor export', () => {
  it('exports job outcomes with duration and bytes, health counts, spans and a log record per outcome', async () => {
    const connectionString = `InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=${endpoint}`;
    expect(startAzureMonitor({ connectionString, authenticationString: '' })).toBe(true);
    expect(startAzureMonitor({ connectionString, authenticationString: '' })).toBe(false);
    const telemetry = createTelemetry();
    telemetry.jobEnded({
      id: 'job-1',
      operation: 'Backup',
      backupInstance: 'orders',
      status: 'Failed',
      trigger: 'Scheduled',
      startTime: '2026-03-10T12:00:00.000Z',
      endTime: '2026-03-10T12:00:42.000Z',
      progress: { bytes: 4096 },
      error: { code: 'SystemErrorDumpFailed', message: 'pg_dump died', hint: 'retry' },
    });
    telemetry.healthCounts({ Healthy: 3, Warning: 1, Critical: 2, Unknown: 0 });
    telemetry.notificationAttempt('Webhook', 'delivered');
    // The periodic export (OTEL_METRIC_EXPORT_INTERVAL) sends the metrics without a flush. Waiting for it also puts the
    // span past the distro's rate-limited sampler's first moments, in which it samples only some spans.
    await waitFor(() => envelopes.some((e) => e.data?.baseData?.metrics?.some((m) => m.name === 'pgkeep.jobs')));
    await telemetry.span('pgkeep.watchdog', { 'pgkeep.test': true }, () => Promise.resolve());
    await stopAzureMonitor();

    const metrics = envelopes.flatMap((e) =>
      e.data?.baseType === 'MetricData'
        ? (e.data.baseData?.metrics ?? []).map((m) => ({ ...m, properties: e.data?.baseData?.properties ?? {} }))
        : [],
    );
    const named = (n: string) => metrics.filter((m) => m.name === n);
    expect(named('pgkeep.jobs')).toContainEqual(
      expect.objectContaining({
        value: 1,
        properties: expect.objectContaining({
          operation: 'Backup',
          status: 'Failed',
          'error.code': 'SystemErrorDumpFailed',
        }),
      }),
    );
    expect(named('pgkeep.job.duration')[0]?.value).toBe(42);
    expect(named('pgkeep.job.bytes')[0]?.value).toBe(4096);
    expect(named('pgkeep.instances')).toContainEqual(
      expect.objectContaining({ value: 2, properties: expect.objectContaining({ 'health.status': 'Critical' }) }),
    );
    expect(named('pgkeep.notifications')).toHaveLength(1);
    const logs = envelopes.filter((e) => e.data?.baseType === 'MessageData');
    expect(logs.map((e) => e.data?.baseData?.message)).toContainEqual(
      expect.stringContaining('Backup job job-1 of orders ended Failed'),
    );
    const spans = envelopes.filter(
      (e) => e.data?.baseType === 'RequestData' || e.data?.baseType === 'RemoteDependencyData',
    );
    expect(spans.map((e) => e.data?.baseData?.name)).toContain('pgkeep.watchdog');
  });
});

describe('telemetryCredential', () => {
  it('uses the app identity only when the authentication string asks for Entra auth', () => {
    expect(telemetryCredential('')).toBeUndefined();
    expect(telemetryCredential('Authorization=AAD;ClientId=00000000-0000-0000-0000-000000000002')).toBeDefined();
    expect(telemetryCredential('Authorization=AAD')).toBeDefined();
  });
});
