// Ssl Mode honoured end to end against a real PostgreSQL 15: the `pg` client through connectPgClient, and libpq
// (psql) through pgEnv — first with TLS off on the server, then with TLS on and a self-signed certificate.
import { execFile } from 'node:child_process';
import { chown, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPgClient, pgEnv } from '../../shared/adapters/postgres/connection-string';
import type { PgConnection, SslMode } from '../../shared/ports';
import { createSelfSignedCert, type SelfSignedCert } from '../support/azure-standins';
import { startPostgres, type TestPostgres } from '../support/postgres';

const execFileAsync = promisify(execFile);
const PSQL = '/usr/lib/postgresql/15/bin/psql';
const SSL_IN_USE = 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()';

let server: TestPostgres;
let tls: SelfSignedCert;

beforeAll(async () => {
  server = await startPostgres({ major: 15 });
  tls = createSelfSignedCert();
});

afterAll(async () => {
  await server?.stop();
});

const conn = (sslMode: SslMode): PgConnection => ({ ...server.connectionFor('postgres'), sslMode });

/** Connects with the `pg` client and reports whether the session is encrypted. */
async function pgUsesTls(sslMode: SslMode, ca?: string): Promise<boolean> {
  const client = await connectPgClient(conn(sslMode), { connectTimeoutMs: 5000, ...(ca ? { ca } : {}) });
  try {
    const { rows } = await client.query<{ ssl: boolean }>(SSL_IN_USE);
    return rows[0]?.ssl ?? false;
  } finally {
    await client.end();
  }
}

/** Runs psql with only pgEnv's variables (no argv connection options) and reports whether TLS was used. */
async function psqlUsesTls(sslMode: SslMode, sslRootCertFile?: string): Promise<boolean> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin',
    ...pgEnv(conn(sslMode), { connectTimeoutSeconds: 5, sslRootCertFile }),
  };
  const { stdout } = await execFileAsync(PSQL, ['-XAtc', SSL_IN_USE], { env });
  return stdout.trim() === 't';
}

async function enableServerTls(): Promise<string> {
  // The server reads its key as its own OS user, from a 0600 file: put both files in its data directory.
  const rows = await server.query<{ dir: string }>("SELECT current_setting('data_directory') AS dir");
  const dir = rows[0]?.dir ?? '';
  const owner = await stat(dir);
  const certFile = path.join(dir, 'pgkeep-test.crt');
  const keyFile = path.join(dir, 'pgkeep-test.key');
  await writeFile(certFile, tls.cert, { mode: 0o644 });
  await writeFile(keyFile, tls.key, { mode: 0o600 });
  await chown(certFile, owner.uid, owner.gid);
  await chown(keyFile, owner.uid, owner.gid);
  await server.query(`ALTER SYSTEM SET ssl_cert_file = '${certFile}'`);
  await server.query(`ALTER SYSTEM SET ssl_key_file = '${keyFile}'`);
  await server.query('ALTER SYSTEM SET ssl = on');
  await server.query('SELECT pg_reload_conf()');
  // The reload is asynchronous: poll (with a deadline) until a require connection succeeds.
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await pgUsesTls('require');
      return certFile;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('connectPgClient and pgEnv', () => {
  describe('on a server without TLS', () => {
    it('connects in plain text for prefer, falling back as libpq does', async () => {
      expect(await pgUsesTls('prefer')).toBe(false);
      expect(await psqlUsesTls('prefer')).toBe(false);
    });

    it('connects in plain text for disable and allow', async () => {
      expect(await pgUsesTls('disable')).toBe(false);
      expect(await pgUsesTls('allow')).toBe(false);
    });

    it('refuses require instead of falling back to plain text', async () => {
      await expect(pgUsesTls('require')).rejects.toThrow(/does not support SSL/);
      await expect(psqlUsesTls('require')).rejects.toThrow(/does not support SSL/);
    });
  });

  describe('on a server with TLS', () => {
    let certFile: string;
    beforeAll(async () => {
      certFile = await enableServerTls();
    });

    it('encrypts for prefer and require', async () => {
      expect(await pgUsesTls('prefer')).toBe(true);
      expect(await pgUsesTls('require')).toBe(true);
      expect(await psqlUsesTls('require')).toBe(true);
    });

    it('refuses verify-full and verify-ca when no trusted CA signed the certificate', async () => {
      await expect(pgUsesTls('verify-full')).rejects.toThrow(/self[- ]signed/i);
      await expect(pgUsesTls('verify-ca')).rejects.toThrow(/self[- ]signed/i);
      await expect(psqlUsesTls('verify-full')).rejects.toThrow(/certificate verify failed/);
    });

    it('accepts verify-full with the CA given, and checks the name (127.0.0.1 is in the certificate)', async () => {
      expect(await pgUsesTls('verify-full', tls.cert)).toBe(true);
      expect(await psqlUsesTls('verify-full', certFile)).toBe(true);
    });
  });
});
