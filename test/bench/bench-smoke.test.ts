// Keeps `npm run bench` from rotting: the backup scenario at ~8 MiB through the same code path as the real run.
import { describe, expect, it } from 'vitest';
import { parseBenchArgs, runBench, UsageError } from './main';

describe('runBench', () => {
  it('runs the backup scenario end to end and prints every ratio line with a verdict', async () => {
    const lines: string[] = [];
    await runBench(parseBenchArgs(['--scenario', 'backup', '--size-mb', '8']), (line) => lines.push(line));
    const report = lines.join('\n');

    expect(report).toMatch(/^machine: \d+ cores/m);
    expect(report).toMatch(/^dataset bench_8mb: generated [\d.]+ MiB of tables in /m);
    // The generated tables reach the requested size (the loop stops at ≥ 98 % of it).
    const generated = Number(/^dataset bench_8mb: generated ([\d.]+) MiB/m.exec(report)?.[1]);
    expect(generated).toBeGreaterThanOrEqual(8 * 0.98);
    for (const label of [
      /^pgkeep backup \/ \(pg_dump -Fc -Z0 \| zstd -1 > \/dev\/null\) +[\d.]+× +target ≤ 1\.30× +(PASS|MISS)$/m,
      /^pgkeep pipeline, no storage \/ \(pg_dump -Fc -Z0 \| zstd -1 > \/dev\/null\) +[\d.]+× +target ≤ 1\.30× +(PASS|MISS)$/m,
      /^\(pg_dump -Fc \| uploadStream\) \/ pgkeep backup +[\d.]+× +target ≥ 3\.00× +(PASS|MISS)$/m,
      /^pgkeep backup \/ \(same, no manifest of contents\) +[\d.]+× +target ≤ 1\.10× +(PASS|MISS)$/m,
      /^pgkeep backup \/ \(pg_dump -Fc -Z0 \| zstd -1 \| uploadStream → Azurite\) +[\d.]+× +target ≤ 1\.15× +(PASS|MISS)$/m,
      /^\(pgkeep backup, encrypted \(keyring\) → Azurite\) \/ \(pgkeep backup → Azurite\) +[\d.]+× +target ≤ 1\.05× +(PASS|MISS)$/m,
      /^host peak RSS, bench_8mb +[\d.]+ MiB +target ≤ 256\.0 MiB +(PASS|MISS)$/m,
      /^host peak RSS, bench_2mb +[\d.]+ MiB +target ≤ 256\.0 MiB +(PASS|MISS)$/m,
      /^host peak growth, bench_2mb → bench_8mb +[\d.]+× +target ≤ 1\.10× +(PASS|MISS)$/m,
    ]) {
      expect(report).toMatch(label);
    }
    // A real peak was measured, not a placeholder: at least Node's own footprint.
    const peak = Number(/^host peak RSS, bench_8mb +([\d.]+) MiB/m.exec(report)?.[1]);
    expect(peak).toBeGreaterThan(20);
    // pgkeep's blob holds the compressed dump: non-empty and smaller than the tables it came from.
    const stored = /^bench_8mb +pgkeep backup → Azurite +\S+ \S+ +\S+ \S+ +\S+ \S+ +([\d.]+) (KiB|MiB)/m.exec(report);
    expect(stored).not.toBeNull();
    const storedMiB = Number(stored?.[1]) / (stored?.[2] === 'KiB' ? 1024 : 1);
    expect(storedMiB).toBeGreaterThan(0);
    expect(storedMiB).toBeLessThan(generated);
  }, 90_000);
});

describe('runBench restore', () => {
  it('runs the restore scenario end to end and prints its ratio and memory lines with verdicts', async () => {
    const lines: string[] = [];
    await runBench(parseBenchArgs(['--scenario', 'restore', '--size-mb', '8']), (line) => lines.push(line));
    const report = lines.join('\n');
    expect(report).toMatch(/^stored dump: [\d.]+ (KiB|MiB) \([\d.]+ (KiB|MiB) uncompressed\)$/m);
    expect(report).toMatch(/^pgkeep restore \/ floor \(median\) +[\d.]+× +target ≤ 1\.30× +(PASS|MISS)$/m);
    expect(report).toMatch(
      /^pgkeep restore test \/ pgkeep restore \(median\) +[\d.]+× +target ≤ 1\.50× +(PASS|MISS)$/m,
    );
    const peak = Number(/^host peak during pgkeep restore +([\d.]+) MiB/m.exec(report)?.[1]);
    // A real measurement, not a placeholder: at least Node's own footprint.
    expect(peak).toBeGreaterThan(20);
  }, 120_000);
});

describe('parseBenchArgs', () => {
  it('defaults to every scenario on a 1024 MiB database, once, without keeping it, expiry at the design size', () => {
    expect(parseBenchArgs([])).toEqual({
      scenario: 'all',
      sizeMb: 1024,
      keep: false,
      repeat: 1,
      points: 100_000,
      instances: 1_000,
      manyDue: false,
      blobMetadata: 'loki',
    });
    expect(
      parseBenchArgs(['--scenario', 'expiry', '--points', '5000', '--many-due', '--blob-metadata', 'mariadb']),
    ).toMatchObject({ scenario: 'expiry', points: 5000, manyDue: true, blobMetadata: 'mariadb' });
  });

  it('refuses unknown scenarios, options and non-positive sizes', () => {
    expect(() => parseBenchArgs(['--scenario', 'restore-everything'])).toThrow(UsageError);
    expect(() => parseBenchArgs(['--fast'])).toThrow(UsageError);
    expect(() => parseBenchArgs(['--size-mb', '0'])).toThrow(UsageError);
    expect(() => parseBenchArgs(['--repeat'])).toThrow(UsageError);
    expect(() => parseBenchArgs(['--points', '10', '--instances', '20'])).toThrow(UsageError);
    expect(() => parseBenchArgs(['--blob-metadata', 'sqlite'])).toThrow(UsageError);
  });
});
