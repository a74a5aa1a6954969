// `pgkeep policy validate|simulate`: offline, on a policy file, with the same parsing, tagging and retention planner
// the app runs (no API involved).

import { Temporal } from 'temporal-polyfill';
import { toUtcString } from '../../shared/domain/duration';
import { parsePolicy } from '../../shared/domain/policy';
import { simulateRetention, type SimulatedPoint } from '../../shared/domain/simulation';
import type { DataStore, Policy, TagName, ValidationIssue } from '../../shared/domain/types';
import type { CommandGroup } from '../context';
import { exitCodes, InputError, SilentExit } from '../exit-codes';
import type { CliIo } from '../io';
import { formatTable } from '../print';

export const policyCommands: CommandGroup = (program, { io }) => {
  const policy = program.command('policy').description('check a policy file and show what it keeps (offline)');

  policy
    .command('validate')
    .summary('check a policy file, naming every problem')
    .description(
      'Check an Azure BackupPolicy JSON file. Exit 0 if valid; otherwise exit 1 and print every problem, one per line as "<json path>: <message>".',
    )
    .argument('<file>', 'the policy JSON file')
    .option('--json', 'print {"valid": bool, "errors": [{"path", "message"}]}')
    .action(async (file: string, opts: { json?: boolean }) => {
      const result = await loadPolicy(file, io);
      const errors = result.ok ? [] : result.errors;
      if (opts.json) {
        io.stdout(
          `${JSON.stringify({ valid: result.ok, errors: errors.map(({ path, message }) => ({ path, message })) })}\n`,
        );
      } else if (result.ok) {
        io.stdout(`${file}: valid policy '${result.value.name}'\n`);
      } else {
        io.stdout(errors.map((e) => `${e.path}: ${e.message}\n`).join(''));
      }
      if (!result.ok) throw new SilentExit(exitCodes.failed, 'invalid policy');
    });

  policy
    .command('simulate')
    .summary('list the recovery points a policy keeps over a time range')
    .description(
      'Assume every scheduled backup in [from, to) succeeded, tag each, apply retention as expiry would at --to, and print the recovery points that exist then, oldest first, with tag and tier.',
    )
    .argument('<file>', 'the policy JSON file')
    .requiredOption('--from <instant>', 'ISO 8601 with an offset (2024-01-01T00:00:00Z), or a date (2024-01-01)')
    .requiredOption('--to <instant>', 'the same; a date means midnight in the policy time zone')
    .option('--json', 'print {"recoveryPoints": [{"time", "tag", "dataStore"}]}')
    .action(async (file: string, opts: { from: string; to: string; json?: boolean }) => {
      const loaded = await loadPolicy(file, io);
      if (!loaded.ok) {
        throw new InputError(
          `${file} is not a valid policy:\n${loaded.errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')}`,
        );
      }
      const p = loaded.value;
      const from = instantArg('--from', opts.from, p);
      const to = instantArg('--to', opts.to, p);
      if (Temporal.Instant.compare(from, to) >= 0) {
        throw new InputError(`--from (${toUtcString(from)}) must be before --to (${toUtcString(to)})`);
      }
      const points = simulateRetention(p, toUtcString(from), toUtcString(to));
      if (opts.json) {
        io.stdout(
          `${JSON.stringify({ recoveryPoints: points.map(({ time, tag, dataStore }) => ({ time, tag, dataStore })) })}\n`,
        );
      } else {
        io.stdout(renderSimulation(points, p, toUtcString(to)));
      }
    });
};

type Loaded = { ok: true; value: Policy } | { ok: false; errors: ValidationIssue[] };

/** Reads and parses a policy file; a missing or unreadable file, or one that is not JSON, is one issue at `$`. */
async function loadPolicy(file: string, io: CliIo): Promise<Loaded> {
  const json = await readJsonFile(file, io);
  return json.ok ? parsePolicy(json.value) : json;
}

/** A JSON file's value, or one issue at `$` saying why it cannot be read or parsed. */
export async function readJsonFile(
  file: string,
  io: CliIo,
): Promise<{ ok: true; value: unknown } | { ok: false; errors: ValidationIssue[] }> {
  let text: string;
  try {
    text = await io.readFile(file);
  } catch (err) {
    return { ok: false, errors: [{ path: '$', message: `cannot read '${file}': ${describeReadError(err)}` }] };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    const reason = err instanceof SyntaxError ? err.message : 'unreadable';
    return { ok: false, errors: [{ path: '$', message: `'${file}' is not JSON: ${reason}` }] };
  }
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
function renderSimulation(points: readonly SimulatedPoint[], policy: Policy, at: string): string {
  const zone = policy.schedule.timeZone;
  const rows = points.map((p) => [
    p.time,
    Temporal.Instant.from(p.time).toZonedDateTimeISO(zone).toPlainDateTime().toString({ smallestUnit: 'minute' }),
    p.tag,
    p.dataStore,
  ]);
  const out = [formatTable(['time (UTC)', `local (${zone})`, 'tag', 'tier'], rows), ''];

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
