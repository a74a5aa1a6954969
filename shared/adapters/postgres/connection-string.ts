// Parses the connection strings a secret may hold (ADO.NET as Azure Backup takes them, libpq URIs and key=value)
// into a PgConnection, and turns one into what pg_dump (env) and the `pg` client (ClientConfig) need.

import { Client, DatabaseError, type ClientConfig } from 'pg';
import { PgkeepError } from '../../errors';
import type { PgConnection, SslMode } from '../../ports';

export interface ParseConnectionStringOptions {
  /** The database to connect to, overriding the one in the text (a backup instance's `resourceName`). */
  database?: string;
}

type Field = 'host' | 'port' | 'database' | 'user' | 'password' | 'sslMode';

// Keys are compared lower-cased with spaces and underscores removed, so "Ssl Mode", "SslMode", "sslmode" and
// "SSL_MODE" are one key. Keys the table does not know are ignored: Npgsql options such as "Trust Server Certificate"
// or "Pooling" do not change how a dump connects, and naming them in an error could echo part of a badly quoted value.
const keyAliases: Readonly<Record<string, Field>> = {
  server: 'host',
  host: 'host',
  datasource: 'host',
  address: 'host',
  addr: 'host',
  hostaddr: 'host',
  port: 'port',
  database: 'database',
  initialcatalog: 'database',
  dbname: 'database',
  db: 'database',
  userid: 'user',
  user: 'user',
  username: 'user',
  uid: 'user',
  password: 'password',
  pwd: 'password',
  sslmode: 'sslMode',
};

// Npgsql spellings (Disable … VerifyFull) and libpq ones (disable … verify-full), compared without case and dashes.
const sslModes: Readonly<Record<string, SslMode>> = {
  disable: 'disable',
  allow: 'allow',
  prefer: 'prefer',
  require: 'require',
  verifyca: 'verify-ca',
  verifyfull: 'verify-full',
};

const normaliseKey = (key: string): string => key.toLowerCase().replace(/[\s_]+/g, '');

function unsupported(message: string): PgkeepError {
  // Messages name what is wrong, never a value: any value might be (part of) the password.
  return new PgkeepError('UserErrorSecretValueInUnsupportedFormat', `the connection string ${message}`);
}

/**
 * Parses an ADO.NET (`Server=…;Port=…;…`), libpq URI (`postgresql://…`) or libpq key=value (`host=… dbname=…`)
 * connection string. Throws PgkeepError UserErrorSecretValueInUnsupportedFormat naming what is wrong; the error
 * never contains the text or any part of it.
 */
export function parseConnectionString(text: string, options: ParseConnectionStringOptions = {}): PgConnection {
  const trimmed = text.trim();
  if (trimmed === '') throw unsupported('is empty');
  let fields: Partial<Record<Field, string>>;
  if (/^postgres(ql)?:\/\//i.test(trimmed)) fields = parseUri(trimmed);
  // Any ";" means ADO.NET: libpq's key=value form separates pairs with whitespace and rarely holds a ";".
  else if (trimmed.includes(';')) fields = parsePairs(splitAdoPairs(trimmed));
  else fields = parsePairs(splitLibpqPairs(trimmed));
  return toConnection(fields, options);
}

function toConnection(fields: Partial<Record<Field, string>>, options: ParseConnectionStringOptions): PgConnection {
  let host = fields.host ?? '';
  let portText = fields.port;
  if (host === '') throw unsupported('has no host (Server=… or postgresql://host/…)');
  if (host.includes(',')) throw unsupported('names several hosts; name exactly one');
  // Npgsql accepts "host:port" in Server; a bracketed IPv6 address may carry a port the same way.
  const hostPort = /^\[([^\]]+)\](?::(\d*))?$/.exec(host) ?? /^([^:[\]]+):(\d*)$/.exec(host);
  if (hostPort) {
    host = hostPort[1] ?? '';
    if (hostPort[2] !== undefined) {
      if (portText !== undefined && portText !== hostPort[2]) throw unsupported('names two different ports');
      portText = hostPort[2];
    }
  }
  const port = portText === undefined || portText.trim() === '' ? 5432 : parsePort(portText.trim());
  const user = fields.user ?? '';
  if (user === '') throw unsupported('has no user (User Id=… or postgresql://user@host/…)');
  const database = options.database ?? fields.database ?? '';
  if (database === '') throw unsupported('has no database (Database=… or postgresql://host/database)');
  let sslMode: SslMode = 'prefer';
  if (fields.sslMode !== undefined && fields.sslMode.trim() !== '') {
    const mode = sslModes[fields.sslMode.toLowerCase().replace(/[\s_-]+/g, '')];
    if (mode === undefined)
      throw unsupported('has an unknown Ssl Mode; use Disable, Allow, Prefer, Require, VerifyCA or VerifyFull');
    sslMode = mode;
  }
  return { host, port, database, user, password: fields.password ?? '', sslMode };
}

function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text)) throw unsupported('has a port that is not a number from 1 to 65535');
  const port = Number(text);
  if (port < 1 || port > 65535) throw unsupported('has a port that is not a number from 1 to 65535');
  return port;
}

function parsePairs(pairs: Iterable<[string, string]>): Partial<Record<Field, string>> {
  const fields: Partial<Record<Field, string>> = {};
  // As in DbConnectionStringBuilder, a repeated key's last value wins.
  for (const [key, value] of pairs) {
    const field = keyAliases[normaliseKey(key)];
    if (field !== undefined) fields[field] = value;
  }
  return fields;
}

/**
 * ADO.NET pairs: `key=value` separated by `;`; a value may be quoted with `'` or `"` (then `;` and `=` are literal
 * and a doubled quote is one quote); unquoted values are trimmed; empty segments are skipped.
 */
function* splitAdoPairs(text: string): Generator<[string, string]> {
  let i = 0;
  const n = text.length;
  while (i < n) {
    const eq = text.indexOf('=', i);
    const semi = text.indexOf(';', i);
    if (eq === -1 || (semi !== -1 && semi < eq)) {
      // A segment without "=": only whitespace is allowed there.
      const end = semi === -1 ? n : semi;
      if (text.slice(i, end).trim() !== '') throw unsupported('has a part without "key=value"');
      i = end + 1;
      continue;
    }
    const key = text.slice(i, eq).trim();
    if (key === '') throw unsupported('has a value without a key');
    let j = eq + 1;
    while (j < n && /\s/.test(text.charAt(j))) j++;
    const q = text.charAt(j);
    let value: string;
    if (q === '"' || q === "'") {
      let out = '';
      j++;
      for (;;) {
        if (j >= n) throw unsupported('has a quoted value without its closing quote');
        const c = text.charAt(j);
        if (c === q) {
          if (text.charAt(j + 1) === q) {
            out += q;
            j += 2;
            continue;
          }
          j++;
          break;
        }
        out += c;
        j++;
      }
      while (j < n && /\s/.test(text.charAt(j))) j++;
      if (j < n && text.charAt(j) !== ';') throw unsupported('has text after a closing quote');
      value = out;
    } else {
      const end = text.indexOf(';', j);
      value = text.slice(j, end === -1 ? n : end).trim();
      j = end === -1 ? n : end;
    }
    yield [key, value];
    i = j + 1;
  }
}

/** libpq key=value pairs: whitespace-separated; a value may be single-quoted, with `\'` and `\\` escapes. */
function* splitLibpqPairs(text: string): Generator<[string, string]> {
  let i = 0;
  const n = text.length;
  const skipSpace = (): void => {
    while (i < n && /\s/.test(text.charAt(i))) i++;
  };
  for (;;) {
    skipSpace();
    if (i >= n) return;
    const keyStart = i;
    while (i < n && text.charAt(i) !== '=' && !/\s/.test(text.charAt(i))) i++;
    const key = text.slice(keyStart, i);
    skipSpace();
    if (text.charAt(i) !== '=' || key === '') throw unsupported('has a part without "key=value"');
    i++;
    skipSpace();
    let value = '';
    if (text.charAt(i) === "'") {
      i++;
      for (;;) {
        if (i >= n) throw unsupported('has a quoted value without its closing quote');
        const c = text.charAt(i);
        if (c === '\\' && i + 1 < n) {
          value += text.charAt(i + 1);
          i += 2;
        } else if (c === "'") {
          i++;
          break;
        } else {
          value += c;
          i++;
        }
      }
    } else {
      while (i < n && !/\s/.test(text.charAt(i))) {
        const c = text.charAt(i);
        if (c === '\\' && i + 1 < n) {
          value += text.charAt(i + 1);
          i += 2;
        } else {
          value += c;
          i++;
        }
      }
    }
    yield [key, value];
  }
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw unsupported(`has an invalid percent-encoding in the ${what}`);
  }
}

/**
 * `postgres[ql]://[user[:password]@][host][:port][/dbname][?key=value&…]`, as libpq reads it. The user info ends at
 * the last `@` before the path, so an unencoded `@` in a password still works; `/`, `?` and `#` in a password must
 * be percent-encoded, as libpq requires.
 */
function parseUri(text: string): Partial<Record<Field, string>> {
  const rest = text.slice(text.indexOf('://') + 3);
  const authorityEnd = rest.search(/[/?]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  const tail = authorityEnd === -1 ? '' : rest.slice(authorityEnd);
  const fields: Partial<Record<Field, string>> = {};
  const at = authority.lastIndexOf('@');
  let hostPart = authority;
  if (at !== -1) {
    const userInfo = authority.slice(0, at);
    hostPart = authority.slice(at + 1);
    const colon = userInfo.indexOf(':');
    fields.user = decode(colon === -1 ? userInfo : userInfo.slice(0, colon), 'user name');
    if (colon !== -1) fields.password = decode(userInfo.slice(colon + 1), 'password');
  }
  if (hostPart !== '') {
    const m = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(hostPart);
    if (!m) throw unsupported('has an invalid host');
    const host = decode(m[1] ?? '', 'host');
    fields.host = host.startsWith('[') ? host.slice(1, -1) : host;
    if (m[2] !== undefined) fields.port = m[2];
  }
  const q = tail.indexOf('?');
  const path = q === -1 ? tail : tail.slice(0, q);
  if (path.length > 1) fields.database = decode(path.slice(1), 'database name');
  if (q !== -1) {
    const params = tail
      .slice(q + 1)
      .split('&')
      .filter((p) => p !== '');
    const pairs: [string, string][] = params.map((p) => {
      const eq = p.indexOf('=');
      if (eq === -1) throw unsupported('has a query parameter without "="');
      return [decode(p.slice(0, eq), 'query'), decode(p.slice(eq + 1), 'query')];
    });
    Object.assign(fields, parsePairs(pairs));
  }
  return fields;
}

export interface PgEnvOptions {
  /** libpq's PGCONNECT_TIMEOUT; default 30. libpq treats values below 2 as 2. */
  connectTimeoutSeconds?: number;
  /**
   * CA bundle for verify-ca/verify-full (PGSSLROOTCERT). libpq's own default is ~/.postgresql/root.crt, which does
   * not exist in the app, and `system` needs libpq 16+; so the default is Debian's bundle of the public roots.
   */
  sslRootCertFile?: string;
}

/**
 * The environment for a libpq child (pg_dump, pg_restore, psql). The password travels here, never in argv.
 * Merge it over a minimal base env: an inherited PGSERVICE or PGPASSFILE would otherwise change the target.
 */
export function pgEnv(conn: PgConnection, options: PgEnvOptions = {}): Record<string, string> {
  const env: Record<string, string> = {
    PGHOST: conn.host,
    PGPORT: String(conn.port),
    PGUSER: conn.user,
    PGDATABASE: conn.database,
    PGSSLMODE: conn.sslMode,
    PGCONNECT_TIMEOUT: String(options.connectTimeoutSeconds ?? 30),
  };
  if (conn.sslMode === 'verify-ca' || conn.sslMode === 'verify-full') {
    env.PGSSLROOTCERT = options.sslRootCertFile ?? '/etc/ssl/certs/ca-certificates.crt';
  }
  if (conn.password !== '') env.PGPASSWORD = conn.password;
  return env;
}

export interface PgClientConfigOptions {
  connectTimeoutMs?: number;
  /** PEM CA(s) to trust for verify-ca/verify-full instead of Node's public roots (pgEnv's sslRootCertFile). */
  ca?: string;
}

/**
 * A `pg` ClientConfig that honours sslMode. `pg` cannot fall back between TLS and plain within one connect, so:
 * disable and allow connect in plain text; prefer and require encrypt without verifying the certificate (libpq's
 * require); verify-ca checks the chain against Node's public roots (or `ca`); verify-full also checks the host name.
 * `connectPgClient` adds libpq's prefer/allow fallback.
 */
export function pgClientConfig(conn: PgConnection, options: PgClientConfigOptions = {}): ClientConfig {
  return pgClientConfigAttempts(conn, options)[0] as ClientConfig;
}

/**
 * The configs to try in order to behave like libpq: prefer = TLS, then plain if the server has no TLS; allow =
 * plain, then TLS if the server refuses plain. Every other mode has exactly one attempt.
 */
export function pgClientConfigAttempts(conn: PgConnection, options: PgClientConfigOptions = {}): ClientConfig[] {
  const base: ClientConfig = {
    host: conn.host,
    port: conn.port,
    user: conn.user,
    password: conn.password,
    database: conn.database,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 30_000,
  };
  const ca = options.ca === undefined ? {} : { ca: options.ca };
  const plain: ClientConfig = { ...base, ssl: false };
  const unverified: ClientConfig = { ...base, ssl: { rejectUnauthorized: false } };
  switch (conn.sslMode) {
    case 'disable':
      return [plain];
    case 'allow':
      return [plain, unverified];
    case 'prefer':
      return [unverified, plain];
    case 'require':
      return [unverified];
    case 'verify-ca':
      // Node verifies the host name unless checkServerIdentity is overridden; verify-ca checks the chain only.
      return [{ ...base, ssl: { rejectUnauthorized: true, checkServerIdentity: () => undefined, ...ca } }];
    case 'verify-full':
      // pg sets the TLS servername to the host (not for IP addresses), so Node checks the name against it.
      return [{ ...base, ssl: { rejectUnauthorized: true, ...ca } }];
  }
}

/**
 * Connects a `pg` client the way libpq would for the connection's sslMode, falling back between TLS and plain for
 * prefer (server without TLS) and allow (server refusing plain). Every other failure is thrown as `pg` raised it.
 */
export async function connectPgClient(conn: PgConnection, options: PgClientConfigOptions = {}): Promise<Client> {
  const attempts = pgClientConfigAttempts(conn, options);
  for (let i = 0; ; i++) {
    const client = new Client(attempts[i]);
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      const fallBack =
        i + 1 < attempts.length &&
        (conn.sslMode === 'prefer'
          ? err instanceof Error && err.message === 'The server does not support SSL connections'
          : err instanceof DatabaseError && err.code === '28000');
      if (!fallBack) throw err;
    }
  }
}

/**
 * Removes the password (and its percent-encoded form, as it appears in URIs) from text such as a child's stderr.
 * Every occurrence goes, even inside other words: a leaked secret costs more than a garbled log line.
 */
export function redact(text: string, conn: Pick<PgConnection, 'password'>): string {
  const { password } = conn;
  if (password === '') return text;
  let out = text.split(password).join('***');
  const encoded = encodeURIComponent(password);
  if (encoded !== password) out = out.split(encoded).join('***');
  return out;
}
