// The console's file server: files with their type and caching, the app shell for console pages, gzip when
// accepted, and nothing for /api/…, for paths that climb out of the root, or for missing assets.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleFiles } from '../../../../shared/adapters/functions/console-files';

let root: string;
let files: ReturnType<typeof createConsoleFiles>;

beforeAll(async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pgkeep-console-'));
  root = path.join(dir, 'public');
  await mkdir(path.join(root, 'assets'), { recursive: true });
  await writeFile(path.join(root, 'index.html'), '<!doctype html><title>pgkeep</title>');
  await writeFile(path.join(root, 'assets', 'app-4F2KQ7XZ.js'), 'console.log(1)');
  await writeFile(path.join(root, 'assets', 'app-4F2KQ7XZ.js.gz'), gzipSync('console.log(1)'));
  await writeFile(path.join(dir, 'secret.txt'), 'outside the root');
  files = createConsoleFiles(root);
});

afterAll(async () => {
  await rm(path.dirname(root), { recursive: true, force: true });
});

describe('createConsoleFiles().serve', () => {
  it('sends a hashed asset with its type, cached for a year, and the gzip sibling when gzip is accepted', async () => {
    const plain = await files.serve('/assets/app-4F2KQ7XZ.js');
    expect(plain?.status).toBe(200);
    expect(plain?.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain?.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain?.body?.toString()).toBe('console.log(1)');
    const gz = await files.serve('/assets/app-4F2KQ7XZ.js', { acceptEncoding: 'br, gzip;q=0.8' });
    expect(gz?.headers['content-encoding']).toBe('gzip');
    expect(gz?.body).toEqual(gzipSync('console.log(1)'));
  });

  it('answers the root and every console page with the app shell, uncached and with the security policy', async () => {
    for (const page of ['/', '/instances', '/instances/orders.v2', '/jobs?status=Failed'.split('?')[0]!]) {
      const res = await files.serve(page);
      expect(res?.body?.toString(), page).toContain('<title>pgkeep</title>');
      expect(res?.headers['cache-control']).toBe('no-cache');
      expect(res?.headers['content-security-policy']).toContain("default-src 'self'");
    }
  });

  it('leaves /api/… to the API, and has nothing for missing assets or paths outside the root', async () => {
    for (const p of [
      '/api',
      '/api/nope',
      '/API/backupJobs',
      '/assets/missing.js',
      '/favicon.ico',
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/.hidden',
      '/a\\b',
    ]) {
      expect(await files.serve(p), p).toBeUndefined();
    }
  });

  it('sends headers without a body for HEAD', async () => {
    const res = await files.serve('/instances', { head: true });
    expect(res?.status).toBe(200);
    expect(res?.body).toBeUndefined();
  });
});
