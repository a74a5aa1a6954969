// The CLI's API client over real HTTP (a scripted server on loopback) and the real DefaultAzureCredential (pointed at
// the managed-identity stand-in): what it sends, how it reads error answers, and that credentials never reach a log.
import { describe, expect, it, afterEach } from 'vitest';
import { ApiClient, ApiError, ApiUnreachableError } from '../../../cli/api-client';
import { freePort } from '../../support/azurite';
import { useAzureStandins, type AzureStandins } from '../../support/azure-standins';
import { startScriptedApi, type Answer, type ScriptedApi } from './cli-support';

let api: ScriptedApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function clientAnswering(answer: Answer, options: { key?: string; log?: string[] } = {}) {
  api = await startScriptedApi(() => answer);
  return new ApiClient({
    baseUrl: api.url,
    ...(options.key !== undefined && { key: options.key }),
    ...(options.log && { log: (line: string) => options.log!.push(line) }),
  });
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe('ApiClient.call', () => {
  it('sends the key as x-functions-key, JSON bodies with their content type, and the query', async () => {
    const client = await clientAnswering({ status: 202, body: { name: 'job1' } }, { key: 'k-123' });
    const answer = await client.call('POST', 'backupInstances/a%20b/backup', {
      body: { x: 1 },
      query: { status: 'Failed', skipped: undefined },
    });
    expect(answer).toEqual({ status: 202, text: '{"name":"job1"}', body: { name: 'job1' } });
    const seen = api!.seen[0]!;
    expect(seen.method).toBe('POST');
    expect(seen.url.pathname).toBe('/api/backupInstances/a%20b/backup');
    expect([...seen.url.searchParams]).toEqual([['status', 'Failed']]);
    expect(seen.headers['x-functions-key']).toBe('k-123');
    expect(seen.headers['content-type']).toBe('application/json');
    expect(seen.body).toBe('{"x":1}');
  });

  it("answers an error with the API's code, message, details and hint (ApiError, exit 1)", async () => {
    const body = {
      error: {
        code: 'UserErrorInvalidRequest',
        message: 'the backup instance is invalid: $.x',
        details: [{ code: 'UserErrorInvalidRequest', target: '$.x', message: 'is required' }],
        hint: 'fix the fields',
      },
    };
    const client = await clientAnswering({ status: 400, body });
    const err = await failure(client.call('GET', 'backupInstances'));
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).exitCode).toBe(1);
    expect((err as ApiError).report).toEqual(body.error);
    expect((err as ApiError).render()).toBe(
      'pgkeep: UserErrorInvalidRequest: the backup instance is invalid: $.x\n  $.x: is required\nhint: fix the fields\n',
    );
  });

  it('shows an error code this CLI does not know yet as it is', async () => {
    const client = await clientAnswering({
      status: 409,
      body: { error: { code: 'UserErrorFromTheFuture', message: 'later', hint: 'wait' } },
    });
    const err = (await failure(client.call('GET', 'x'))) as ApiError;
    expect(err.report).toEqual({ code: 'UserErrorFromTheFuture', message: 'later', hint: 'wait' });
  });

  it.each([
    [401, /PGKEEP_API_KEY/],
    [403, /role/],
    [404, /ending in \/api/],
    [500, /app's log/],
  ])('explains a %i without an error body by its status, with a hint', async (status, hint) => {
    const client = await clientAnswering({ status, raw: '' });
    const err = (await failure(client.call('GET', 'x'))) as ApiError;
    expect(err.report.message).toMatch(new RegExp(`^the API answered ${status}`));
    expect(err.report.hint).toMatch(hint);
  });

  it('takes a status listed in accept as an answer (GET /health answers 503 when Critical)', async () => {
    const client = await clientAnswering({ status: 503, body: { status: 'Critical' } });
    const answer = await client.call('GET', 'health', { accept: [503] });
    expect(answer.status).toBe(503);
    expect(answer.body).toEqual({ status: 'Critical' });
  });

  it('refuses a success whose body is not JSON: the URL is not the API', async () => {
    const client = await clientAnswering({ status: 200, raw: '<html>hello</html>' });
    const err = (await failure(client.call('GET', 'backupInstances'))) as ApiError;
    expect(err.report.message).toMatch(/is not JSON/);
  });

  it('fails with ApiUnreachableError (exit 3) naming the URL and the reason when nothing listens', async () => {
    const url = `http://127.0.0.1:${await freePort()}/api`;
    const err = await failure(new ApiClient({ baseUrl: url }).call('GET', 'backupJobs'));
    expect(err).toBeInstanceOf(ApiUnreachableError);
    expect((err as ApiUnreachableError).exitCode).toBe(3);
    expect((err as ApiUnreachableError).render()).toBe(
      `pgkeep: cannot reach the pgkeep API at ${url} (connection refused)\n` +
        'hint: start it with `npm start` in a pgkeep checkout, or point --api (or PGKEEP_API_URL) at a running one\n',
    );
  });

  it('logs method, URL, status and time for --verbose, never the key', async () => {
    const log: string[] = [];
    const client = await clientAnswering({ status: 200, body: { value: [] } }, { key: 'very-secret-key', log });
    await client.call('GET', 'backupInstances', { query: { a: 'b' } });
    expect(log).toHaveLength(1);
    expect(log[0]).toMatch(new RegExp(`^GET ${api!.url}/backupInstances\\?a=b → 200 \\(\\d+ ms\\)$`));
    expect(log.join('')).not.toContain('very-secret-key');
  });
});

describe('ApiClient with PGKEEP_API_SCOPE', () => {
  let standins: AzureStandins;
  useAzureStandins((s) => (standins = s));

  it('sends an Entra ID token from DefaultAzureCredential as a bearer, once per client, and never logs it', async () => {
    api = await startScriptedApi(() => ({ status: 200, body: { value: [] } }));
    const log: string[] = [];
    const client = new ApiClient({ baseUrl: api.url, scope: 'api://pgkeep-test/.default', log: (l) => log.push(l) });
    await client.call('GET', 'backupInstances');
    await client.call('GET', 'backupPolicies');
    const auth = api.seen.map((r) => r.headers.authorization);
    expect(auth.map((a) => standins.identity.verify(a, 'api://pgkeep-test'))).toEqual(['valid', 'valid']);
    expect(standins.identity.tokenRequests).toEqual(['api://pgkeep-test']);
    const token = auth[0]!.slice('Bearer '.length);
    expect(log.join('\n')).not.toContain(token);
  }, 60_000);
});
