// Local stand-ins for the Azure services the secret resolver, the Key Vault KEK provider and the ARM Reader check
// talk to: an App Service managed-identity token endpoint (plain HTTP, as in App Service), a Key Vault endpoint for
// secrets and keys (get, wrapkey, unwrapkey with real RSA-OAEP-256 over per-version RSA keys; versions, disabled
// versions and deleted keys behave as Key Vault documents them) and an ARM permissions endpoint (both HTTPS with a
// self-signed certificate generated at start). The real SDK clients and the real ManagedIdentityCredential run
// against them; nothing of the SDK is mocked.

import { execFileSync } from 'node:child_process';
import {
  constants as cryptoConstants,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  randomUUID,
  type KeyObject,
} from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';

export const VAULT_RESOURCE = 'https://vault.azure.net';
export const ARM_RESOURCE = 'https://management.azure.com';

export interface SelfSignedCert {
  /** PEM; what a client passes as `tlsOptions.ca` to trust the stand-ins. */
  readonly cert: string;
  readonly key: string;
}

/** A throwaway certificate for 127.0.0.1/localhost, made with the openssl CLI. */
export function createSelfSignedCert(): SelfSignedCert {
  const dir = mkdtempSync(path.join(tmpdir(), 'pgkeep-standin-'));
  try {
    const keyFile = path.join(dir, 'key.pem');
    const certFile = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '2',
        '-subj',
        '/CN=pgkeep-standin',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'ignore' },
    );
    return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One request as a stand-in saw it; `auth` says whether it carried a bearer token and whether it was valid. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly auth: 'none' | 'valid' | 'invalid';
}

interface IssuedToken {
  resource: string;
  principalId: string;
}

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(text);
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The App Service managed-identity endpoint (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, api-version 2019-08-01). */
export interface IdentityStandin {
  readonly endpoint: string;
  readonly header: string;
  readonly principalId: string;
  readonly tenantId: string;
  /** Token requests seen, by resource. */
  readonly tokenRequests: string[];
  /** Whether a token is one this endpoint issued, for the given resource. */
  verify(authorization: string | undefined, resource: string): SeenRequest['auth'];
}

export interface KeyVaultDenial {
  status: 401 | 403;
  /** Key Vault's error.code, e.g. Forbidden. */
  code: string;
  /** Key Vault's error.innererror.code, e.g. ForbiddenByRbac, ForbiddenByFirewall, SecretDisabled. */
  innerCode?: string;
  message: string;
}

export interface KeyVaultStandin {
  /** `https://127.0.0.1:<port>`: a secret's URI is `${url}/secrets/<name>[/<version>]`. */
  readonly url: string;
  readonly requests: SeenRequest[];
  /** Adds a new version of a secret (the newest is what an unversioned GET returns); returns the version id. */
  setSecret(name: string, value: string): string;
  /** Answers every GET of this secret with the denial. */
  deny(name: string, denial?: KeyVaultDenial): void;
  /**
   * Adds a new version of an RSA key (creating the key; the newest version is the current one, which an unversioned
   * request uses) and returns its full id `${url}/keys/<name>/<version>`.
   */
  createKeyVersion(name: string): string;
  /** Enables or disables one version: a disabled version still wraps and reads, but refuses unwrapKey (403 KeyDisabled). */
  setKeyVersionEnabled(name: string, version: string, enabled: boolean): void;
  /** Deletes a key with all its versions (every request for it answers 404 KeyNotFound). */
  deleteKey(name: string): void;
}

interface StandinKeyVersion {
  readonly version: string;
  readonly privateKey: KeyObject;
  readonly publicJwk: { n?: string; e?: string };
  enabled: boolean;
  readonly created: number;
}

export type ArmPermission = {
  actions?: string[];
  notActions?: string[];
  dataActions?: string[];
  notDataActions?: string[];
};

export interface ArmStandin {
  /** `https://127.0.0.1:<port>`, the `$host` to give AuthorizationManagementClient. */
  readonly url: string;
  readonly requests: SeenRequest[];
  /** The caller's effective permissions at an ARM resource id (compared case-insensitively). */
  setPermissions(resourceId: string, permissions: ArmPermission[] | 'forbidden'): void;
  /**
   * A token of a person (not the app), accepted by the role-assignments endpoint only: it may create assignments at
   * or below each of `canAssignAt` (as Owner / User Access Administrator there), and is refused (403) elsewhere.
   */
  issueCallerToken(canAssignAt: string[]): string;
  /** Role assignments created so far. A Reader assignment of the app's identity at a scope gives it `*\/read` there. */
  readonly assignments: { scope: string; name: string; roleDefinitionId: string; principalId: string }[];
}

export interface AzureStandins {
  readonly identity: IdentityStandin;
  readonly keyVault: KeyVaultStandin;
  readonly arm: ArmStandin;
  /** PEM of the certificate both HTTPS stand-ins use. */
  readonly ca: string;
  stop(): Promise<void>;
}

function startIdentity(): { server: http.Server; identity: Omit<IdentityStandin, 'endpoint'> } {
  const header = randomBytes(16).toString('hex');
  const principalId = randomUUID();
  const tenantId = randomUUID();
  const issued = new Map<string, IssuedToken>();
  const tokenRequests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const resource = url.searchParams.get('resource') ?? '';
    if (url.pathname !== '/msi/token' || req.method !== 'GET') return sendJson(res, 404, { error: 'not_found' });
    if (req.headers['x-identity-header'] !== header) {
      return sendJson(res, 401, { error: 'unauthorized', error_description: 'X-IDENTITY-HEADER missing or wrong' });
    }
    if (url.searchParams.get('api-version') !== '2019-08-01' || resource === '') {
      return sendJson(res, 400, { error: 'invalid_request', error_description: 'api-version or resource missing' });
    }
    tokenRequests.push(resource);
    const now = Math.floor(Date.now() / 1000);
    const payload = { aud: resource, oid: principalId, tid: tenantId, iat: now, exp: now + 3600 };
    // JWT-shaped so callers can read oid as they would from a real token; the signature is random, and the
    // stand-ins accept only tokens this endpoint issued.
    const token = `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(payload)}.${randomBytes(32).toString('base64url')}`;
    issued.set(token, { resource, principalId });
    sendJson(res, 200, {
      access_token: token,
      expires_on: String(now + 3600),
      resource,
      token_type: 'Bearer',
      client_id: randomUUID(),
    });
  });
  const verify = (authorization: string | undefined, resource: string): SeenRequest['auth'] => {
    if (authorization === undefined) return 'none';
    const m = /^Bearer (\S+)$/i.exec(authorization);
    const t = m?.[1] === undefined ? undefined : issued.get(m[1]);
    return t !== undefined && t.resource === resource ? 'valid' : 'invalid';
  };
  return { server, identity: { header, principalId, tenantId, tokenRequests, verify } };
}

type KeyVaultState = Omit<KeyVaultStandin, 'url'> & {
  url: string;
  secrets: Map<string, { version: string; value: string }[]>;
  denials: Map<string, KeyVaultDenial>;
  keys: Map<string, StandinKeyVersion[]>;
};

/** GET /keys/<name>[/<version>], POST …/<version>/wrapkey and …/unwrapkey, as Key Vault answers them (API 7.x). */
function keyRequest(
  state: KeyVaultState,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: string,
  m: RegExpExecArray,
): void {
  const name = m[1] ?? '';
  const versionAsked = m[2] ?? '';
  const operation = m[3];
  const versions = state.keys.get(name.toLowerCase()) ?? [];
  const found = versionAsked === '' ? versions.at(-1) : versions.find((v) => v.version === versionAsked);
  if (!found) {
    return sendJson(res, 404, {
      error: {
        code: 'KeyNotFound',
        message: `A key with (name/id) ${versionAsked === '' ? name : `${name}/${versionAsked}`} was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
      },
    });
  }
  const kid = `${state.url}/keys/${name}/${found.version}`;
  if (operation === undefined) {
    if (req.method !== 'GET') return sendJson(res, 405, { error: { code: 'BadParameter', message: 'GET a key' } });
    return sendJson(res, 200, {
      key: { kid, kty: 'RSA', key_ops: ['wrapKey', 'unwrapKey', 'encrypt', 'decrypt'], ...found.publicJwk },
      attributes: {
        enabled: found.enabled,
        created: found.created,
        updated: found.created,
        recoveryLevel: 'Recoverable+Purgeable',
        recoverableDays: 90,
      },
    });
  }
  let parsed: { alg?: unknown; value?: unknown };
  try {
    parsed = JSON.parse(body) as { alg?: unknown; value?: unknown };
  } catch {
    return sendJson(res, 400, { error: { code: 'BadParameter', message: 'The request body is not JSON.' } });
  }
  if (parsed.alg !== 'RSA-OAEP-256' || typeof parsed.value !== 'string') {
    return sendJson(res, 400, { error: { code: 'BadParameter', message: 'Invalid algorithm or value.' } });
  }
  const oaep = { padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };
  const input = Buffer.from(parsed.value, 'base64url');
  if (operation === 'wrapkey') {
    // Key Vault wraps with a disabled key (only unwrap, decrypt and sign are refused).
    const wrapped = publicEncrypt({ key: found.privateKey, ...oaep }, input);
    return sendJson(res, 200, { kid, value: wrapped.toString('base64url') });
  }
  if (!found.enabled) {
    return sendJson(res, 403, {
      error: {
        code: 'Forbidden',
        message: 'Operation unwrapKey is not allowed on a disabled key.',
        innererror: { code: 'KeyDisabled' },
      },
    });
  }
  try {
    return sendJson(res, 200, {
      kid,
      value: privateDecrypt({ key: found.privateKey, ...oaep }, input).toString('base64url'),
    });
  } catch {
    return sendJson(res, 400, { error: { code: 'BadParameter', message: 'Bad Request' } });
  }
}

function keyVaultHandler(identity: IdentityStandin, state: KeyVaultState) {
  const challenge = `Bearer authorization="https://login.microsoftonline.com/${identity.tenantId}", resource="${VAULT_RESOURCE}"`;
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    // Keys' wrap and unwrap carry a JSON body: read it whole first.
    const serve = (body: string): void => {
      const url = new URL(req.url ?? '/', 'https://localhost');
      const auth = identity.verify(req.headers.authorization, VAULT_RESOURCE);
      state.requests.push({ method: req.method ?? '', path: url.pathname, auth });
      if (!url.searchParams.has('api-version')) {
        return sendJson(res, 400, {
          error: { code: 'BadParameter', message: 'The api-version query parameter is missing' },
        });
      }
      if (auth !== 'valid') {
        return sendJson(
          res,
          401,
          {
            error: {
              code: 'Unauthorized',
              message:
                auth === 'none' ? 'AKV10000: Request is missing a Bearer or PoP token.' : 'AKV10032: Invalid issuer.',
            },
          },
          { 'www-authenticate': challenge },
        );
      }
      const k = /^\/keys\/([0-9a-zA-Z-]+)(?:\/([0-9a-zA-Z]*))?(?:\/(wrapkey|unwrapkey))?\/?$/.exec(url.pathname);
      if (k) return keyRequest(state, req, res, body, k);
      const m = /^\/secrets\/([0-9a-zA-Z-]+)(?:\/([0-9a-zA-Z]*))?\/?$/.exec(url.pathname);
      if (req.method !== 'GET' || !m) {
        return sendJson(res, 405, { error: { code: 'BadParameter', message: 'only GET of a secret is served here' } });
      }
      const name = m[1] ?? '';
      const version = m[2] ?? '';
      const denial = state.denials.get(name.toLowerCase());
      if (denial) {
        const error: Record<string, unknown> = { code: denial.code, message: denial.message };
        if (denial.innerCode !== undefined) error.innererror = { code: denial.innerCode };
        return sendJson(res, denial.status, { error });
      }
      const versions = state.secrets.get(name.toLowerCase()) ?? [];
      const found = version === '' ? versions.at(-1) : versions.find((v) => v.version === version);
      if (!found) {
        return sendJson(res, 404, {
          error: {
            code: 'SecretNotFound',
            message: `A secret with (name/id) ${version === '' ? name : `${name}/${version}`} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
          },
        });
      }
      const created = Math.floor(Date.now() / 1000);
      sendJson(res, 200, {
        value: found.value,
        id: `${state.url}/secrets/${name}/${found.version}`,
        attributes: {
          enabled: true,
          created,
          updated: created,
          recoveryLevel: 'Recoverable+Purgeable',
          recoverableDays: 90,
        },
        tags: {},
      });
    };
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => serve(Buffer.concat(chunks).toString('utf8')));
  };
}

const READER_ROLE = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';
const under = (scope: string, id: string) =>
  id.toLowerCase() === scope.toLowerCase() || id.toLowerCase().startsWith(`${scope.toLowerCase()}/`);

type ArmState = Omit<ArmStandin, 'url'> & {
  url: string;
  permissions: Map<string, ArmPermission[] | 'forbidden'>;
  callerTokens: Map<string, string[]>;
};

/** PUT {scope}/providers/Microsoft.Authorization/roleAssignments/{name}, as ARM answers it, for caller tokens. */
function roleAssignment(
  state: ArmState,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  scope: string,
  name: string,
): void {
  const token = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const canAssignAt = token === undefined ? undefined : state.callerTokens.get(token);
  state.requests.push({
    method: req.method ?? '',
    path: `${scope}/roleAssignments/${name}`,
    auth: canAssignAt ? 'valid' : 'invalid',
  });
  if (canAssignAt === undefined) {
    return sendJson(res, 401, {
      error: { code: 'InvalidAuthenticationToken', message: 'The access token is invalid.' },
    });
  }
  let text = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => (text += c));
  req.on('end', () => {
    const body = JSON.parse(text || '{}') as { properties?: { roleDefinitionId?: string; principalId?: string } };
    const roleDefinitionId = body.properties?.roleDefinitionId?.split('/').pop() ?? '';
    const principalId = body.properties?.principalId ?? '';
    if (!canAssignAt.some((s) => under(s, scope))) {
      return sendJson(res, 403, {
        error: {
          code: 'AuthorizationFailed',
          message: `The client does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/write' over scope '${scope}'.`,
        },
      });
    }
    const same = state.assignments.find(
      (a) =>
        a.scope.toLowerCase() === scope.toLowerCase() &&
        a.roleDefinitionId === roleDefinitionId &&
        a.principalId === principalId,
    );
    if (same) {
      return sendJson(res, 409, {
        error: { code: 'RoleAssignmentExists', message: 'The role assignment already exists.' },
      });
    }
    state.assignments.push({ scope, name, roleDefinitionId, principalId });
    sendJson(res, 201, {
      id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`,
      name,
      type: 'Microsoft.Authorization/roleAssignments',
      properties: {
        scope,
        roleDefinitionId: body.properties?.roleDefinitionId,
        principalId,
        principalType: 'ServicePrincipal',
      },
    });
  });
}

function armHandler(identity: IdentityStandin, state: ArmState) {
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'https://localhost');
    // ARM tolerates repeated slashes (an empty parentResourcePath produces one); so does the stand-in.
    const pathname = url.pathname.replace(/\/{2,}/g, '/');
    const assignment = /^(\/subscriptions\/.+)\/providers\/Microsoft\.Authorization\/roleAssignments\/([^/]+)$/i.exec(
      pathname,
    );
    if (req.method === 'PUT' && assignment) return roleAssignment(state, req, res, assignment[1]!, assignment[2]!);
    const auth = identity.verify(req.headers.authorization, ARM_RESOURCE);
    state.requests.push({ method: req.method ?? '', path: pathname, auth });
    if (auth !== 'valid') {
      return sendJson(
        res,
        401,
        {
          error: {
            code: auth === 'none' ? 'AuthenticationFailed' : 'InvalidAuthenticationToken',
            message: 'Authentication failed.',
          },
        },
        { 'www-authenticate': 'Bearer authorization_uri="https://login.windows.net/", error="invalid_token"' },
      );
    }
    const m = /^(\/subscriptions\/.+)\/providers\/Microsoft\.Authorization\/permissions$/i.exec(pathname);
    if (req.method !== 'GET' || !m || url.searchParams.get('api-version') === null) {
      return sendJson(res, 400, {
        error: { code: 'InvalidRequest', message: 'only permissions of a resource are served here' },
      });
    }
    const scope = m[1] ?? '';
    // A Reader assignment of the app's identity at or above the resource gives it */read there, as in Azure.
    const granted = state.assignments.some(
      (a) => a.roleDefinitionId === READER_ROLE && a.principalId === identity.principalId && under(a.scope, scope),
    );
    const explicit = state.permissions.get(scope.toLowerCase());
    const perms = granted && explicit !== 'forbidden' ? [...(explicit ?? []), { actions: ['*/read'] }] : explicit;
    if (perms === undefined) {
      return sendJson(res, 404, {
        error: { code: 'ResourceNotFound', message: `The Resource '${scope}' was not found.` },
      });
    }
    if (perms === 'forbidden') {
      return sendJson(res, 403, {
        error: {
          code: 'AuthorizationFailed',
          message: `The client '${identity.principalId}' with object id '${identity.principalId}' does not have authorization to perform action 'Microsoft.Authorization/permissions/read' over scope '${scope}' or the scope is invalid.`,
        },
      });
    }
    sendJson(res, 200, {
      value: perms.map((p) => ({ actions: [], notActions: [], dataActions: [], notDataActions: [], ...p })),
    });
  };
}

/** Starts the identity endpoint, a Key Vault and an ARM stand-in on free ports. Call stop() in afterAll. */
export async function startAzureStandins(): Promise<AzureStandins> {
  const tls = createSelfSignedCert();
  const { server: identityServer, identity: partialIdentity } = startIdentity();
  const identityPort = await listen(identityServer);
  const identity: IdentityStandin = { ...partialIdentity, endpoint: `http://127.0.0.1:${identityPort}/msi/token` };

  const kvState: KeyVaultState = {
    url: '',
    requests: [] as SeenRequest[],
    secrets: new Map<string, { version: string; value: string }[]>(),
    denials: new Map<string, KeyVaultDenial>(),
    keys: new Map<string, StandinKeyVersion[]>(),
    createKeyVersion(name: string): string {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const jwk = publicKey.export({ format: 'jwk' });
      const version = randomBytes(16).toString('hex');
      const list = kvState.keys.get(name.toLowerCase()) ?? [];
      list.push({
        version,
        privateKey,
        publicJwk: { n: jwk.n, e: jwk.e },
        enabled: true,
        created: Math.floor(Date.now() / 1000),
      });
      kvState.keys.set(name.toLowerCase(), list);
      return `${kvState.url}/keys/${name}/${version}`;
    },
    setKeyVersionEnabled(name: string, version: string, enabled: boolean): void {
      const found = kvState.keys.get(name.toLowerCase())?.find((v) => v.version === version);
      if (!found) throw new Error(`no version ${version} of key ${name}`);
      found.enabled = enabled;
    },
    deleteKey(name: string): void {
      kvState.keys.delete(name.toLowerCase());
    },
    setSecret(name: string, value: string): string {
      const version = randomBytes(16).toString('hex');
      const list = kvState.secrets.get(name.toLowerCase()) ?? [];
      list.push({ version, value });
      kvState.secrets.set(name.toLowerCase(), list);
      kvState.denials.delete(name.toLowerCase());
      return version;
    },
    deny(name: string, denial?: KeyVaultDenial): void {
      kvState.denials.set(
        name.toLowerCase(),
        denial ?? {
          status: 403,
          code: 'Forbidden',
          innerCode: 'ForbiddenByRbac',
          message: `Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid=${identity.principalId};oid=${identity.principalId}\r\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\nResource: '/secrets/${name}'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\n`,
        },
      );
    },
  };
  const kvServer = https.createServer({ cert: tls.cert, key: tls.key }, keyVaultHandler(identity, kvState));

  const armState: ArmState = {
    url: '',
    requests: [] as SeenRequest[],
    permissions: new Map<string, ArmPermission[] | 'forbidden'>(),
    callerTokens: new Map<string, string[]>(),
    assignments: [],
    setPermissions(resourceId: string, permissions: ArmPermission[] | 'forbidden'): void {
      armState.permissions.set(resourceId.toLowerCase(), permissions);
    },
    issueCallerToken(canAssignAt: string[]): string {
      const token = `caller-${randomBytes(24).toString('base64url')}`;
      armState.callerTokens.set(token, canAssignAt);
      return token;
    },
  };
  const armServer = https.createServer({ cert: tls.cert, key: tls.key }, armHandler(identity, armState));
  const stopAll = async (): Promise<void> => {
    await Promise.all([identityServer, kvServer, armServer].filter((srv) => srv.listening).map((srv) => close(srv)));
  };
  try {
    kvState.url = `https://127.0.0.1:${await listen(kvServer)}`;
    armState.url = `https://127.0.0.1:${await listen(armServer)}`;
  } catch (err) {
    await stopAll();
    throw err;
  }

  return {
    identity,
    keyVault: kvState,
    arm: armState,
    ca: tls.cert,
    stop: stopAll,
  };
}

/**
 * Starts the stand-ins around the calling test file and points the real managed-identity credential at them, by the
 * App Service contract (the platform sets IDENTITY_ENDPOINT and IDENTITY_HEADER; MSAL reads them); the environment
 * is restored and the stand-ins stopped afterwards. `onStarted` receives them once they listen.
 */
export function useAzureStandins(onStarted: (standins: AzureStandins) => void): void {
  let standins: AzureStandins | undefined;
  const savedEnv = { IDENTITY_ENDPOINT: process.env.IDENTITY_ENDPOINT, IDENTITY_HEADER: process.env.IDENTITY_HEADER };
  beforeAll(async () => {
    standins = await startAzureStandins();
    process.env.IDENTITY_ENDPOINT = standins.identity.endpoint;
    process.env.IDENTITY_HEADER = standins.identity.header;
    onStarted(standins);
  });
  afterAll(async () => {
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await standins?.stop();
  });
}
