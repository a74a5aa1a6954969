// Scenario matrix for devhost's Durable engine, driven over HTTP against a devhost child process (protocol §2, §3).
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevhost, type DevhostInstance } from '../support/devhost';
import { durableClient } from '../support/durable-client';

const appRoot = path.resolve(__dirname, '../devhost-app');
let host: DevhostInstance;
let df: ReturnType<typeof durableClient>;

beforeAll(async () => {
  host = await startDevhost({ appRoot });
  df = durableClient(host.baseUrl);
});
afterAll(async () => {
  await host?.stop();
});

describe('durable engine scenarios', () => {
  it('runs a sequence of activities and a timer, with string inputs decoded and undefined results as null', async () => {
    const id = await df.start('durSequence');
    const s = await df.waitFor(id);
    expect(s.runtimeStatus).toBe('Completed');
    expect(s.output).toEqual(['Hello Tokyo', 'Hello {"city":"Seattle"}', null]);
    expect(s.customStatus).toEqual({ step: 'done' });
    expect(s.input).toBe(''); // startNew without input posts "" (protocol §2.4 quirk)
  });

  it('fans out with Task.all and fans in the results', async () => {
    const id = await df.start('durFanOut', 12);
    const s = await df.waitFor(id);
    expect(s.runtimeStatus).toBe('Completed');
    expect(s.output).toBe(2 * ((12 * 13) / 2));
  });
});
