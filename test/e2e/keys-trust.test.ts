// Keys and trust under devhost (issue 16): backups are envelope-encrypted with the keyring, rewrap over HTTP, no
// confused deputy for restores as files, and the audit log. Two local HTTPS receivers stand in for storage accounts
// and record every request's headers: the one on RESTORE_FILES_ALLOWED_ACCOUNTS must see the app's managed-identity
// token (the positive control), the other must never see one. The app trusts their certificate through
// NODE_EXTRA_CA_CERTS and gets its token from the App Service identity stand-in, as in Azure.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment -- response bodies are checked by the assertions, not by types */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSelfSignedCert, useAzureStandins, type AzureStandins } from '../support/azure-standins';
import { containerSasUrl, startRestoreEnv, type RestoreEnv } from './restore-e2e-support';

const STORAGE_RESOURCE = 'https://storage.azure.com';

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly hasSas: boolean;
}

/** An HTTPS "storage account" that accepts block uploads and deletes, and records what reached it. */
async function startReceiver(cert: { cert: string; key: string }) {
  const seen: Seen[] = [];
  const server = https.createServer(cert, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://localhost');
    seen.push({
      method: req.method ?? '',
      path: url.pathname,
      authorization: req.headers.authorization,
      hasSas: url.searchParams.has('sig'),
    });
    req.resume();
    req.on('end', () => {
      const headers = { 'x-ms-request-id': randomBytes(8).toString('hex'), 'x-ms-version': '2025-01-05' };
      if (req.method === 'PUT')
        res.writeHead(201, { ...headers, etag: '"0x1"', 'last-modified': new Date().toUTCString() });
      else if (req.method === 'DELETE') res.writeHead(202, headers);
      else res.writeHead(404, { ...headers, 'x-ms-error-code': 'BlobNotFound' });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    seen,
    port,
    url: (container: string) => `https://127.0.0.1:${port}/acct/${container}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let standins: AzureStandins;
useAzureStandins((started) => (standins = started));

let env: RestoreEnv;
let allowed: Awaited<ReturnType<typeof startReceiver>>;
let other: Awaited<ReturnType<typeof startReceiver>>;
let pointId: string;
let dir: string;
const keyring = { current: 'k1', keys: { k1: randomBytes(32).toString('base64') } };
const admin = Buffer.from(
  JSON.stringify({
    auth_typ: 'aad',
    claims: [
      { typ: 'name', val: 'auditor@example.com' },
      { typ: 'roles', val: 'Admin' },
    ],
  }),
).toString('base64');

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pgkeep-trust-'));
  // The app trusts the stand-ins' and the receivers' certificates (127.0.0.1) through NODE_EXTRA_CA_CERTS.
  const tls = createSelfSignedCert();
  const caFile = path.join(dir, 'ca.pem');
  await writeFile(caFile, `${standins.ca}\n${tls.cert}`);
  [allowed, other] = await Promise.all([startReceiver(tls), startReceiver(tls)]);
  env = await startRestoreEnv({
    NODE_EXTRA_CA_CERTS: caFile,
    IDENTITY_ENDPOINT: standins.identity.endpoint,
    IDENTITY_HEADER: standins.identity.header,
    RESTORE_FILES_ALLOWED_ACCOUNTS: `127.0.0.1:${allowed.port}`,
    ALLOW_HTTP_LOOPBACK_URLS: 'true',
    BACKUP_KEYRING: JSON.stringify(keyring),
  });
  pointId = await env.backup();
}, 240_000);

afterAll(async () => {
  await env?.stop();
  await Promise.all([allowed?.close(), other?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A call as an authenticated Admin from a known address, as App Service would forward it. */
async function callAs(method: string, p: string, body?: unknown) {
  const res = await fetch(`${env.dh.baseUrl}/api${p}`, {
    method,
    headers: {
      'content-type': 'application/json',
      'x-ms-client-principal': admin,
      'x-forwarded-for': '203.0.113.9:50123',
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const filesRequest = (url: string) => ({
  objectType: 'AzureBackupRecoveryPointBasedRestoreRequest',
  recoveryPointId: pointId,
  sourceDataStoreType: 'VaultStore',
  restoreTargetInfo: {
    objectType: 'RestoreFilesTargetInfo',
    recoveryOption: 'FailIfExists',
    targetDetails: { url, filePrefix: 'exports', restoreTargetLocationType: 'AzureBlobs' },
  },
});

describe('restore as files: no confused deputy', () => {
  it("writes to an allow-listed account with the app's managed-identity token (the positive control)", async () => {
    const r = await callAs('POST', '/backupInstances/orders/validateRestore', filesRequest(allowed.url('exports')));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(allowed.seen.length).toBeGreaterThan(0);
    for (const req of allowed.seen) {
      expect(standins.identity.verify(req.authorization, STORAGE_RESOURCE), req.path).toBe('valid');
    }
  });

  it('refuses an account that is not listed when the URL has no SAS: 400 naming the field, and no request leaves', async () => {
    for (const route of ['validateRestore', 'restore']) {
      const r = await callAs('POST', `/backupInstances/orders/${route}`, filesRequest(other.url('exports')));
      expect(r.status).toBe(400);
      const details = r.body.error.details as { target: string }[];
      expect(details.map((d) => d.target)).toEqual(['$.restoreTargetInfo.targetDetails.url']);
    }
    expect(other.seen).toEqual([]);
  });

  it('sends only the caller’s SAS, never a token, to an account that is not listed', async () => {
    const sas = `${other.url('exports')}?sv=2025-01-05&sr=c&sp=rcwd&se=2099-01-01T00%3A00%3A00Z&sig=c2lnbmF0dXJl`;
    const r = await callAs('POST', '/backupInstances/orders/validateRestore', filesRequest(sas));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(other.seen.length).toBeGreaterThan(0);
    for (const req of other.seen) {
      expect(req.authorization, req.path).toBeUndefined();
      expect(req.hasSas, req.path).toBe(true);
    }
  });

  it("no longer writes into the vault's own account through the vault connection: it must be listed, or come with a SAS", async () => {
    const own = env.blobService.getContainerClient('exports-own').url;
    const refused = await callAs('POST', '/backupInstances/orders/validateRestore', filesRequest(own));
    expect(refused.status).toBe(400);
    await env.blobService.getContainerClient('exports-own').createIfNotExists();
    const withSas = await callAs(
      'POST',
      '/backupInstances/orders/validateRestore',
      filesRequest(containerSasUrl(env, 'exports-own')),
    );
    expect(withSas.status, JSON.stringify(withSas.body)).toBe(200);
  });
});

describe('envelope encryption and rewrap over HTTP', () => {
  it('records the wrapped data key and the KEK that wrapped it in the manifest, and the KEK on the point', async () => {
    const r = await callAs('GET', `/backupInstances/orders/recoveryPoints/${pointId}`);
    expect(r.status).toBe(200);
    expect(r.body.properties.encryptionKeyId).toBe('k1');
    expect(r.body.properties.manifest.encryption).toMatchObject({
      algorithm: 'AES-256-GCM',
      format: 'PGKEEPE1',
      keyProvider: 'keyring',
      keyId: 'k1',
      keyWrapAlgorithm: 'A256KW',
      wrappedKey: expect.any(String),
    });
    expect(JSON.stringify(r.body)).not.toContain(keyring.keys.k1);
  });

  it('rewraps one point in the call and all points of an instance as a Rewrap job', async () => {
    const one = await callAs('POST', `/backupInstances/orders/recoveryPoints/${pointId}/rewrap`);
    expect(one.status, JSON.stringify(one.body)).toBe(200);
    expect(one.body.properties).toMatchObject({ operation: 'Rewrap', status: 'Succeeded' });
    expect(one.body.properties.extendedInfo).toEqual({ result: 'alreadyCurrent', keyId: 'k1' });
    const all = await callAs('POST', '/backupInstances/orders/rewrap');
    expect(all.status).toBe(202);
    const job = await env.waitJob(all.body.name as string);
    expect(job.properties).toMatchObject({ operation: 'Rewrap', status: 'Succeeded' });
    expect(job.properties.extendedInfo).toMatchObject({ toKeyId: 'k1', alreadyCurrent: 1, failed: 0 });
  });
});

describe('audit log', () => {
  it('records each state-changing call with who, what, from where and the outcome, and nothing secret', async () => {
    const r = await callAs('GET', '/auditLog?principal=auditor%40example.com');
    expect(r.status).toBe(200);
    const entries = r.body.value as { action: string; outcome: string; clientIp: string; target: string }[];
    expect(entries.length).toBeGreaterThan(5);
    for (const e of entries) {
      expect(e).toMatchObject({ principalKind: 'user', clientIp: '203.0.113.9' });
    }
    const actions = entries.map((e) => `${e.action} ${e.outcome}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        'validateRestoreHttp Succeeded',
        'validateRestoreHttp Failed',
        'restoreHttp Failed',
        'rewrapRecoveryPointHttp Succeeded',
        'rewrapInstanceHttp Succeeded',
      ]),
    );
    // Reads are not audited; the SAS and the keys appear nowhere.
    expect(entries.some((e) => e.target.startsWith('GET '))).toBe(false);
    const text = JSON.stringify(r.body);
    for (const secret of ['c2lnbmF0dXJl', 'sig=', keyring.keys.k1]) expect(text).not.toContain(secret);
    // The un-authenticated calls of the setup (policy, instance, backup) are there too, as "anonymous".
    const anonymous = await callAs('GET', '/auditLog?principal=anonymous');
    expect((anonymous.body.value as { action: string }[]).map((e) => e.action)).toEqual(
      expect.arrayContaining(['putPolicy', 'putInstance', 'backupNowHttp']),
    );
  });
});
