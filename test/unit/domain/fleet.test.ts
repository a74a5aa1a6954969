// The pure fleet rules: which databases can be protected and which a rule selects, instance names, server keys,
// the discovery plan, the semaphores' grants and the jitter.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../../shared/domain/policy';
import type { Policy } from '../../../shared/domain/types';
import {
  decideSlot,
  globMatches,
  instanceNameFor,
  jitterSeconds,
  notProtectableReason,
  policyJitterWindow,
  planDiscovery,
  releaseSlot,
  selectedByGlobs,
  serverKeyOf,
  silentWaiters,
  type Semaphore,
} from '../../../shared/domain/fleet';

describe('notProtectableReason', () => {
  it.each(['azure_maintenance', 'azure_sys', 'template0', 'template1', 'postgres', 'POSTGRES'])(
    'refuses %s as Azure does',
    (name) => expect(notProtectableReason({ name })).toBeDefined(),
  );
  it('refuses templates and databases without connections, and accepts the rest', () => {
    expect(notProtectableReason({ name: 'tpl', isTemplate: true })).toMatch(/template/);
    expect(notProtectableReason({ name: 'closed', allowConnections: false })).toMatch(/connections/);
    expect(notProtectableReason({ name: 'sales_eu' })).toBeUndefined();
  });
});

describe('globMatches and selectedByGlobs', () => {
  it('matches * and ? over the whole name, case-sensitively, with other characters literal', () => {
    expect(globMatches('sales_*', 'sales_eu')).toBe(true);
    expect(globMatches('sales_*', 'Sales_eu')).toBe(false);
    expect(globMatches('db?', 'db1')).toBe(true);
    expect(globMatches('db?', 'db12')).toBe(false);
    expect(globMatches('a.b', 'axb')).toBe(false);
  });
  it('selects by include (empty = all) and lets exclude win', () => {
    expect(selectedByGlobs('sales_tmp', ['sales_*'], ['*_tmp'])).toBe(false);
    expect(selectedByGlobs('sales_eu', ['sales_*'], ['*_tmp'])).toBe(true);
    expect(selectedByGlobs('hr', ['sales_*'])).toBe(false);
    expect(selectedByGlobs('hr', [])).toBe(true);
  });
});

describe('instanceNameFor', () => {
  it('names <server>-<database>, replacing characters a resource name cannot hold', () => {
    expect(instanceNameFor('pg1', 'sales_eu')).toBe('pg1-sales_eu');
    expect(instanceNameFor('pg1', 'my db/ä')).toBe('pg1-my-db--');
    expect(instanceNameFor('pg1', 'x'.repeat(200))).toHaveLength(100);
  });
});

describe('serverKeyOf', () => {
  it('keys Azure servers by their canonical host whatever database id, and others by host and port', () => {
    const flex = '/subscriptions/s/resourceGroups/g/providers/Microsoft.DBforPostgreSQL/flexibleServers/PG1';
    expect(serverKeyOf(`${flex}/databases/a`)).toBe('pg1.postgres.database.azure.com:5432');
    expect(serverKeyOf(flex, { host: '10.0.0.4', port: 6432 })).toBe('pg1.postgres.database.azure.com:5432');
    expect(serverKeyOf('local/orders', { host: 'DB.local', port: 5433 })).toBe('db.local:5433');
    expect(serverKeyOf('onprem/pg7/databases/orders')).toBe('onprem/pg7');
  });
});

describe('planDiscovery', () => {
  const databases = ['postgres', 'sales_a', 'sales_b', 'sales_tmp', 'hr'].map((name) => ({ name }));
  it('protects new selected databases, marks gone ones missing and returned ones back', () => {
    const plan = planDiscovery({
      databases,
      instances: [
        { name: 'pg-sales_a', database: 'sales_a', missing: false },
        { name: 'pg-old', database: 'old', missing: false },
        { name: 'pg-hr', database: 'hr', missing: true },
      ],
      protectedDatabases: new Set(['sales_a', 'old', 'hr']),
      rule: { include: ['sales_*'], exclude: ['*_tmp'] },
    });
    expect(plan).toEqual({ toProtect: ['sales_b'], missing: ['pg-old'], returned: ['pg-hr'] });
  });
  it('protects nothing without a rule but still reports missing databases', () => {
    const plan = planDiscovery({
      databases,
      instances: [{ name: 'x', database: 'gone', missing: false }],
      protectedDatabases: new Set(),
    });
    expect(plan).toEqual({ toProtect: [], missing: ['x'], returned: [] });
  });
});

describe('decideSlot', () => {
  const empty: Semaphore = { holders: [], queue: [] };
  const limits = { server: 2, host: 3 };
  /** Asks for jobs in order against one server and host, as repeated attempts would. */
  function run(jobs: string[], serverKey = 'a:5432', start = { server: empty, host: empty }) {
    let { server, host } = start;
    const out: Record<string, string> = {};
    for (const jobId of jobs) {
      const d = decideSlot(
        server,
        host,
        { jobId, serverKey, nowUtc: `2026-01-01T00:00:0${jobs.indexOf(jobId)}Z` },
        limits,
      );
      server = d.server;
      host = d.host;
      out[jobId] = d.granted ? 'granted' : `${d.waitingFor}#${d.position}`;
    }
    return { out, server, host };
  }

  it('grants a server its limit and queues the rest in order with their place', () => {
    const { out, server } = run(['j1', 'j2', 'j3', 'j4']);
    expect(out).toEqual({ j1: 'granted', j2: 'granted', j3: 'server#1', j4: 'server#2' });
    expect(server.holders.map((h) => h.jobId)).toEqual(['j1', 'j2']);
  });

  it('serves the queue first come, first served when a slot frees', () => {
    let { server, host } = run(['j1', 'j2', 'j3', 'j4']);
    server = releaseSlot(server, 'j1');
    host = releaseSlot(host, 'j1');
    const j4 = decideSlot(server, host, { jobId: 'j4', serverKey: 'a:5432', nowUtc: '2026-01-01T00:01:00Z' }, limits);
    expect(j4).toMatchObject({ granted: false, position: 2 });
    const j3 = decideSlot(
      j4.server,
      j4.host,
      { jobId: 'j3', serverKey: 'a:5432', nowUtc: '2026-01-01T00:01:01Z' },
      limits,
    );
    expect(j3.granted).toBe(true);
  });

  it('honours a server-specific limit over the default', () => {
    const { out } = run(['j1', 'j2'], 'a:5432', { server: { ...empty, limit: 1 }, host: empty });
    expect(out).toEqual({ j1: 'granted', j2: 'server#1' });
  });

  it('holds the host limit across servers without letting a full server hold up another', () => {
    let a = run(['a1', 'a2', 'a3'], 'a:5432');
    expect(a.out).toEqual({ a1: 'granted', a2: 'granted', a3: 'server#1' });
    const b1 = decideSlot(empty, a.host, { jobId: 'b1', serverKey: 'b:5432', nowUtc: '2026-01-01T00:00:09Z' }, limits);
    expect(b1.granted).toBe(true);
    const b2 = decideSlot(
      b1.server,
      b1.host,
      { jobId: 'b2', serverKey: 'b:5432', nowUtc: '2026-01-01T00:00:10Z' },
      limits,
    );
    expect(b2).toMatchObject({ granted: false, waitingFor: 'host', position: 1 });
    expect(b2.host.holders).toHaveLength(3);
    // b2 reserved b's second server slot while it waits for the host: b never exceeds its limit either.
    expect(b2.server.holders.map((h) => h.jobId)).toEqual(['b1', 'b2']);
    a = { ...a, host: releaseSlot(b2.host, 'a1') };
    const again = decideSlot(
      b2.server,
      a.host,
      { jobId: 'b2', serverKey: 'b:5432', nowUtc: '2026-01-01T00:00:11Z' },
      limits,
    );
    expect(again.granted).toBe(true);
  });

  it('is idempotent for a holder and records when each waiter last asked', () => {
    const { server, host } = run(['j1', 'j2', 'j3']);
    const again = decideSlot(
      server,
      host,
      { jobId: 'j1', serverKey: 'a:5432', nowUtc: '2026-01-02T00:00:00Z' },
      limits,
    );
    expect(again).toEqual({ granted: true, server, host });
    const waiting = decideSlot(
      server,
      host,
      { jobId: 'j3', serverKey: 'a:5432', nowUtc: '2026-01-02T00:00:00Z' },
      limits,
    );
    expect(waiting.server.queue[0]).toMatchObject({
      jobId: 'j3',
      since: '2026-01-01T00:00:02Z',
      seen: '2026-01-02T00:00:00Z',
    });
    expect(silentWaiters(server, '2026-01-01T12:00:00Z')).toEqual(['j3']);
    expect(silentWaiters(waiting.server, '2026-01-01T12:00:00Z')).toEqual([]);
  });
});

describe('jitterSeconds', () => {
  it('spreads instances over the window, the same instance always at the same place', () => {
    const names = Array.from({ length: 200 }, (_, i) => `db-${i}`);
    const delays = names.map((n) => jitterSeconds(n, 600));
    expect(delays.every((d) => d >= 0 && d < 600)).toBe(true);
    expect(new Set(delays).size).toBeGreaterThan(150);
    expect(jitterSeconds('db-7', 600)).toBe(delays[7]);
    expect(jitterSeconds('db-7', 0)).toBe(0);
  });
});

describe('policyJitterWindow', () => {
  const weekly = JSON.parse(
    readFileSync(path.resolve(__dirname, '../../../../shared/fixtures/policies/default-weekly.json'), 'utf8'),
  ) as { policyRules: { trigger?: { schedule: { repeatingTimeIntervals: string[] } } }[] };
  /** The weekly fixture with its schedule replaced by these entries. */
  const policyWith = (...intervals: string[]): Policy => {
    const doc = structuredClone(weekly);
    for (const rule of doc.policyRules) if (rule.trigger) rule.trigger.schedule.repeatingTimeIntervals = intervals;
    const parsed = parsePolicy(doc);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    return parsed.value;
  };
  const twoOnSunday = policyWith('R/2026-03-01T02:00:00+00:00/P1W', 'R/2026-03-01T03:00:00+00:00/P1W');

  it('is the setting when the next slot is further away than twice the setting', () => {
    expect(policyJitterWindow(twoOnSunday, '2026-03-08T03:00:00.000Z', 7200)).toBe(7200);
  });

  it('is half the time to the next slot when that is shorter, so a backup never runs into its next slot', () => {
    expect(policyJitterWindow(twoOnSunday, '2026-03-08T02:00:00.000Z', 7200)).toBe(1800);
  });

  it('is zero without a setting', () => {
    expect(policyJitterWindow(twoOnSunday, '2026-03-08T02:00:00.000Z', 0)).toBe(0);
  });
});
