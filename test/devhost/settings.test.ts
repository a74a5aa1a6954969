// How devhost reads an app's configuration: local.settings.json (real env wins), host.json, %Setting% references,
// disabled functions, package.json main globs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { expandMainGlob } from '../../devhost/loader';
import {
  applyToEnv,
  isFunctionDisabled,
  parseTimeSpanMs,
  readHostJson,
  readLocalSettings,
  resolveSettingRefs,
} from '../../devhost/settings';

const dirs: string[] = [];
function tempApp(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devhost-app-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('readLocalSettings', () => {
  it('falls back to local.settings.sample.json and says so when local.settings.json is missing', () => {
    const dir = tempApp({ 'local.settings.sample.json': '{"Values":{"A":"sample"},"Host":{"LocalHttpPort":7999}}' });
    const s = readLocalSettings(dir);
    expect(s.fromSample).toBe(true);
    expect(s.values).toEqual({ A: 'sample' });
    expect(s.host.LocalHttpPort).toBe(7999);
  });

  it('prefers local.settings.json over the sample', () => {
    const dir = tempApp({
      'local.settings.json': '\uFEFF{"Values":{"A":"real"}}',
      'local.settings.sample.json': '{"Values":{"A":"sample"}}',
    });
    expect(readLocalSettings(dir)).toMatchObject({ fromSample: false, values: { A: 'real' } });
  });
});

describe('applyToEnv', () => {
  it('sets only the settings the real environment does not already have', () => {
    const env: NodeJS.ProcessEnv = { B: 'from-env' };
    expect(applyToEnv({ A: 'file', B: 'file' }, env)).toEqual(['A']);
    expect(env).toEqual({ A: 'file', B: 'from-env' });
  });
});

describe('resolveSettingRefs', () => {
  it('replaces %NAME% with the app setting and fails clearly when it is missing', () => {
    expect(resolveSettingRefs('%Q%-x', { Q: 'jobs' })).toBe('jobs-x');
    expect(() => resolveSettingRefs('%MISSING%', {})).toThrow(/"MISSING"/);
  });
});

describe('isFunctionDisabled', () => {
  it('reads AzureWebJobs.<Name>.Disabled as true/1', () => {
    expect(isFunctionDisabled('f', { 'AzureWebJobs.f.Disabled': 'True' })).toBe(true);
    expect(isFunctionDisabled('f', { 'AzureWebJobs.f.Disabled': 'false' })).toBe(false);
    expect(isFunctionDisabled('f', {})).toBe(false);
  });
});

describe('readHostJson', () => {
  it('applies the host defaults: api prefix, base64, 5 dequeues, batch 16', () => {
    const h = readHostJson(tempApp({ 'host.json': '{"version":"2.0"}' }));
    expect(h.routePrefix).toBe('api');
    expect(h.queues).toMatchObject({
      messageEncoding: 'base64',
      maxDequeueCount: 5,
      batchSize: 16,
      visibilityTimeoutMs: 0,
    });
  });

  it('reads routePrefix "" and queue options, keeping idle polling at most 1 s locally', () => {
    const h = readHostJson(
      tempApp({
        'host.json': JSON.stringify({
          extensions: {
            http: { routePrefix: '' },
            queues: { messageEncoding: 'none', visibilityTimeout: '00:00:10', maxPollingInterval: '00:01:00' },
          },
        }),
      }),
    );
    expect(h.routePrefix).toBe('');
    expect(h.queues).toMatchObject({
      messageEncoding: 'none',
      visibilityTimeoutMs: 10_000,
      maxPollingIntervalMs: 1000,
    });
  });
});

describe('applyHostJsonOverrides', () => {
  it('lets AzureFunctionsJobHost__ settings override host.json paths, matching keys case-insensitively', () => {
    const dir = tempApp({ 'host.json': '{"extensions":{"queues":{"batchSize":16}}}' });
    const h = readHostJson(dir, {
      AzureFunctionsJobHost__extensions__Queues__batchSize: '4',
      AzureFunctionsJobHost__extensions__http__routePrefix: 'v1',
    });
    expect(h.queues.batchSize).toBe(4);
    expect(h.routePrefix).toBe('v1');
  });
});

describe('parseTimeSpanMs', () => {
  it('parses .NET TimeSpans with days and fractions', () => {
    expect(parseTimeSpanMs('1.02:03:04.5', 0)).toBe(((26 * 60 + 3) * 60 + 4.5) * 1000);
    expect(parseTimeSpanMs(undefined, 7)).toBe(7);
    expect(() => parseTimeSpanMs('10s', 0)).toThrow(/TimeSpan/);
  });
});

describe('expandMainGlob', () => {
  it('expands * and ** relative to the app root, sorted, files only', () => {
    const dir = tempApp({ 'dist/b.js': '', 'dist/a.js': '', 'dist/x.map': '', 'dist/sub/c.js': '' });
    expect(expandMainGlob(dir, 'dist/*.js').map((f) => path.relative(dir, f))).toEqual(['dist/a.js', 'dist/b.js']);
    expect(expandMainGlob(dir, 'dist/**/*.js').map((f) => path.relative(dir, f))).toEqual([
      'dist/a.js',
      'dist/b.js',
      'dist/sub/c.js',
    ]);
  });
});
