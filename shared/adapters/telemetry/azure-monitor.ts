// Registers the OpenTelemetry SDK with the Azure Monitor exporter (@azure/monitor-opentelemetry) once per process,
// when APPLICATIONINSIGHTS_CONNECTION_STRING is set. With APPLICATIONINSIGHTS_AUTHENTICATION_STRING
// "Authorization=AAD[;ClientId=…]" (infra/: local auth is off) telemetry is published with the app's identity.

import { ManagedIdentityCredential, DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { shutdownAzureMonitor, useAzureMonitor } from '@azure/monitor-opentelemetry';

let started = false;

/** The credential an authentication string asks for, or undefined for key-based ingestion. */
export function telemetryCredential(authenticationString: string): TokenCredential | undefined {
  const parts = new Map(
    authenticationString
      .split(';')
      .map((kv) => kv.split('=').map((s) => s.trim()))
      .filter((kv): kv is [string, string] => kv.length === 2 && kv[0] !== '')
      .map(([k, v]) => [k.toLowerCase(), v]),
  );
  if (parts.get('authorization')?.toLowerCase() !== 'aad') return undefined;
  const clientId = parts.get('clientid');
  return clientId ? new ManagedIdentityCredential({ clientId }) : new DefaultAzureCredential();
}

/** Starts the export; a second call is a no-op. Returns whether this call started it. */
export function startAzureMonitor(options: { connectionString: string; authenticationString: string }): boolean {
  if (started || options.connectionString === '') return false;
  const credential = telemetryCredential(options.authenticationString);
  useAzureMonitor({
    azureMonitorExporterOptions: {
      connectionString: options.connectionString,
      ...(credential ? { credential } : {}),
    },
    // Live Metrics needs its own endpoint; the app's own metrics and logs are what alerts read.
    enableLiveMetrics: false,
  });
  started = true;
  return true;
}

/** Flushes and stops the export (process end, tests). */
export async function stopAzureMonitor(): Promise<void> {
  if (!started) return;
  started = false;
  await shutdownAzureMonitor();
}
