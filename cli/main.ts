// The `pgkeep` operator command line: argument parsing and output for `policy validate` and `policy simulate`.
// Kept apart from the bin entry point so tests call run() with their own writers and file reader.
import { Temporal } from 'temporal-polyfill';
import { toUtcString } from '../shared/domain/duration';
import { parsePolicy } from '../shared/domain/policy';
import { simulateRetention, type SimulatedPoint } from '../shared/domain/simulation';
import type { DataStore, Policy, TagName, ValidationIssue } from '../shared/domain/types';
import { runDecrypt } from './decrypt';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Reads a whole UTF-8 file; rejects like fs.promises.readFile (with `code` such as ENOENT). */
  readFile(path: string): Promise<string>;
}

/** Exit codes: 0 success, 1 the input is wrong (file, policy, dates), 2 the command line is wrong. */
export const exitCodes = { ok: 0, invalid: 1, usage: 2 } as const;

export const usage = `usage: pgkeep <command> [options]

commands:
  policy validate <file> [--json]
      Check an Azure BackupPolicy JSON file. Exit 0 if valid; otherwise exit 1 and print every
      problem, one per line as "<json path>: <message>". --json prints
      {"valid": bool, "errors": [{"path", "message"}]}.

  policy simulate <file> --from <instant> --to <instant> [--json]
      Assume every scheduled backup in [from, to) succeeded, tag each, apply retention as expiry
      would at --to, and print the recovery points that exist then, oldest first, with tag and
      tier. <instant> is ISO 8601 with an offset (2024-01-01T00:00:00Z) or a date (2024-01-01,
      midnight in the policy's time zone). --json prints {"recoveryPoints": [{"time", "tag",
      "dataStore"}]}.

  decrypt --in <dump.enc> --manifest <manifest.json> [--out <file>] [--keyring <file>]
      Decrypt a dump delivered encrypted by a restore as files (pgkeep decrypt --help).

exit codes: 0 ok, 1 invalid file, policy or dates, 2 usage error (this text)
`;

class UsageError extends Error {}
/** Bad input the operator can fix (dates, ranges): a one-line message and exit 1. */
class InputError extends Error {}

/** Runs one command line (without `node` and the script); resolves to the process exit code. Never throws. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const [group, command, ...rest] = argv;
    if (group === 'policy' && command === 'validate') return await validateCommand(rest, io);
    if (group === 'policy' && command === 'simulate') return await simulateCommand(rest, io);
    if (group === 'decrypt') return await runDecrypt(argv.slice(1), { stderr: (text) => io.stderr(text) });
    throw new UsageError(group === undefined || isHelp(group) ? '' : `unknown command: ${argv.join(' ')}`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`${err.message === '' ? '' : `pgkeep: ${err.message}\n\n`}${usage}`);
      return exitCodes.usage;
    }
    if (err instanceof InputError) {
      io.stderr(`pgkeep: ${err.message}\n`);
      return exitCodes.invalid;
    }
    // Expected failures are answered where they happen; anything else is reported without a stack trace.
    io.stderr(`pgkeep: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    return exitCodes.invalid;
  }
}

function isHelp(arg: string): boolean {
  return arg === '--help' || arg === '-h' || arg === 'help';
}

interface ParsedArgs {
  readonly positional: string[];
  readonly options: Map<string, string | true>;
}

/** `--name value`, `--name=value` and bare flags; anything not in `valued` or `flags` is a usage error. */
function parseArgs(args: readonly string[], valued: readonly string[], flags: readonly string[]): ParsedArgs {
  const positional: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (isHelp(arg)) throw new UsageError('');
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (flags.includes(name) && eq === -1) {
      options.set(name, true);
    } else if (valued.includes(name)) {
      const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
      if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`);
      options.set(name, value);
    } else {
      throw new UsageError(`unknown option: ${arg}`);
    }
  }
  return { positional, options };
}

function onePath(parsed: ParsedArgs): string {
  if (parsed.positional.length !== 1) throw new UsageError('expected exactly one policy file');
  return parsed.positional[0]!;
}

async function validateCommand(args: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseArgs(args, [], ['json']);
  const file = onePath(parsed);
  const result = await loadPolicy(file, io);
  const errors = result.ok ? [] : result.errors;
  if (parsed.options.has('json')) {
    io.stdout(
      `${JSON.stringify({ valid: result.ok, errors: errors.map(({ path, message }) => ({ path, message })) })}\n`,
    );
  } else if (result.ok) {
    io.stdout(`${file}: valid policy '${result.value.name}'\n`);
  } else {
    io.stdout(errors.map((e) => `${e.path}: ${e.message}\n`).join(''));
  }
  return result.ok ? exitCodes.ok : exitCodes.invalid;
}

async function simulateCommand(args: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseArgs(args, ['from', 'to'], ['json']);
  const file = onePath(parsed);
  const fromArg = parsed.options.get('from');
  const toArg = parsed.options.get('to');
  if (typeof fromArg !== 'string' || typeof toArg !== 'string') throw new UsageError('--from and --to are required');

  const loaded = await loadPolicy(file, io);
  if (!loaded.ok) {
    io.stderr(
      `pgkeep: ${file} is not a valid policy:\n${loaded.errors.map((e) => `  ${e.path}: ${e.message}\n`).join('')}`,
    );
    return exitCodes.invalid;
  }
  const policy = loaded.value;
  const from = instantArg('--from', fromArg, policy);
  const to = instantArg('--to', toArg, policy);
  if (Temporal.Instant.compare(from, to) >= 0) {
    throw new InputError(`--from (${toUtcString(from)}) must be before --to (${toUtcString(to)})`);
  }

  const points = simulateRetention(policy, toUtcString(from), toUtcString(to));
  if (parsed.options.has('json')) {
    io.stdout(
      `${JSON.stringify({ recoveryPoints: points.map(({ time, tag, dataStore }) => ({ time, tag, dataStore })) })}\n`,
    );
  } else {
    io.stdout(renderTable(points, policy, toUtcString(to)));
  }
  return exitCodes.ok;
}

type Loaded = { ok: true; value: Policy } | { ok: false; errors: ValidationIssue[] };

/** Reads and parses a policy file; a missing or unreadable file, or one that is not JSON, is one issue at `$`. */
async function loadPolicy(file: string, io: CliIo): Promise<Loaded> {
  let text: string;
  try {
    text = await io.readFile(file);
  } catch (err) {
    return { ok: false, errors: [{ path: '$', message: `cannot read '${file}': ${describeReadError(err)}` }] };
  }
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (err) {
    const reason = err instanceof SyntaxError ? err.message : 'unreadable';
    return { ok: false, errors: [{ path: '$', message: `'${file}' is not JSON: ${reason}` }] };
  }
  return parsePolicy(json);
}

function describeReadError(err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'it is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return code ?? (err instanceof Error ? err.message : 'unreadable');
  }
}

/** An ISO instant with an offset, or a date meaning its first instant in the policy's time zone. */
function instantArg(name: string, value: string, policy: Policy): Temporal.Instant {
  try {
    if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
      const date = Temporal.PlainDate.from(value, { overflow: 'reject' });
      return date.toZonedDateTime({ timeZone: policy.schedule.timeZone }).toInstant();
    }
    return Temporal.Instant.from(value);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new InputError(
      `${name} '${value}' is not an ISO 8601 instant with an offset (2024-01-01T00:00:00Z) or a date (2024-01-01)`,
    );
  }
}

const tagOrder: readonly TagName[] = ['Yearly', 'Monthly', 'Weekly', 'Default'];
const storeOrder: readonly DataStore[] = ['VaultStore', 'ArchiveStore'];

/** The points as a table with local times, then one line per tag with its count in each tier. */
function renderTable(points: readonly SimulatedPoint[], policy: Policy, at: string): string {
  const zone = policy.schedule.timeZone;
  const header = ['time (UTC)', `local (${zone})`, 'tag', 'tier'];
  const rows = points.map((p) => [
    p.time,
    Temporal.Instant.from(p.time).toZonedDateTimeISO(zone).toPlainDateTime().toString({ smallestUnit: 'minute' }),
    p.tag,
    p.dataStore,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [line(header), ...rows.map(line), ''];

  const counts = new Map<string, number>();
  for (const p of points) counts.set(`${p.tag}|${p.dataStore}`, (counts.get(`${p.tag}|${p.dataStore}`) ?? 0) + 1);
  const policyTags = tagOrder.filter((t) => policy.tags.some((c) => c.tag === t));
  const tagWidth = Math.max(...policyTags.map((t) => t.length));
  for (const tag of policyTags) {
    const perStore = storeOrder.map((s) => `${s} ${counts.get(`${tag}|${s}`) ?? 0}`);
    const total = storeOrder.reduce((n, s) => n + (counts.get(`${tag}|${s}`) ?? 0), 0);
    out.push(`${`${tag}:`.padEnd(tagWidth + 1)} ${String(total).padStart(4)}  (${perStore.join(', ')})`);
  }
  out.push(`${points.length} recovery points exist at ${at}`);
  return `${out.join('\n')}\n`;
}
