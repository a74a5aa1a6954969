import { describe, expect, it } from 'vitest';
import {
  containerAccess,
  isLoopbackHost,
  outboundUrlProblem,
  parseHostList,
} from '../../../shared/domain/outbound-urls';

const strict = { allowHttpLoopback: false, identityHosts: [] as string[] };
const local = { allowHttpLoopback: true, identityHosts: [] as string[] };

describe('outboundUrlProblem', () => {
  it('accepts https anywhere', () => {
    expect(outboundUrlProblem('https://hooks.example.com/x', strict)).toBeUndefined();
  });

  it('accepts plain http only to this machine, and only when ALLOW_HTTP_LOOPBACK_URLS is on', () => {
    for (const url of ['http://127.0.0.1:10000/a', 'http://localhost/a', 'http://[::1]:8080/a', 'http://127.9.9.9/a']) {
      expect(outboundUrlProblem(url, local), url).toBeUndefined();
      expect(outboundUrlProblem(url, strict), url).toContain('set ALLOW_HTTP_LOOPBACK_URLS=true');
    }
    expect(outboundUrlProblem('http://example.com/a', local)).toContain('must be https');
    expect(outboundUrlProblem('http://127.0.0.1.example.com/a', local)).toContain('must be https');
  });

  it('refuses other schemes, user information, fragments and non-URLs, never repeating the URL', () => {
    expect(outboundUrlProblem('ftp://example.com/a', local)).toBe('must be https');
    expect(outboundUrlProblem('https://user:pw@example.com/a', local)).toBe('must not carry a user name or password');
    expect(outboundUrlProblem('https://example.com/a#frag', local)).toBe('must not have a #fragment');
    expect(outboundUrlProblem('example.com/a', local)).toBe('is not an absolute URL');
  });
});

describe('isLoopbackHost', () => {
  it('knows localhost, 127.0.0.0/8 and ::1, and nothing that merely starts like them', () => {
    expect(['localhost', '127.0.0.1', '127.1.2.3', '[::1]'].every(isLoopbackHost)).toBe(true);
    expect(['128.0.0.1', '127.0.0.1.nip.io', 'localhost.example.com', '10.0.0.1'].some(isLoopbackHost)).toBe(false);
  });
});

describe('containerAccess', () => {
  const listed = {
    allowHttpLoopback: false,
    identityHosts: parseHostList(' Exports.blob.core.windows.net , 127.0.0.1:4443'),
  };

  it('uses a URL that carries a SAS with that SAS alone, whatever its account', () => {
    expect(containerAccess('https://any.blob.core.windows.net/c?sv=2024&sig=abc', strict)).toEqual({
      ok: true,
      access: 'sas',
    });
  });

  it("writes with the app's identity only to an allow-listed account (case-insensitive; a port entry matches that port)", () => {
    expect(containerAccess('https://exports.blob.core.windows.net/c', listed)).toEqual({
      ok: true,
      access: 'identity',
      host: 'exports.blob.core.windows.net',
    });
    expect(containerAccess('https://127.0.0.1:4443/acct/c', listed)).toMatchObject({ ok: true, access: 'identity' });
    expect(containerAccess('https://127.0.0.1:4444/acct/c', listed)).toMatchObject({ ok: false });
  });

  it('refuses any other URL without a SAS, naming the host and the setting', () => {
    const refused = containerAccess('https://vaultacct.blob.core.windows.net/pgkeep-backups', listed);
    expect(refused).toMatchObject({ ok: false });
    if (!refused.ok) {
      expect(refused.message).toContain('vaultacct.blob.core.windows.net');
      expect(refused.message).toContain('RESTORE_FILES_ALLOWED_ACCOUNTS');
    }
  });

  it('applies the https rule first: a SAS does not make plain http acceptable', () => {
    expect(containerAccess('http://exports.blob.core.windows.net/c?sig=x', listed)).toMatchObject({ ok: false });
  });
});
