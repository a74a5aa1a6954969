// Policies: each one's schedule in words ("Every Sunday at 02:00, Europe/Berlin") and retention rules, and how many
// instances use it. New policies are written on their own page (form or pasted Azure BackupPolicy JSON).

import { useMemo } from 'preact/hooks';
import { policyNameFromId } from '../../../shared/contracts/instances';
import { api } from '../api';
import { Empty, ErrorPanel, Loading, PageHead, Tag } from '../components/basics';
import { useCan, useResource } from '../hooks';
import { Link } from '../router';

export function PoliciesPage() {
  const policies = useResource(api.listPolicies, []);
  const instances = useResource(api.listInstances, []);
  const can = useCan();
  const users = useMemo(() => {
    const m = new Map<string, number>();
    for (const i of instances.data?.value ?? []) {
      const p = policyNameFromId(i.properties.policyInfo.policyId);
      m.set(p, (m.get(p) ?? 0) + 1);
    }
    return m;
  }, [instances.data]);
  return (
    <>
      <PageHead title="Policies" subtitle="When backups run and how long each kind of recovery point is kept.">
        {can('Admin') && (
          <Link class="btn btn-primary" href="/policies/new">
            New policy
          </Link>
        )}
      </PageHead>
      {policies.error && <ErrorPanel error={policies.error} title="The policies could not be loaded" />}
      {!policies.data && !policies.error && <Loading what="policies" />}
      {policies.data && policies.data.value.length === 0 && (
        <Empty title="No backup policies yet.">
          <p>
            {can('Admin') ? (
              <>
                <Link href="/policies/new">Create a policy</Link> — from a form, or by pasting an Azure BackupPolicy
                JSON — and see what it keeps over ten years before you save it.
              </>
            ) : (
              'Ask a pgkeep Admin to create one.'
            )}
          </p>
        </Empty>
      )}
      {policies.data && policies.data.value.length > 0 && (
        <div class="table-wrap">
          <table class="data">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Schedule</th>
                <th scope="col">Retention</th>
                <th scope="col" class="num">
                  Instances
                </th>
              </tr>
            </thead>
            <tbody>
              {policies.data.value.map((p) => (
                <tr key={p.name} id={p.name}>
                  <th scope="row">{p.name}</th>
                  <td>{p.summary?.schedule ?? <span class="muted">(cannot be read by this version)</span>}</td>
                  <td>
                    <ul class="rules">
                      {p.summary?.retention.map((r) => (
                        <li key={r.tag}>
                          <Tag value={r.tag} /> {r.text} <span class="muted small">({r.appliesTo})</span>
                        </li>
                      ))}
                    </ul>
                  </td>
                  <td class="num">{users.get(p.name) ?? 0}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
