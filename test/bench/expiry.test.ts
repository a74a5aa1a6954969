// Keeps the expiry benchmark from rotting: the same scenario code at a small size, every line of the report there.
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
    });
    const report = lines.join('\n');
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
});
