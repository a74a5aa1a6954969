// The test harness stops everything it started — Azurite, PostgreSQL, devhost and devhost's own Azurite — also when
// a hook times out, a suite fails without stopping anything, or a worker is killed outright (issue 11). Three such
// suites run in a vitest of their own; afterwards none of their processes may remain.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isRunning, processesWithEnv, spaced } from '../support/processes';

const repoRoot = path.resolve(__dirname, '../..');
const out = mkdtempSync(path.join(tmpdir(), 'pgkeep-harness-fixtures-'));

afterAll(() => rmSync(out, { recursive: true, force: true }));

function runFixtures(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        path.join(repoRoot, 'node_modules/vitest/vitest.mjs'),
        'run',
        '--config',
        'test/harness-fixtures/vitest.config.ts',
      ],
      { cwd: repoRoot, env: { ...process.env, PGKEEP_FIXTURE_OUT: out }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('the test harness', () => {
  it('leaves no process running after a suite whose hook timed out, one that failed and one whose worker was killed', async () => {
    const run = await runFixtures();
    expect(run.code, run.output).not.toBe(0);
    const started: Record<string, Record<string, number | undefined>> = {};
    for (const name of ['hook-timeout', 'failing', 'killed']) {
      started[name] = JSON.parse(readFileSync(path.join(out, `${name}.json`), 'utf8')) as Record<string, number>;
    }
    const pids = Object.values(started).flatMap((s) => Object.values(s));
    // Everything was started (four processes per suite) before the suites went wrong.
    expect(pids.filter((p) => typeof p === 'number' && p > 0)).toHaveLength(12);

    // PostgreSQL's backends and an Azurite writing its data may take a moment to end after their parent went.
    const deadline = Date.now() + 15_000;
    let left = processesWithEnv('PGKEEP_FIXTURE_OUT', out);
    while ((left.length > 0 || pids.some((p) => isRunning(p!))) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      left = processesWithEnv('PGKEEP_FIXTURE_OUT', out);
    }
    expect(left.map((p) => `${p.pid}: ${spaced(p.cmdline)}`)).toEqual([]);
    expect(pids.filter((p) => isRunning(p!))).toEqual([]);
  }, 180_000);
});
