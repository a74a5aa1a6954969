// Keeps the expiry benchmark from rotting: the same scenario code at a small size, every line of the report there.
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runExpiryScenario } from './expiry';

describe('runExpiryScenario', () => {
  it('times the expiry run against the plain scan of the same rows and prints the ratio with a verdict', async () => {
    const lines: string[] = [];
    await runExpiryScenario((line) => lines.push(line), {
      points: 600,
      instances: 20,
      concurrency: 4,
      manyDue: true,
      blobMetadata: 'loki',
    });
    const report = lines.join('\n');
    expect(report).toMatch(/^expiry: 20 instances × 30 points, concurrency 4, Azurite in memory \(LokiJS\)$/m);
    expect(report).toMatch(/^expiry: wrote 600 rows and 1200 blobs in /m);
    // One point per instance is past its lifetime at the first run: exactly those go, with nothing failing.
    expect(report).toMatch(/expiry run, 20 due +\S+ \S+ +20 deleted, 0 moved, 0 orphans, 0 failures, 0 warnings/);
    // The weekly sweeping run lists every blob: the bench's blobs all belong to rows, so it finds nothing to do.
    expect(report).toMatch(/sweeping run \(blobs listed\), 0 due .* 0 orphans, 0 failures, 0 warnings/);
    expect(report).toMatch(/^sweeping run \(weekly\) \/ plain scan, informational: [\d.]+×$/m);
    expect(report).toMatch(/^plain scan of every row +\S+ \S+ +600 rows/m);
    expect(report).toMatch(/^plain scan of every row \(again\) +\S+ \S+ +580 rows/m);
    expect(report).toMatch(/^expiry run \(1% due\) \/ plain scan +[\d.]+× +target ≤ 2\.00× +(PASS|MISS)$/m);
    expect(report).toMatch(/^expiry run a year later, \d+ due .* 0 failures, 0 warnings/m);
    expect(report).toMatch(/^expiry run \(~half due\) \/ plain scan, informational: [\d.]+×$/m);
  }, 60_000);

  // The bench's optional backend: .ci/run installs mariadb-server; elsewhere the skip is reported.
  it.skipIf(!existsSync('/usr/sbin/mariadbd'))(
    'runs the same against Azurite keeping blob metadata in a throwaway MariaDB, and removes it afterwards',
    async () => {
      const lines: string[] = [];
      const before = readdirSync(tmpdir()).filter((f) => f.startsWith('pgkeep-bench-'));
      await runExpiryScenario((line) => lines.push(line), {
        points: 200,
        instances: 10,
        concurrency: 4,
        manyDue: false,
        blobMetadata: 'mariadb',
      });
      const report = lines.join('\n');
      expect(report).toMatch(
        /^expiry: 10 instances × 20 points, concurrency 4, Azurite with blob metadata in MariaDB$/m,
      );
      expect(report).toMatch(/expiry run, 10 due +\S+ \S+ +10 deleted, 0 moved, 0 orphans, 0 failures, 0 warnings/);
      expect(report).toMatch(/sweeping run \(blobs listed\), 0 due .* 0 orphans, 0 failures, 0 warnings/);
      expect(report).toMatch(/^expiry run \(1% due\) \/ plain scan +[\d.]+× +target ≤ 2\.00× +(PASS|MISS)$/m);
      expect(report).not.toMatch(/a year later/);
      expect(readdirSync(tmpdir()).filter((f) => f.startsWith('pgkeep-bench-'))).toEqual(before);
    },
    120_000,
  );
});
