// In-memory fakes of the state-store ports, for activity and workflow tests. They keep the same contract as the
// Table Storage adapters (test/contract/stores.contract.ts runs against both) and share their rules (rules.ts).

import { Readable } from 'node:stream';
import { escapeKey } from '../../shared/adapters/storage/tables/common';
import {
  datasourceAlreadyProtected,
  datasourceClaimKey,
  resourceIdChanged,
} from '../../shared/adapters/storage/tables/instances';
import { jobNotFound } from '../../shared/adapters/storage/tables/jobs';
import { withLedger, type LedgerEntry } from '../../shared/adapters/storage/tables/scheduled-slots';
import {
  boundMs,
  checkRecoveryPointId,
  fitWarnings,
  guardJobPatch,
  jobWindow,
  policyDocumentJson,
  smallJson,
} from '../../shared/adapters/storage/tables/rules';
import type { StateStores } from '../../shared/adapters/storage/stores';
import { auditKeys } from '../../shared/adapters/storage/tables/audit';
import {
  ConcurrencyError,
  systemClock,
  type AuditEntry,
  type AuditLogStore,
  type Clock,
  type InstanceRecord,
  type InstanceStore,
  type JobRecord,
  type JobStore,
  type PolicyRecord,
  type PolicyStore,
  type RecoveryPointRecord,
  type RecoveryPointStore,
  type ServerRecord,
  type ServerStore,
  type SlotRow,
  type SlotStore,
  type Stored,
  type VaultBlobInfo,
  type VaultBlobStore,
} from '../../shared/ports';
import { serverResourceIdChanged } from '../../shared/adapters/storage/tables/servers';

let etags = 0;
const nextEtag = () => `W/"fake-${++etags}"`;
const copy = <T>(v: T): T => structuredClone(v);

/** Runs `fn` on a later tick: a fake answers asynchronously, and what it throws becomes a rejection. */
const later = <T>(fn: () => T): Promise<T> => Promise.resolve().then(fn);

/** Yields copies of what `snapshot` returns when iteration starts, as a query would. */
async function* lazily<T>(snapshot: () => T[]): AsyncGenerator<T> {
  await Promise.resolve();
  for (const item of snapshot()) yield copy(item);
}

const sortedValues = <T>(rows: Map<string, T>): T[] =>
  [...rows.keys()].sort().flatMap((k) => {
    const row = rows.get(k);
    return row === undefined ? [] : [row];
  });

export function createFakePolicyStore(): PolicyStore {
  const rows = new Map<string, PolicyRecord>();
  return {
    create(policy) {
      return later(() => {
        policyDocumentJson(policy.name, policy.document);
        if (rows.has(policy.name)) throw new ConcurrencyError(`policy ${policy.name} already exists`);
        rows.set(policy.name, copy(policy));
      });
    },
    get: (name) => Promise.resolve(copy(rows.get(name))),
    list: () => lazily(() => sortedValues(rows)),
    delete(name) {
      return later(() => {
        rows.delete(name);
      });
    },
  };
}

export function createFakeInstanceStore(): InstanceStore {
  const rows = new Map<string, Stored<InstanceRecord>>();
  const claims = new Map<string, string>();
  // The scheduler's slot ledger beside the rows, read as the Table store reads it (the later slot wins).
  const ledger = new Map<string, LedgerEntry>();
  const read = (row: Stored<InstanceRecord> | undefined) =>
    row && copy({ ...row, value: withLedger(row.value, ledger.get(row.value.name)) });
  const record = (field: keyof LedgerEntry, entries: readonly { name: string; slot: string }[]) =>
    later(() => {
      for (const e of entries) ledger.set(e.name, { ...ledger.get(e.name), [field]: e.slot });
      return [];
    });
  return {
    create(instance) {
      return later(() => {
        if (rows.has(instance.name)) {
          throw new ConcurrencyError(`backup instance ${instance.name} already exists`);
        }
        const claimKey = datasourceClaimKey(instance.dataSource.resourceID);
        const owner = claims.get(claimKey);
        if (owner !== undefined) {
          throw datasourceAlreadyProtected(instance.dataSource.resourceID, owner);
        }
        rows.set(instance.name, { value: copy(instance), etag: nextEtag() });
        claims.set(claimKey, instance.name);
      });
    },
    get: (name) => Promise.resolve(read(rows.get(name))),
    list: () => lazily(() => sortedValues(rows).map((row) => read(row)!)),
    update(instance, etag) {
      return later(() => {
        const current = rows.get(instance.name);
        if (!current) {
          throw new ConcurrencyError(`backup instance ${instance.name} was deleted since it was read`);
        }
        if (current.value.dataSource.resourceID.toLowerCase() !== instance.dataSource.resourceID.toLowerCase()) {
          throw resourceIdChanged(instance.name);
        }
        if (current.etag !== etag) {
          throw new ConcurrencyError(`backup instance ${instance.name} changed since it was read`);
        }
        // As the Table store: pendingSlot lives in the ledger only, update does not write it.
        const { pendingSlot: _pending, ...row } = instance;
        const next = { value: copy(row), etag: nextEtag() };
        rows.set(instance.name, next);
        return next.etag;
      });
    },
    markSlotsPending: (entries) => record('pending', entries),
    recordSlots: (entries) => record('slot', entries),
    delete(name) {
      return later(() => {
        const current = rows.get(name);
        if (current) {
          rows.delete(name);
          ledger.delete(name);
          claims.delete(datasourceClaimKey(current.value.dataSource.resourceID));
        }
      });
    },
  };
}

export function createFakeRecoveryPointStore(): RecoveryPointStore {
  const partitions = new Map<string, Map<string, Stored<RecoveryPointRecord>>>();
  const partition = (instanceName: string) => {
    let p = partitions.get(instanceName);
    if (!p) partitions.set(instanceName, (p = new Map<string, Stored<RecoveryPointRecord>>()));
    return p;
  };
  return {
    create(point) {
      return later(() => {
        checkRecoveryPointId(point);
        const p = partition(point.instanceName);
        if (p.has(point.id)) {
          throw new ConcurrencyError(`recovery point ${point.id} of ${point.instanceName} already exists`);
        }
        p.set(point.id, { value: copy(point), etag: nextEtag() });
      });
    },
    get: (instanceName, id) => Promise.resolve(copy(partitions.get(instanceName)?.get(id))),
    list(instanceName, options = {}) {
      // Ids sort newest first by construction (recoveryPointId), as Table Storage orders RowKeys.
      return lazily(() => {
        const fromMs = boundMs(options.from, 'from');
        const toMs = boundMs(options.to, 'to');
        return sortedValues(partitions.get(instanceName) ?? new Map<string, Stored<RecoveryPointRecord>>())
          .filter((row) => {
            const ms = Date.parse(row.value.time);
            return (
              (fromMs === undefined || ms >= fromMs) &&
              (toMs === undefined || ms < toMs) &&
              (options.afterId === undefined || escapeKey(row.value.id) > escapeKey(options.afterId))
            );
          })
          .slice(0, options.limit);
      });
    },
    listAll() {
      return lazily(() => [...partitions.values()].flatMap((p) => sortedValues(p)));
    },
    update(point, etag) {
      return later(() => {
        checkRecoveryPointId(point);
        const p = partition(point.instanceName);
        if (p.get(point.id)?.etag !== etag) {
          throw new ConcurrencyError(`recovery point ${point.id} of ${point.instanceName} changed since it was read`);
        }
        const next = { value: copy(point), etag: nextEtag() };
        p.set(point.id, next);
        return next.etag;
      });
    },
    delete(instanceName, id) {
      return later(() => {
        partitions.get(instanceName)?.delete(id);
      });
    },
    newest(instanceName, options = {}) {
      return later(() => {
        const rows = sortedValues(partitions.get(instanceName) ?? new Map<string, Stored<RecoveryPointRecord>>());
        const row = rows.find((r) => options.status === undefined || r.value.status === options.status);
        return row && copy(row.value);
      });
    },
  };
}

/** Stores a job the way the adapter does: warnings trimmed to fit, JSON fields size-checked. */
function normaliseJobFields<T extends Partial<JobRecord>>(fields: T): T {
  if (fields.progress) smallJson(fields.progress, 'progress');
  if (fields.error) smallJson(fields.error, 'error');
  if (fields.extra) smallJson(fields.extra, 'extra');
  return fields.warnings ? { ...fields, warnings: fitWarnings(fields.warnings) } : fields;
}

export function createFakeJobStore(clock: Clock = systemClock): JobStore {
  const rows = new Map<string, JobRecord>();
  return {
    create(job) {
      return later(() => {
        if (boundMs(job.startTime, 'startTime') === undefined) throw new RangeError('no startTime');
        if (rows.has(job.id)) throw new ConcurrencyError(`backup job ${job.id} already exists`);
        rows.set(job.id, copy(normaliseJobFields(job)));
      });
    },
    get: (id) => Promise.resolve(copy(rows.get(id))),
    patch(id, fields) {
      return later(() => {
        const current = rows.get(id);
        if (!current) throw jobNotFound(id);
        rows.set(id, { ...current, ...copy(normaliseJobFields(guardJobPatch(current.status, fields))) });
      });
    },
    list(filter) {
      return lazily(() => {
        const { fromMs, toMs } = jobWindow(filter, clock.now());
        return [...rows.values()]
          .map((job) => ({ job, ms: Date.parse(job.startTime) }))
          .filter(
            ({ job, ms }) =>
              ms >= fromMs &&
              (toMs === undefined || ms < toMs) &&
              (filter.backupInstance === undefined || job.backupInstance === filter.backupInstance) &&
              (filter.operation === undefined || job.operation === filter.operation) &&
              (filter.status === undefined || job.status === filter.status),
          )
          .sort((a, b) => b.ms - a.ms || (escapeKey(a.job.id) < escapeKey(b.job.id) ? -1 : 1))
          .map(({ job }) => job);
      });
    },
  };
}

export function createFakeAuditLogStore(clock: Clock = systemClock): AuditLogStore {
  const rows = new Map<string, AuditEntry>();
  // The table's own order: (day partition, inverted time, id) — newest first, ties by id.
  const key = (e: AuditEntry) => {
    const k = auditKeys(e);
    return `${k.partitionKey}|${k.rowKey}`;
  };
  return {
    append(entry) {
      return later(() => {
        const k = key(entry);
        if (rows.has(k)) throw new ConcurrencyError(`audit entry ${entry.id} already exists`);
        rows.set(k, copy(entry));
      });
    },
    list(filter) {
      return lazily(() => {
        const { fromMs, toMs } = jobWindow(filter, clock.now());
        return sortedValues(rows).filter((e) => {
          const ms = Date.parse(e.time);
          return (
            ms >= fromMs &&
            (toMs === undefined || ms < toMs) &&
            (filter.principal === undefined || e.principal === filter.principal)
          );
        });
      });
    },
  };
}

export function createFakeStores(clock: Clock = systemClock): StateStores {
  return {
    policies: createFakePolicyStore(),
    instances: createFakeInstanceStore(),
    recoveryPoints: createFakeRecoveryPointStore(),
    jobs: createFakeJobStore(clock),
    auditLog: createFakeAuditLogStore(clock),
    servers: createFakeServerStore(),
    slots: createFakeSlotStore(),
  };
}

export function createFakeServerStore(): ServerStore {
  const rows = new Map<string, Stored<ServerRecord>>();
  return {
    create(server) {
      return later(() => {
        if (rows.has(server.name)) throw new ConcurrencyError(`server ${server.name} already exists`);
        rows.set(server.name, { value: copy(server), etag: nextEtag() });
      });
    },
    get: (name) => Promise.resolve(copy(rows.get(name))),
    list: () => lazily(() => sortedValues(rows)),
    update(server, etag) {
      return later(() => {
        const current = rows.get(server.name);
        if (!current) throw new ConcurrencyError(`server ${server.name} was deleted since it was read`);
        if (current.value.resourceID.toLowerCase() !== server.resourceID.toLowerCase()) {
          throw serverResourceIdChanged(server.name);
        }
        if (current.etag !== etag) throw new ConcurrencyError(`server ${server.name} changed since it was read`);
        const next = { value: copy(server), etag: nextEtag() };
        rows.set(server.name, next);
        return next.etag;
      });
    },
    delete: (name) => later(() => void rows.delete(name)),
  };
}

export function createFakeSlotStore(): SlotStore {
  const rows = new Map<string, Stored<SlotRow>>();
  const serverKey = (key: string) => `s:${key.toLowerCase()}`;
  return {
    read: (key) =>
      later(() => {
        const server = rows.get(serverKey(key));
        const host = rows.get('host');
        return copy({ ...(server ? { server } : {}), ...(host ? { host } : {}) });
      }),
    write: (key, server, host) =>
      later(() => {
        const checks: [string, string | undefined][] = [
          [serverKey(key), server.etag],
          ['host', host.etag],
        ];
        for (const [k, etag] of checks) {
          if (rows.get(k)?.etag !== etag) throw new ConcurrencyError(`the backup slots of ${key} changed`);
        }
        rows.set(serverKey(key), { value: copy(server.row), etag: nextEtag() });
        rows.set('host', { value: copy(host.row), etag: nextEtag() });
      }),
    setLimit: (key, limit) =>
      later(() => {
        const current = rows.get(serverKey(key))?.value ?? { holders: [], queue: [] };
        const { limit: _old, ...rest } = current;
        rows.set(serverKey(key), { value: limit === undefined ? rest : { ...rest, limit }, etag: nextEtag() });
      }),
  };
}

/** The part of the vault blob store fleets use (globals points: a JSON manifest and a small script blob), in memory. */
export function createFakeJsonBlobs(): Pick<
  VaultBlobStore,
  'putJson' | 'putBytes' | 'getJson' | 'openRead' | 'list' | 'delete'
> & {
  readonly blobs: Map<string, Buffer>;
} {
  const blobs = new Map<string, Buffer>();
  const info = (name: string, body: Buffer): VaultBlobInfo => ({
    name,
    bytes: body.length,
    createdOn: new Date(0).toISOString(),
    lastModified: new Date(0).toISOString(),
    metadata: {},
  });
  return {
    blobs,
    putJson: (name, value) => later(() => void blobs.set(name, Buffer.from(JSON.stringify(value)))),
    putBytes: (name, body) => later(() => void blobs.set(name, Buffer.from(body))),
    getJson: <T>(name: string) =>
      later(() => {
        const body = blobs.get(name);
        return body === undefined ? undefined : (JSON.parse(body.toString('utf8')) as T);
      }),
    openRead: (name) =>
      later(() => {
        const body = blobs.get(name);
        if (body === undefined) throw new Error(`blob ${name} does not exist`);
        return Readable.from([body]);
      }),
    list: (prefix = '') =>
      lazily(() => [...blobs.entries()].filter(([n]) => n.startsWith(prefix)).map(([n, b]) => info(n, b))),
    delete: (name) => later(() => void blobs.delete(name)),
  };
}
