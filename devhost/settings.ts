// App configuration as the Functions host sees it: local.settings.json into the environment (real env wins),
// host.json options, %Setting% indirection in binding values, and AzureWebJobs.<Name>.Disabled.
import fs from 'node:fs';
import path from 'node:path';

export interface LocalSettings {
  /** The file actually read, or undefined when there was none. */
  file: string | undefined;
  /** True when local.settings.json was missing and the sample was used instead. */
  fromSample: boolean;
  values: Record<string, string>;
  host: { LocalHttpPort?: number; CORS?: string; CORSCredentials?: boolean };
}

function readJson(file: string): unknown {
  // host.json and local.settings.json may start with a BOM when written by Windows tools.
  return JSON.parse(fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function readLocalSettings(appRoot: string): LocalSettings {
  const real = path.join(appRoot, 'local.settings.json');
  const sample = path.join(appRoot, 'local.settings.sample.json');
  const file = fs.existsSync(real) ? real : fs.existsSync(sample) ? sample : undefined;
  if (!file) return { file, fromSample: false, values: {}, host: {} };
  const json = readJson(file);
  if (!isRecord(json)) throw new Error(`${file}: expected a JSON object`);
  const values: Record<string, string> = {};
  if (isRecord(json.Values)) {
    for (const [k, v] of Object.entries(json.Values)) {
      if (v !== null && v !== undefined) values[k] = typeof v === 'string' ? v : JSON.stringify(v);
    }
  }
  const host = isRecord(json.Host) ? (json.Host as LocalSettings['host']) : {};
  return { file, fromSample: file === sample, values, host };
}

/** Copies settings into process.env unless the real environment already has them; returns the keys it set. */
export function applyToEnv(values: Record<string, string>, env: NodeJS.ProcessEnv = process.env): string[] {
  const applied: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    if (env[k] === undefined) {
      env[k] = v;
      applied.push(k);
    }
  }
  return applied;
}

export interface QueueOptions {
  messageEncoding: 'base64' | 'none';
  batchSize: number;
  maxDequeueCount: number;
  visibilityTimeoutMs: number;
  maxPollingIntervalMs: number;
}

export interface HostJson {
  routePrefix: string;
  queues: QueueOptions;
  durableHubName: string | undefined;
  maxConcurrentActivities: number | undefined;
  raw: Record<string, unknown>;
}

/** Parses a .NET TimeSpan ("00:00:10", "1.02:00:00") or a number of milliseconds. */
export function parseTimeSpanMs(v: unknown, fallbackMs: number): number {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return fallbackMs;
  const m = /^(?:(\d+)\.)?(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(v.trim());
  if (!m) throw new Error(`not a TimeSpan: "${v}" (expected [d.]hh:mm:ss)`);
  const [, d = '0', h = '0', min = '0', s = '0'] = m;
  return Math.round((((Number(d) * 24 + Number(h)) * 60 + Number(min)) * 60 + Number(s)) * 1000);
}

// Locally nobody wants to wait the production minute for an idle queue to be polled again.
const LOCAL_MAX_POLL_MS = 1000;

/**
 * Applies `AzureFunctionsJobHost__<path>` settings over host.json, as the host does (e.g.
 * `AzureFunctionsJobHost__extensions__queues__batchSize=4`); path segments match existing keys case-insensitively.
 */
export function applyHostJsonOverrides(json: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): void {
  for (const [key, raw] of Object.entries(env)) {
    const m = /^AzureFunctionsJobHost__(.+)$/i.exec(key);
    if (!m || raw === undefined) continue;
    const segments = m[1]!.split('__');
    let node = json;
    for (const [i, seg] of segments.entries()) {
      const existing = Object.keys(node).find((k) => k.toLowerCase() === seg.toLowerCase()) ?? seg;
      if (i === segments.length - 1) {
        node[existing] = /^-?\d+(\.\d+)?$/.test(raw)
          ? Number(raw)
          : /^(true|false)$/i.test(raw)
            ? /^true$/i.test(raw)
            : raw;
      } else {
        if (!isRecord(node[existing])) node[existing] = {};
        node = node[existing] as Record<string, unknown>;
      }
    }
  }
}

export function readHostJson(appRoot: string, env: NodeJS.ProcessEnv = process.env): HostJson {
  const file = path.join(appRoot, 'host.json');
  const json = fs.existsSync(file) ? readJson(file) : {};
  if (!isRecord(json)) throw new Error(`${file}: expected a JSON object`);
  applyHostJsonOverrides(json, env);
  const ext = isRecord(json.extensions) ? json.extensions : {};
  const http = isRecord(ext.http) ? ext.http : {};
  const q = isRecord(ext.queues) ? ext.queues : {};
  const dt = isRecord(ext.durableTask) ? ext.durableTask : {};
  const encoding = typeof q.messageEncoding === 'string' ? q.messageEncoding.toLowerCase() : 'base64';
  if (encoding !== 'base64' && encoding !== 'none') throw new Error(`host.json: unknown messageEncoding ${encoding}`);
  return {
    routePrefix: typeof http.routePrefix === 'string' ? http.routePrefix.replace(/^\/+|\/+$/g, '') : 'api',
    queues: {
      messageEncoding: encoding,
      batchSize: Math.min(32, Math.max(1, typeof q.batchSize === 'number' ? q.batchSize : 16)),
      maxDequeueCount: typeof q.maxDequeueCount === 'number' ? q.maxDequeueCount : 5,
      visibilityTimeoutMs: parseTimeSpanMs(q.visibilityTimeout, 0),
      maxPollingIntervalMs: Math.min(LOCAL_MAX_POLL_MS, parseTimeSpanMs(q.maxPollingInterval, LOCAL_MAX_POLL_MS)),
    },
    durableHubName: typeof dt.hubName === 'string' ? dt.hubName : undefined,
    maxConcurrentActivities:
      typeof dt.maxConcurrentActivityFunctions === 'number' ? dt.maxConcurrentActivityFunctions : undefined,
    raw: json,
  };
}

/** Resolves "%NAME%" parts of a binding value from app settings, as the host's name resolver does. */
export function resolveSettingRefs(value: string, env: NodeJS.ProcessEnv = process.env): string {
  return value.replace(/%([^%]+)%/g, (_m, name: string) => {
    const v = env[name];
    if (v === undefined) throw new Error(`app setting "${name}" referenced as %${name}% is not set`);
    return v;
  });
}

export function isFunctionDisabled(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env[`AzureWebJobs.${name}.Disabled`] ?? env[`AzureWebJobs_${name}_Disabled`];
  return v !== undefined && /^(true|1)$/i.test(v.trim());
}
