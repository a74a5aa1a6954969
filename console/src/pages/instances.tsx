// Instances: one row per backup instance — name (a link to its page), server and database, policy, protection,
// health, readiness, last successful backup, next scheduled backup, size of the newest point. Filtered and paged in
// the browser (50 rows a page), so 500 instances render as fast as 50.

import { useMemo, useState } from 'preact/hooks';
import { policyNameFromId } from '../../../shared/contracts/instances';
import { api } from '../api';
import { Empty, ErrorPanel, Loading, PageHead, Pager, protectionWords, Status, Time } from '../components/basics';
import { bytes, serverOf } from '../format';
import { useCan, usePages, useResource } from '../hooks';
import { Link } from '../router';

const PAGE = 50;

export function InstancesPage() {
  const list = useResource(api.listInstances, []);
  const can = useCan();
  const [filter, setFilter] = useState('');
  const rows = useMemo(() => {
    const all = [...(list.data?.value ?? [])].sort((a, b) => a.name.localeCompare(b.name));
    const f = filter.trim().toLowerCase();
    if (f === '') return all;
    return all.filter((i) =>
      [
        i.name,
        i.properties.dataSourceInfo.resourceName,
        i.properties.dataSourceInfo.resourceID,
        policyNameFromId(i.properties.policyInfo.policyId),
      ]
        .join(' ')
        .toLowerCase()
        .includes(f),
    );
  }, [list.data, filter]);
  const { shown, pager, reset } = usePages(rows, PAGE);
  return (
    <>
      <PageHead title="Instances" subtitle="Every protected database, its last backup and its next one.">
        {can('Admin') && (
          <Link class="btn btn-primary" href="/protect">
            Protect a database
          </Link>
        )}
      </PageHead>
      {list.error && <ErrorPanel error={list.error} title="The instances could not be loaded" />}
      {!list.data && !list.error && <Loading what="instances" />}
      {list.data && list.data.value.length === 0 && (
        <Empty title="No backup instances yet.">
          {can('Admin') ? (
            <p>
              <Link href="/protect">Protect a database</Link> to create the first one: pgkeep checks that it can back it
              up before anything is saved.
            </p>
          ) : (
            <p>Ask a pgkeep Admin to protect a database.</p>
          )}
        </Empty>
      )}
      {list.data && list.data.value.length > 0 && (
        <>
          <div class="toolbar">
            <label class="inline-field">
              <span>Filter instances</span>
              <input
                type="search"
                value={filter}
                placeholder="name, database, server or policy"
                onInput={(e) => {
                  setFilter(e.currentTarget.value);
                  reset();
                }}
              />
            </label>
            <span class="muted">
              {rows.length} of {list.data.value.length}
            </span>
          </div>
          <div class="table-wrap">
            <table class="data">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Server and database</th>
                  <th scope="col">Policy</th>
                  <th scope="col">Protection</th>
                  <th scope="col">Health</th>
                  <th scope="col">Readiness</th>
                  <th scope="col">Last successful backup</th>
                  <th scope="col">Next backup</th>
                  <th scope="col" class="num">
                    Newest point
                  </th>
                </tr>
              </thead>
              <tbody>
                {shown.map((i) => {
                  const p = i.properties;
                  return (
                    <tr key={i.name}>
                      <th scope="row">
                        <Link href={`/instances/${encodeURIComponent(i.name)}`}>{i.name}</Link>
                      </th>
                      <td>
                        <span class="mono">{serverOf(p.dataSourceInfo.resourceID)}</span> /{' '}
                        {p.dataSourceInfo.resourceName}
                      </td>
                      <td>{policyNameFromId(p.policyInfo.policyId)}</td>
                      <td>
                        <Status value={p.currentProtectionState} label={protectionWords[p.currentProtectionState]} />
                      </td>
                      <td>
                        {p.health ? (
                          <span title={p.health.reasons.map((r) => `${r.code}: ${r.message}`).join('\n') || undefined}>
                            <Status value={p.health.status} />
                          </span>
                        ) : (
                          <span class="muted" title="health not evaluated yet">
                            —
                          </span>
                        )}
                      </td>
                      <td>
                        {p.readiness ? (
                          <span title={p.readiness.message ?? `as of ${p.readiness.checkedAt}`}>
                            <Status
                              value={p.readiness.status}
                              label={p.readiness.status === 'Ready' ? 'Ready' : 'Not ready'}
                            />
                            {p.readiness.code && <code class="small"> {p.readiness.code}</code>}
                          </span>
                        ) : (
                          '—'
                        )}
                      </td>
                      <td>
                        <Time iso={p.lastRecoveryPoint?.recoveryPointTime} relative />
                      </td>
                      <td>
                        <Time iso={p.nextScheduledBackup} relative />
                      </td>
                      <td class="num">{bytes(p.lastRecoveryPoint?.sizeInBytes)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <Pager {...pager} label="Instances" />
        </>
      )}
    </>
  );
}
