import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Temporal } from 'temporal-polyfill';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helpText, run, usage, type CliIo } from '../../../cli/main';
import { lifecycleOf } from '../../../shared/domain/lifecycle';
import { parsePolicy } from '../../../shared/domain/policy';
import type { Policy } from '../../../shared/domain/types';

const repoRoot = path.resolve(__dirname, '../../..');
const fixtures = path.resolve(repoRoot, '../shared/fixtures/policies');
const gfs = path.join(fixtures, 'gfs-ten-years.json');

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

async function pgkeep(...argv: string[]): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    readFile: (file) => readFile(file, 'utf8'),
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

function parsedFixture(file: string): Policy {
  const result = parsePolicy(JSON.parse(readFileSync(file, 'utf8')));
  if (!result.ok) throw new Error(`fixture does not parse: ${file}`);
  return result.value;
}

interface SimulatedJson {
  recoveryPoints: { time: string; tag: string; dataStore: string }[];
}

let dir: string;
const inDir = (name: string): string => path.join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pgkeep-cli-'));
  writeFileSync(inDir('not-json.json'), '{ "name": "Oops", policyRules: [');
  writeFileSync(inDir('empty.json'), '');
  // Four independent problems: unknown zone, a tag without a rule, a vault lifetime below 7 days, a rule without a tag.
  const broken = JSON.parse(readFileSync(gfs, 'utf8')) as {
    policyRules: { name: string; trigger?: { schedule: { timeZone: string } }; lifecycles?: unknown[] }[];
  };
  broken.policyRules[0]!.trigger!.schedule.timeZone = 'Mars/Olympus_Mons';
  broken.policyRules = broken.policyRules.filter((r) => r.name !== 'Weekly');
  (
    broken.policyRules.find((r) => r.name === 'Default')!.lifecycles![0] as { deleteAfter: { duration: string } }
  ).deleteAfter.duration = 'P1D';
  broken.policyRules.push({ name: 'Quarterly', objectType: 'AzureRetentionRule', lifecycles: [] } as never);
  writeFileSync(inDir('broken.json'), JSON.stringify(broken));
  // Sunday 23:30 in New York (a Windows zone name), Default and Monthly: month ends fall on UTC's next day.
  writeFileSync(
    inDir('new-york.json'),
    JSON.stringify({
      name: 'NewYorkSundays',
      datasourceTypes: ['Microsoft.DBforPostgreSQL/servers/databases'],
      objectType: 'BackupPolicy',
      policyRules: [
        {
          name: 'BackupWeekly',
          objectType: 'AzureBackupRule',
          backupParameters: { backupType: 'Full', objectType: 'AzureBackupParams' },
          dataStore: { dataStoreType: 'VaultStore', objectType: 'DataStoreInfoBase' },
          trigger: {
            objectType: 'ScheduleBasedTriggerContext',
            schedule: {
              repeatingTimeIntervals: ['R/2024-01-07T23:30:00-05:00/P1W'],
              timeZone: 'Eastern Standard Time',
            },
            taggingCriteria: [
              { tagInfo: { tagName: 'Default', id: 'Default_' }, taggingPriority: 99, isDefault: true },
              {
                tagInfo: { tagName: 'Monthly', id: 'Monthly_' },
                taggingPriority: 15,
                isDefault: false,
                criteria: [{ objectType: 'ScheduleBasedBackupCriteria', absoluteCriteria: ['FirstOfMonth'] }],
              },
            ],
          },
        },
        {
          name: 'Default',
          objectType: 'AzureRetentionRule',
          isDefault: true,
          lifecycles: [
            {
              deleteAfter: { objectType: 'AbsoluteDeleteOption', duration: 'P1M' },
              sourceDataStore: { dataStoreType: 'VaultStore', objectType: 'DataStoreInfoBase' },
              targetDataStoreCopySettings: [],
            },
          ],
        },
        {
          name: 'Monthly',
          objectType: 'AzureRetentionRule',
          isDefault: false,
          lifecycles: [
            {
              deleteAfter: { objectType: 'AbsoluteDeleteOption', duration: 'P1Y' },
              sourceDataStore: { dataStoreType: 'VaultStore', objectType: 'DataStoreInfoBase' },
              targetDataStoreCopySettings: [],
            },
          ],
        },
      ],
    }),
  );
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('pgkeep policy validate', () => {
  it('exits 0 for a valid policy', async () => {
    const out = await pgkeep('policy', 'validate', gfs);
    expect(out).toMatchObject({ code: 0, stderr: '' });
    expect(out.stdout).toContain("valid policy 'GfsTenYears'");
  });

  it('prints {"valid": true, "errors": []} with --json for every fixture', async () => {
    for (const name of ['default-weekly.json', 'gfs-ten-years.json', 'three-days-monthly-archive.json']) {
      const out = await pgkeep('policy', 'validate', path.join(fixtures, name), '--json');
      expect(out.code).toBe(0);
      expect(JSON.parse(out.stdout)).toEqual({ valid: true, errors: [] });
    }
  });

  it('reports every problem of an invalid policy at once, one "<path>: <message>" line each, and exits 1', async () => {
    const json = await pgkeep('policy', 'validate', inDir('broken.json'), '--json');
    expect(json.code).toBe(1);
    const body = JSON.parse(json.stdout) as { valid: boolean; errors: { path: string; message: string }[] };
    expect(body.valid).toBe(false);
    expect(body.errors.length).toBeGreaterThanOrEqual(4);
    const paths = body.errors.map((e) => e.path).join('\n');
    expect(paths).toContain('timeZone');
    expect(paths).toContain('deleteAfter');
    expect(paths).toMatch(/policyRules\[0\].*tagging|tagName/);
    expect(paths).toMatch(/policyRules\[4\]/);
    for (const e of body.errors) expect(Object.keys(e).sort()).toEqual(['message', 'path']);

    const text = await pgkeep('policy', 'validate', inDir('broken.json'));
    expect(text.code).toBe(1);
    expect(text.stdout.trimEnd().split('\n')).toEqual(body.errors.map((e) => `${e.path}: ${e.message}`));
  });

  it.each([
    ['not-json.json', /is not JSON/],
    ['empty.json', /is not JSON/],
    ['missing.json', /cannot read .*: no such file/],
  ])('treats %s like any other invalid policy: exit 1, path "$", a clear message', async (name, message) => {
    const json = await pgkeep('policy', 'validate', '--json', inDir(name));
    expect(json.code).toBe(1);
    const body = JSON.parse(json.stdout) as { valid: boolean; errors: { path: string; message: string }[] };
    expect(body.valid).toBe(false);
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0]!.path).toBe('$');
    expect(body.errors[0]!.message).toMatch(message);

    const text = await pgkeep('policy', 'validate', inDir(name));
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(new RegExp(`^\\$: .*${message.source}`));
    expect(text.stdout + text.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('pgkeep policy simulate', () => {
  it('keeps ten years of GFS points by their rules, oldest first, and runs in well under a few seconds', async () => {
    const from = '2024-01-01T00:00:00Z';
    const to = '2034-01-01T00:00:00Z';
    const began = performance.now();
    const out = await pgkeep('policy', 'simulate', gfs, '--from', from, '--to', to, '--json');
    expect(performance.now() - began).toBeLessThan(3000);
    expect(out).toMatchObject({ code: 0, stderr: '' });
    const { recoveryPoints } = JSON.parse(out.stdout) as SimulatedJson;

    const times = recoveryPoints.map((p) => Date.parse(p.time));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const policy = parsedFixture(gfs);
    for (const p of recoveryPoints) {
      const lc = lifecycleOf(policy, p.time, p.tag as 'Default');
      expect(Date.parse(lc.deleteAt)).toBeGreaterThan(Date.parse(to));
      expect(p.dataStore).toBe(Date.parse(lc.vaultUntil) <= Date.parse(to) ? 'ArchiveStore' : 'VaultStore');
    }
    // One Yearly per calendar year, kept ten years in all: every year of the window still has its point.
    const years = recoveryPoints
      .filter((p) => p.tag === 'Yearly')
      .map((p) => Temporal.Instant.from(p.time).toZonedDateTimeISO('Europe/Berlin').year);
    expect(years).toEqual([2024, 2025, 2026, 2027, 2028, 2029, 2030, 2031, 2032, 2033]);
    // Default points live 14 days: only the last two weeks' Default points remain.
    for (const p of recoveryPoints.filter((x) => x.tag === 'Default')) {
      expect(Date.parse(to) - Date.parse(p.time)).toBeLessThan(14 * 86_400_000);
    }
  });

  it('prints a table and one summary line per tag with its count in each tier', async () => {
    const out = await pgkeep('policy', 'simulate', gfs, '--from', '2024-01-01', '--to', '2026-01-01');
    expect(out.code).toBe(0);
    const json = await pgkeep('policy', 'simulate', gfs, '--from', '2024-01-01', '--to', '2026-01-01', '--json');
    const { recoveryPoints } = JSON.parse(json.stdout) as SimulatedJson;
    for (const tag of ['Yearly', 'Monthly', 'Weekly', 'Default']) {
      const vault = recoveryPoints.filter((p) => p.tag === tag && p.dataStore === 'VaultStore').length;
      const archive = recoveryPoints.filter((p) => p.tag === tag && p.dataStore === 'ArchiveStore').length;
      expect(out.stdout).toMatch(
        new RegExp(`^${tag}: +${vault + archive}  \\(VaultStore ${vault}, ArchiveStore ${archive}\\)$`, 'm'),
      );
    }
    for (const p of recoveryPoints)
      expect(out.stdout).toMatch(new RegExp(`^${p.time} .* ${p.tag} +${p.dataStore}$`, 'm'));
  });

  it('keeps the local wall time across DST and tags the first Sunday of each New York month Monthly', async () => {
    const out = await pgkeep(
      'policy',
      'simulate',
      inDir('new-york.json'),
      '--from',
      '2024-01-01',
      '--to',
      '2024-07-01',
      '--json',
    );
    expect(out).toMatchObject({ code: 0, stderr: '' });
    const { recoveryPoints } = JSON.parse(out.stdout) as SimulatedJson;
    const local = recoveryPoints.map((p) => ({
      ...p,
      at: Temporal.Instant.from(p.time).toZonedDateTimeISO('America/New_York'),
    }));
    for (const p of local) {
      expect(p.at.toPlainTime().toString()).toBe('23:30:00');
      expect(p.at.dayOfWeek).toBe(7);
    }
    const monthly = local.filter((p) => p.tag === 'Monthly').map((p) => p.at.toPlainDate().toString());
    expect(monthly).toEqual(['2024-01-07', '2024-02-04', '2024-03-03', '2024-04-07', '2024-05-05', '2024-06-02']);
    // Default points live one month: only June's remain.
    const defaults = local.filter((p) => p.tag === 'Default').map((p) => p.at.toPlainDate().toString());
    expect(defaults).toEqual(['2024-06-09', '2024-06-16', '2024-06-23', '2024-06-30']);
  });

  it.each([
    [['--from', 'yesterday', '--to', '2024-02-01T00:00:00Z'], /--from 'yesterday' is not an ISO 8601 instant/],
    [['--from', '2024-01-01T00:00:00', '--to', '2024-02-01T00:00:00Z'], /--from '2024-01-01T00:00:00' is not/],
    [['--from', '2024-02-30', '--to', '2024-03-01'], /--from '2024-02-30'/],
    [['--from', '2024-02-01T00:00:00Z', '--to', '2024-02-01T00:00:00Z'], /must be before --to/],
    [['--from', '2025-01-01', '--to', '2024-01-01'], /must be before --to/],
  ])('refuses bad dates %j with exit 1 and a clear message', async (dates, message) => {
    const out = await pgkeep('policy', 'simulate', gfs, ...dates);
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(message);
    expect(out.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses an invalid policy with exit 1 and its problems', async () => {
    const out = await pgkeep('policy', 'simulate', inDir('broken.json'), '--from', '2024-01-01', '--to', '2025-01-01');
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('is not a valid policy');
    expect(out.stderr).toContain('timeZone');
    const missing = await pgkeep(
      'policy',
      'simulate',
      inDir('missing.json'),
      '--from',
      '2024-01-01',
      '--to',
      '2025-01-01',
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no such file');
  });
});

describe('pgkeep usage', () => {
  // Each case names the command whose help it prints: the program's for an unknown command, else the nearest one's.
  it.each([
    [['--help'], []],
    [['help'], []],
    [
      ['policy', 'validate', '--help'],
      ['policy', 'validate'],
    ],
    [['backup', '--help'], ['backup']],
  ])('prints the help that was asked for on stdout and exits 0 for %j', async (argv, command) => {
    const out = await pgkeep(...argv);
    expect(out.code).toBe(0);
    expect(out.stderr).toBe('');
    expect(out.stdout).toContain(helpText(command));
  });

  it.each([
    [[], []],
    [['backups', 'now'], []],
    [['policy', 'delete', 'x.json'], ['policy']],
    [
      ['policy', 'validate'],
      ['policy', 'validate'],
    ],
    [
      ['policy', 'validate', 'a.json', 'b.json'],
      ['policy', 'validate'],
    ],
    [
      ['policy', 'validate', gfs, '--verbose'],
      ['policy', 'validate'],
    ],
    [
      ['policy', 'simulate', gfs, '--from', '2024-01-01'],
      ['policy', 'simulate'],
    ],
    [
      ['policy', 'simulate', gfs, '--from', '2024-01-01', '--to'],
      ['policy', 'simulate'],
    ],
  ])('prints usage on stderr and exits 2 for %j', async (argv, command) => {
    const out = await pgkeep(...argv);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr).toContain(helpText(command));
    if (command.length === 0) expect(out.stderr).toContain(usage);
  });
});

describe('the compiled pgkeep bin', () => {
  const bin = path.join(repoRoot, 'dist/cli/pgkeep.js');

  beforeAll(() => {
    // Other files of the project may not compile at this moment; tsc still emits, so judge by the bin's presence.
    spawnSync(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', repoRoot], {
      cwd: repoRoot,
      stdio: 'ignore',
      timeout: 110_000,
    });
  }, 120_000);

  it('runs with node, prints JSON, and answers bad input with a message, never a stack trace', () => {
    expect(existsSync(bin)).toBe(true);
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const node = (...args: string[]): ReturnType<typeof spawnSync> =>
      spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 });

    const ok = node('policy', 'validate', gfs, '--json');
    expect(ok.status).toBe(0);
    expect(JSON.parse(String(ok.stdout))).toEqual({ valid: true, errors: [] });

    const bad = node('policy', 'simulate', inDir('not-json.json'), '--from', 'soon', '--to', 'later');
    expect(bad.status).toBe(1);
    expect(String(bad.stderr)).toMatch(/^pgkeep: .*is not a valid policy/);
    expect(String(bad.stderr)).not.toMatch(/\n\s+at |Error:/);

    const help = node('--help');
    expect(help.status).toBe(0);
    expect(String(help.stdout)).toContain('usage: pgkeep');
  });
});
