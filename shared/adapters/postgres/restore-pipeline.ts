// Restore as a new database (design §6): creates the database, streams the stored dump through zstd into
// pg_restore (or stages it to a temp file for a parallel restore), checks the SHA-256, and classifies pg_restore's
// errors into ignorable warnings (ownership, privileges) and failures. A failed restore drops what it created.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DatabaseError, escapeIdentifier, escapeLiteral, type Client } from 'pg';
import { PgkeepError } from '../../errors';
import type { PgClientTools, PgConnection } from '../../ports';
import { connectPgClient, pgEnv, redact } from './connection-string';
import { classifyConnectError } from './pg-readiness';
import {
  integrityError,
  matchesManifest,
  openDecompressedSource,
  type DecompressedSource,
  type SourceDigest,
} from '../storage/restore-source';
import { pgConnectionLost } from '../network-errors';

export type RestoreOwner = 'none' | 'keep' | { readonly role: string };

export interface RestoreSelection {
  /** Restore only these schemas (exact names). */
  readonly schemas?: readonly string[];
  /** Restore only these tables' definitions and data: "table" (any schema) or "schema.table" (split at the first dot). */
  readonly tables?: readonly string[];
  /** Default 'none': objects belong to the restoring user (roles are not in a dump). */
  readonly owner?: RestoreOwner;
  /** > 1: stage the archive to a temp file and run `pg_restore --jobs`. Default 1 (streamed, no staging). */
  readonly jobs?: number;
}

export interface RestoreAsDatabaseOptions {
  /** The stored (zstd-compressed) dump bytes, e.g. a blob download stream. Called once. */
  readonly source: () => Promise<NodeJS.ReadableStream>;
  readonly expectedSha256: string;
  readonly expectedBytes: number;
  /** The target server, as a user that may CREATE DATABASE; `database` is the NEW database's name. */
  readonly target: PgConnection;
  /** From pickPgRestore. */
  readonly tools: Pick<PgClientTools, 'pgRestore' | 'version'>;
  readonly options?: RestoreSelection;
  /** Stored bytes read so far; throttled to once per second or per 16 MiB, plus once at the end. */
  readonly onProgress?: (bytesRead: number) => void;
  readonly abortSignal?: AbortSignal;
  /** Where a parallel restore stages the archive; default os.tmpdir(). */
  readonly tempDir?: string;
  /** Default `zstd` from PATH. */
  readonly zstdPath?: string;
  /** The key of a client-side encrypted dump (its manifest's encryption.keyId names it). */
  readonly decryptionKey?: Buffer;
  /** COMMENT ON DATABASE set right after CREATE DATABASE (restore tests mark their scratch databases with it). */
  readonly databaseComment?: string;
}

export interface RestoreWarning {
  /** OwnerNotSet | PrivilegeNotSet | ExtensionCommentNotSet | SecurityLabelNotSet | MoreWarnings */
  readonly code: string;
  readonly message: string;
}

export interface RestoreAsDatabaseResult {
  readonly status: 'Succeeded' | 'SucceededWithWarnings';
  readonly warnings: readonly RestoreWarning[];
  /** Stored (compressed) bytes read. */
  readonly bytesRead: number;
  readonly sha256: string;
}

const PROGRESS_INTERVAL_MS = 1_000;
const PROGRESS_BYTES = 16 * 1024 * 1024;
const MAX_WARNINGS = 100;
const MAX_JOBS = 32;
const MAX_IDENTIFIER_BYTES = 63;

// Statements whose failure leaves the data intact: who owns or may use an object. Managed servers refuse many of
// them (no superuser; roles of the source server missing), so they become warnings rather than failures.
const IGNORABLE: readonly { readonly code: string; readonly command: RegExp }[] = [
  { code: 'OwnerNotSet', command: /^ALTER\s[\s\S]*\sOWNER TO\s/i },
  { code: 'PrivilegeNotSet', command: /^(GRANT|REVOKE|ALTER DEFAULT PRIVILEGES)\s/i },
  { code: 'ExtensionCommentNotSet', command: /^COMMENT ON EXTENSION\s/i },
  { code: 'SecurityLabelNotSet', command: /^SECURITY LABEL\s/i },
];

/**
 * Restores a recovery point into a new database `target.database` and returns how it went; throws PgkeepError:
 * UserErrorInvalidRequest (bad options or name), UserErrorDatabaseNameAlreadyInUse (nothing created or dropped),
 * the readiness codes for an unreachable server or a failed login, UserErrorMissingDBPermissions (no CREATEDB),
 * SystemErrorIntegrityCheckFailed (stored bytes ≠ manifest; wins over any pg_restore failure),
 * UserErrorServerConnectionClosed, SystemErrorRestoreFailed. Every failure after the database was created drops it
 * (if the server still answers).
 *
 * pg_restore runs without --exit-on-error: it goes on past a failed statement and lists every one, so ownership
 * and privilege errors can be told from real ones. Any other error fails the restore as a whole.
 */
export async function restoreAsDatabase(options: RestoreAsDatabaseOptions): Promise<RestoreAsDatabaseResult> {
  const { target } = options;
  const selection = options.options ?? {};
  const { args, schemas } = planRestore(target, selection);
  const jobs = selection.jobs ?? 1;
  throwIfAborted(options.abortSignal);

  await createTargetDatabase(target, selection.owner ?? 'none', options.databaseComment);
  let outcome: Outcome;
  try {
    await createSchemas(target, schemas, selection.owner ?? 'none');
    outcome = jobs > 1 ? await restoreFromTempFile(options, args, jobs) : await restoreStreamed(options, args);
  } catch (err) {
    outcome = { failure: err instanceof PgkeepError ? err : internalError(err, target) };
  }
  if (outcome.failure !== undefined) {
    const dropped = await dropDatabase(target);
    if (dropped !== undefined) {
      throw new PgkeepError(outcome.failure.code, `${outcome.failure.message} (${dropped})`, {
        cause: outcome.failure,
      });
    }
    throw outcome.failure;
  }
  return outcome.result;
}

type Outcome = { failure: PgkeepError; result?: never } | { failure?: never; result: RestoreAsDatabaseResult };

/** The target server's major version (to pick pg_restore with), read over a maintenance connection. */
export async function readTargetServerMajor(target: PgConnection): Promise<number> {
  const client = await connectMaintenance(target);
  try {
    return await serverMajor(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

// --- pg_restore arguments -----------------------------------------------------------------------------------------

function invalid(target: string, message: string): PgkeepError {
  return new PgkeepError('UserErrorInvalidRequest', message, { target });
}

/** libpq conninfo value quoting: the database name cannot be taken for a connection string whatever it holds. */
function conninfoValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function checkName(value: unknown, target: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (typeof value !== 'string' || value === '' || /[\0-\x1f\x7f]/.test(value)) {
    throw invalid(target, `${target} must be a non-empty name without control characters`);
  }
  if (Buffer.byteLength(value) > MAX_IDENTIFIER_BYTES) {
    throw invalid(target, `${target} is longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES}-byte limit for names`);
  }
  return value;
}

export interface RestorePlan {
  /** pg_restore's arguments without the input file and --jobs. */
  readonly args: string[];
  /** Schemas to create before pg_restore runs: its -n restores a schema's objects but not the schema itself. */
  readonly schemas: string[];
}

/**
 * Validates the selection and turns it into pg_restore's arguments. Connection details travel in the environment (pgEnv); argv holds
 * the database name only, as a conninfo `dbname='…'`. Tablespaces are never restored (the target server's layout
 * is unrelated to the source's).
 *
 * pg_restore's -n and -t combine as "schema in -n AND name in -t", and -t takes no schema. So "schema.table"
 * entries must all name one schema and cannot be mixed with bare names; otherwise the selection would silently be
 * wider than asked.
 */
export function planRestore(target: Pick<PgConnection, 'database'>, selection: RestoreSelection): RestorePlan {
  const database = checkName(target.database, 'database name');
  const args = ['--verbose', '--no-password', '--no-tablespaces', `--dbname=dbname=${conninfoValue(database)}`];
  const owner = selection.owner ?? 'none';
  if (owner === 'none') args.push('--no-owner');
  else if (owner !== 'keep') {
    if (typeof owner !== 'object' || owner === null)
      throw invalid('options.owner', 'owner must be none, keep or { role }');
    args.push('--no-owner', `--role=${checkName(owner.role, 'options.owner.role')}`);
  }
  const schemas = (selection.schemas ?? []).map((s, i) => checkName(s, `options.schemas[${i}]`));
  const tables = (selection.tables ?? []).map((t, i) => {
    const text = checkName(t, `options.tables[${i}]`);
    const dot = text.indexOf('.');
    return dot === -1
      ? { schema: undefined, name: text }
      : {
          schema: checkName(text.slice(0, dot), `options.tables[${i}]`),
          name: checkName(text.slice(dot + 1), `options.tables[${i}]`),
        };
  });
  const tableSchemas = new Set(tables.map((t) => t.schema));
  if (tableSchemas.size > 1) {
    throw invalid(
      'options.tables',
      'the tables must all be bare names or all name the same schema ("schema.table"); restore tables of different schemas in separate restores',
    );
  }
  const tableSchema = tables[0]?.schema;
  if (tableSchema !== undefined && schemas.length > 0 && !(schemas.length === 1 && schemas[0] === tableSchema)) {
    throw invalid('options.schemas', 'options.schemas contradicts the schema named in options.tables');
  }
  const selectedSchemas = tableSchema === undefined ? schemas : [tableSchema];
  for (const schema of selectedSchemas) args.push(`--schema=${schema}`);
  for (const table of tables) args.push(`--table=${table.name}`);
  const jobs = selection.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > MAX_JOBS) {
    throw invalid('options.jobs', `options.jobs must be a whole number from 1 to ${MAX_JOBS}`);
  }
  return { args, schemas: selectedSchemas };
}

// --- the database: create and drop ---------------------------------------------------------------------------------

/**
 * Connects to the target server's maintenance database: `postgres`, or `template1` where a server has none (both
 * always accept CREATE DATABASE). Connection failures throw the readiness codes (design §8).
 */
export async function connectMaintenance(target: PgConnection): Promise<Client> {
  for (const database of ['postgres', 'template1']) {
    const conn = { ...target, database };
    try {
      return await connectPgClient(conn, { connectTimeoutMs: 30_000 });
    } catch (err) {
      if (err instanceof DatabaseError && err.code === '3D000' && database === 'postgres') continue;
      const check = classifyConnectError(err, conn);
      throw new PgkeepError(check.code ?? 'SystemErrorInternal', check.message, {
        target: 'target',
        ...(check.remediation === undefined ? {} : { hint: check.remediation }),
        cause: err,
      });
    }
  }
  throw new PgkeepError('SystemErrorInternal', 'unreachable');
}

async function serverMajor(client: Client): Promise<number> {
  const { rows } = await client.query<{ n: string }>("SELECT current_setting('server_version_num') AS n");
  return Math.floor(Number(rows[0]?.n ?? '0') / 10_000);
}

function describeTarget(target: PgConnection): string {
  return `database "${target.database}" on ${target.host}:${target.port}`;
}

/** CREATE DATABASE from template0 (a clean copy: nothing added to template1 can collide with the dump's objects). */
async function createTargetDatabase(target: PgConnection, owner: RestoreOwner, comment?: string): Promise<void> {
  const client = await connectMaintenance(target);
  try {
    const ownerClause = typeof owner === 'object' ? ` OWNER ${escapeIdentifier(owner.role)}` : '';
    await client.query(`CREATE DATABASE ${escapeIdentifier(target.database)} TEMPLATE template0${ownerClause}`);
    if (comment !== undefined) {
      await client.query(`COMMENT ON DATABASE ${escapeIdentifier(target.database)} IS ${escapeLiteral(comment)}`);
    }
  } catch (err) {
    const where = describeTarget(target);
    const text = redact(err instanceof Error ? err.message : String(err), target);
    if (err instanceof DatabaseError) {
      if (err.code === '42P04') {
        throw new PgkeepError('UserErrorDatabaseNameAlreadyInUse', `${where} already exists`, {
          target: 'database name',
        });
      }
      if (err.code === '42704' && typeof owner === 'object') {
        throw invalid('options.owner.role', `cannot create ${where}: ${text}`);
      }
      if (err.code === '42501') {
        throw new PgkeepError(
          'UserErrorMissingDBPermissions',
          `user "${target.user}" cannot create ${where}: ${text}`,
          {
            target: 'target',
            hint: 'give the restoring user CREATEDB (and membership in the owner role, if one is named), then retry',
          },
        );
      }
    }
    throw new PgkeepError('SystemErrorRestoreFailed', `cannot create ${where}: ${text}`, { cause: err });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates the selected schemas in the new database (owned by the owner role when one is named). */
async function createSchemas(target: PgConnection, schemas: readonly string[], owner: RestoreOwner): Promise<void> {
  if (schemas.length === 0) return;
  let client: Client;
  try {
    client = await connectPgClient(target, { connectTimeoutMs: 30_000 });
  } catch (err) {
    const check = classifyConnectError(err, target);
    throw new PgkeepError(check.code ?? 'SystemErrorInternal', check.message, { target: 'target', cause: err });
  }
  try {
    const authorization = typeof owner === 'object' ? ` AUTHORIZATION ${escapeIdentifier(owner.role)}` : '';
    for (const schema of schemas) {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${escapeIdentifier(schema)}${authorization}`);
    }
  } catch (err) {
    const text = redact(err instanceof Error ? err.message : String(err), target);
    throw new PgkeepError(
      'SystemErrorRestoreFailed',
      `cannot create the selected schemas in ${describeTarget(target)}: ${text}`,
      {
        cause: err,
      },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Drops the database this restore created. Returns a note for the error message when it could not. */
export async function dropDatabase(target: PgConnection): Promise<string | undefined> {
  try {
    const client = await connectMaintenance(target);
    try {
      const force = (await serverMajor(client)) >= 13 ? ' WITH (FORCE)' : '';
      await client.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(target.database)}${force}`);
      return undefined;
    } finally {
      await client.end().catch(() => undefined);
    }
  } catch (err) {
    const text = redact(err instanceof Error ? err.message : String(err), target);
    return `the partly restored database could not be dropped and must be dropped by hand: ${text}`;
  }
}

// --- running pg_restore --------------------------------------------------------------------------------------------

function throttledProgress(onProgress: ((bytes: number) => void) | undefined): {
  update(bytes: number): void;
  final(bytes: number): void;
} {
  let last = { at: 0, bytes: 0 };
  return {
    update(bytes) {
      const now = Date.now();
      if (now - last.at < PROGRESS_INTERVAL_MS && bytes - last.bytes < PROGRESS_BYTES) return;
      last = { at: now, bytes };
      onProgress?.(bytes);
    },
    final(bytes) {
      onProgress?.(bytes);
    },
  };
}

function spawnPgRestore(
  options: RestoreAsDatabaseOptions,
  args: readonly string[],
): {
  child: ChildProcess & { stdin: NonNullable<ChildProcess['stdin']> };
  output: PgRestoreOutput;
  exited: Promise<Exit>;
} {
  const child = spawn(options.tools.pgRestore, [...args], {
    // The password travels in the child's environment only; argv is world-readable in /proc.
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      LC_ALL: 'C',
      ...pgEnv(options.target),
      PGAPPNAME: 'pgkeep-restore',
    },
    stdio: ['pipe', 'ignore', 'pipe'],
  }) as ChildProcess & { stdin: NonNullable<ChildProcess['stdin']> };
  child.stdin.on('error', () => undefined);
  const output = new PgRestoreOutput();
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    output.push(s);
    // A lost connection dooms the restore; pg_restore would otherwise go on failing entry after entry.
    if (output.connectionLost && child.exitCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise<Exit>((resolve) => {
    child.once('error', (err) => resolve({ code: null, signal: null, spawnError: err.message }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  return { child, output, exited };
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly spawnError?: string;
}

async function restoreStreamed(options: RestoreAsDatabaseOptions, args: readonly string[]): Promise<Outcome> {
  const progress = throttledProgress(options.onProgress);
  const source = await openDecompressedSource(options.source, {
    onBytes: (b) => progress.update(b),
    ...(options.zstdPath === undefined ? {} : { zstdPath: options.zstdPath }),
    ...(options.decryptionKey === undefined ? {} : { decryptionKey: options.decryptionKey }),
  });
  const restore = spawnPgRestore(options, args);
  const aborted = watchAbort(options.abortSignal, source, restore.child);
  source.archive.pipe(restore.child.stdin);
  // pg_restore stopped reading (done or failed): keep the source flowing into the digest.
  void restore.exited.then(() => source.discardArchive());
  const [exit, digest] = await Promise.all([restore.exited, source.done]);
  restore.output.end();
  aborted.dispose();
  progress.final(digest.bytes);
  return judge(options, digest, exit, restore.output, aborted.happened());
}

async function restoreFromTempFile(
  options: RestoreAsDatabaseOptions,
  args: readonly string[],
  jobs: number,
): Promise<Outcome> {
  const progress = throttledProgress(options.onProgress);
  // mkdtemp makes the directory 0700; the file is 0600 on top: the archive holds the database's data.
  const dir = await mkdtemp(path.join(options.tempDir ?? tmpdir(), 'pgkeep-restore-'));
  try {
    const file = path.join(dir, 'archive.dump');
    const source = await openDecompressedSource(options.source, {
      onBytes: (b) => progress.update(b),
      ...(options.zstdPath === undefined ? {} : { zstdPath: options.zstdPath }),
      ...(options.decryptionKey === undefined ? {} : { decryptionKey: options.decryptionKey }),
    });
    const staging = watchAbort(options.abortSignal, source, undefined);
    const written = pipeline(source.archive, createWriteStream(file, { mode: 0o600 })).then(
      () => undefined,
      (err: unknown) => {
        source.discardArchive();
        return err instanceof Error ? err : new Error(String(err));
      },
    );
    const [writeError, digest] = await Promise.all([written, source.done]);
    staging.dispose();
    progress.final(digest.bytes);
    // Verified before pg_restore sees a byte: a parallel restore never starts from a corrupt archive.
    const early = digestFailure(options, digest, staging.happened());
    if (early !== undefined) return { failure: early };
    if (writeError !== undefined) {
      return {
        failure: new PgkeepError(
          'SystemErrorRestoreFailed',
          `cannot stage the archive for a parallel restore of ${describeTarget(options.target)} in ${dir}: ${writeError.message}`,
        ),
      };
    }
    const restore = spawnPgRestore(options, [...args, `--jobs=${jobs}`, file]);
    restore.child.stdin.end();
    const aborted = watchAbort(options.abortSignal, undefined, restore.child);
    const exit = await restore.exited;
    restore.output.end();
    aborted.dispose();
    return judge(options, digest, exit, restore.output, aborted.happened());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function watchAbort(
  signal: AbortSignal | undefined,
  source: DecompressedSource | undefined,
  child: ChildProcess | undefined,
): { dispose(): void; happened(): boolean } {
  let happened = false;
  const onAbort = (): void => {
    happened = true;
    source?.destroy();
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted === true) onAbort();
  return { dispose: () => signal?.removeEventListener('abort', onAbort), happened: () => happened };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new PgkeepError('SystemErrorRestoreFailed', 'the restore was cancelled');
}

/** Failures told by the stored bytes alone, in order: cancelled, unreadable source, integrity. */
function digestFailure(
  options: RestoreAsDatabaseOptions,
  digest: SourceDigest,
  aborted: boolean,
): PgkeepError | undefined {
  if (aborted)
    return new PgkeepError(
      'SystemErrorRestoreFailed',
      `the restore of ${describeTarget(options.target)} was cancelled`,
    );
  if (digest.sourceError !== undefined) {
    return new PgkeepError(
      'SystemErrorRestoreFailed',
      `reading the recovery point failed after ${digest.bytes} bytes: ${redact(digest.sourceError.message, options.target)}`,
    );
  }
  if (!matchesManifest(digest, options.expectedSha256, options.expectedBytes)) {
    return integrityError(digest, options.expectedSha256, options.expectedBytes);
  }
  if (!digest.decompressed) {
    return new PgkeepError(
      'SystemErrorRestoreFailed',
      `zstd cannot decompress the recovery point: ${digest.zstdError}`,
    );
  }
  return undefined;
}

function judge(
  options: RestoreAsDatabaseOptions,
  digest: SourceDigest,
  exit: Exit,
  output: PgRestoreOutput,
  aborted: boolean,
): Outcome {
  const early = digestFailure(options, digest, aborted);
  if (early !== undefined) return { failure: early };
  const where = describeTarget(options.target);
  const scrub = (s: string): string => redact(s, options.target).trim();
  if (exit.spawnError !== undefined) {
    return {
      failure: new PgkeepError('SystemErrorRestoreFailed', `cannot start pg_restore: ${scrub(exit.spawnError)}`),
    };
  }
  if (output.connectionLost) {
    return {
      failure: new PgkeepError(
        'UserErrorServerConnectionClosed',
        `pg_restore into ${where} lost its connection: ${scrub(output.describeFailure())}`,
      ),
    };
  }
  const cleanExit = exit.code === 0 && output.fatalCount === 0 && output.warningCount === 0;
  // Exit code 1 with only ignorable errors; pg_restore's own count must agree, so an error we did not parse
  // (a message in an unexpected shape) fails the restore rather than hide.
  const onlyIgnorable =
    exit.code === 1 &&
    output.fatalCount === 0 &&
    output.warningCount > 0 &&
    output.ignoredReported === output.warningCount;
  if (!cleanExit && !onlyIgnorable) {
    const how = exit.code !== null ? `exit code ${exit.code}` : `signal ${exit.signal ?? 'unknown'}`;
    return {
      failure: new PgkeepError(
        'SystemErrorRestoreFailed',
        `pg_restore into ${where} failed (${how}): ${scrub(output.describeFailure()) || 'no message'}`,
      ),
    };
  }
  if (output.restoredItems === 0) {
    const filtered = (options.options?.schemas?.length ?? 0) > 0 || (options.options?.tables?.length ?? 0) > 0;
    return {
      failure: filtered
        ? new PgkeepError(
            'UserErrorInvalidRequest',
            'no object of the recovery point matches options.schemas and options.tables',
            {
              target: 'options',
            },
          )
        : new PgkeepError('SystemErrorRestoreFailed', `pg_restore restored nothing into ${where}`),
    };
  }
  const warnings = output.warnings.map((w) => ({ code: w.code, message: scrub(w.message) }));
  if (output.warningCount > warnings.length) {
    warnings.push({
      code: 'MoreWarnings',
      message: `${output.warningCount - warnings.length} more warnings not listed`,
    });
  }
  return {
    result: {
      status: warnings.length === 0 ? 'Succeeded' : 'SucceededWithWarnings',
      warnings,
      bytesRead: digest.bytes,
      sha256: digest.sha256,
    },
  };
}

function internalError(err: unknown, target: PgConnection): PgkeepError {
  const text = redact(err instanceof Error ? err.message : String(err), target);
  return new PgkeepError('SystemErrorRestoreFailed', `the restore of ${describeTarget(target)} failed: ${text}`, {
    cause: err,
  });
}

// --- reading pg_restore's stderr -----------------------------------------------------------------------------------

interface ErrorBlock {
  error: string;
  command: string;
  entry: string;
  inCommand: boolean;
}

// --verbose lines that show pg_restore did something to the database.
const ACTIVITY =
  /^pg_restore: (creating |processing data for table |executing |launching item |restored \d+ large objects?)/;

/**
 * Parses pg_restore's stderr line by line in bounded memory. Errors come as
 * `pg_restore: from TOC entry …` / `pg_restore: error: could not execute query: ERROR: …` / `Command was: …`.
 */
export class PgRestoreOutput {
  readonly warnings: RestoreWarning[] = [];
  warningCount = 0;
  fatalCount = 0;
  restoredItems = 0;
  /** From `pg_restore: warning: errors ignored on restore: N`. */
  ignoredReported = 0;
  connectionLost = false;
  private readonly fatal: string[] = [];
  private partial = '';
  private block: ErrorBlock | undefined;
  private entry = '';

  push(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  end(): void {
    if (this.partial !== '') this.line(this.partial);
    this.partial = '';
    this.closeBlock();
  }

  /** The first real errors, for the failure message. */
  describeFailure(): string {
    return this.fatal.join('; ').slice(0, 2_000);
  }

  private line(line: string): void {
    if (line.startsWith('pg_restore: ')) {
      // A block (error text and command) ends where pg_restore prints its next line.
      this.closeBlock();
      if (line.startsWith('pg_restore: error: ')) {
        this.block = {
          error: line.slice('pg_restore: error: '.length),
          command: '',
          entry: this.entry,
          inCommand: false,
        };
        if (pgConnectionLost.test(line)) this.connectionLost = true;
        return;
      }
      const entry = /^pg_restore: from TOC entry \d+; \d+ \d+ (.*)$/.exec(line);
      if (entry !== null) this.entry = entry[1] ?? '';
      const ignored = /^pg_restore: warning: errors ignored on restore: (\d+)/.exec(line);
      if (ignored !== null) this.ignoredReported = Number(ignored[1]);
      if (ACTIVITY.test(line)) this.restoredItems++;
      return;
    }
    const block = this.block;
    if (block === undefined) return;
    if (line.startsWith('Command was: ')) {
      block.command = line.slice('Command was: '.length);
      block.inCommand = true;
    } else if (line.trim() === '') {
      if (block.inCommand) this.closeBlock();
    } else if (block.inCommand) {
      block.command += `\n${line}`;
    } else {
      block.error += ` ${line.trim()}`;
      if (pgConnectionLost.test(line)) this.connectionLost = true;
    }
  }

  private closeBlock(): void {
    const block = this.block;
    if (block === undefined) return;
    this.block = undefined;
    const error = block.error
      .replace(/^could not execute query: /, '')
      .replace(/\s+/g, ' ')
      .trim();
    const command = block.command.trim();
    const kind = command === '' ? undefined : IGNORABLE.find((k) => k.command.test(command));
    if (kind !== undefined && !pgConnectionLost.test(error)) {
      this.warningCount++;
      if (this.warnings.length < MAX_WARNINGS) {
        this.warnings.push({ code: kind.code, message: `${oneLine(command, 300)}: ${oneLine(error, 300)}` });
      }
      return;
    }
    this.fatalCount++;
    if (this.fatal.length < 5) {
      const what = block.entry === '' ? '' : `${block.entry}: `;
      this.fatal.push(`${what}${oneLine(error, 500)}${command === '' ? '' : ` (command: ${oneLine(command, 200)})`}`);
    }
  }
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
