// Protect a database: the form that creates a backup instance. It runs every readiness check first (POST
// /api/validateForBackup) and shows each result, with the remediation of a failed one (the GRANT script to copy, the
// role-assignment template to download); only when all pass does it create the instance and open its page.

import { useState } from 'preact/hooks';
import {
  postgresDatasourceType,
  type BackupInstanceBody,
  type ValidateForBackupResult,
} from '../../../shared/contracts/instances';
import { api } from '../api';
import { Card, Empty, ErrorPanel, Loading, PageHead } from '../components/basics';
import {
  Button,
  Field,
  FormProblems,
  problemsOf,
  SecretFields,
  secretStoreResource,
  TextField,
  type SecretInput,
} from '../components/forms';
import { ReadinessChecks } from '../components/readiness';
import { useCan, useResource } from '../hooks';
import { Link, navigate } from '../router';

interface Form {
  name: string;
  database: string;
  resourceID: string;
  location: string;
  policy: string;
  secret: SecretInput;
}

function bodyOf(f: Form): BackupInstanceBody {
  return {
    properties: {
      friendlyName: f.database.trim(),
      dataSourceInfo: {
        objectType: 'Datasource',
        datasourceType: postgresDatasourceType,
        resourceID: f.resourceID.trim(),
        resourceName: f.database.trim(),
        ...(f.location.trim() ? { resourceLocation: f.location.trim() } : {}),
      },
      policyInfo: { policyId: f.policy },
      datasourceAuthCredentials: {
        objectType: 'SecretStoreBasedAuthCredentials',
        secretStoreResource: secretStoreResource(f.secret),
      },
    },
  };
}

// Problems are named under $.properties (PUT) or $.backupInstance (validateForBackup): match on what follows.
const T = {
  name: ['name'],
  database: [
    '$.properties.dataSourceInfo.resourceName',
    '$.backupInstance.dataSourceInfo.resourceName',
    '$.properties.friendlyName',
  ],
  resourceID: ['$.properties.dataSourceInfo.resourceID', '$.backupInstance.dataSourceInfo.resourceID'],
  location: ['$.properties.dataSourceInfo.resourceLocation', '$.backupInstance.dataSourceInfo.resourceLocation'],
  policy: ['$.properties.policyInfo', '$.backupInstance.policyInfo'],
  secret: ['$.properties.datasourceAuthCredentials', '$.backupInstance.datasourceAuthCredentials'],
};

export function ProtectPage() {
  const can = useCan();
  const policies = useResource(api.listPolicies, []);
  const [f, setF] = useState<Form>({
    name: '',
    database: '',
    resourceID: '',
    location: '',
    policy: '',
    secret: { type: 'AppSetting', value: '' },
  });
  const [report, setReport] = useState<ValidateForBackupResult | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState<'check' | 'protect' | undefined>(undefined);
  const policy = f.policy || policies.data?.value[0]?.name || '';
  const set = <K extends keyof Form>(k: K, v: Form[K]) => {
    setF((old) => ({ ...old, [k]: v }));
    setReport(undefined);
  };

  const run = async (protect: boolean) => {
    setBusy(protect ? 'protect' : 'check');
    setError(undefined);
    const form = { ...f, policy };
    try {
      const body = bodyOf(form);
      const result = await api.validateNewForBackup(body.properties);
      setReport(result);
      if (!protect || result.status !== 'Succeeded') return;
      const created = await api.putInstance(form.name.trim(), body);
      navigate(`/instances/${encodeURIComponent(created.name)}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(undefined);
    }
  };
  const problems = problemsOf(error);

  if (!can('Admin')) {
    return (
      <>
        <PageHead title="Protect a database" />
        <ErrorPanel
          error={new Error('protecting a database needs the Admin role')}
          title="You cannot protect databases"
        />
      </>
    );
  }
  return (
    <>
      <PageHead
        title="Protect a database"
        subtitle="pgkeep checks that it can read every table before it saves anything; it stores only a reference to the credentials."
      />
      {policies.error && <ErrorPanel error={policies.error} title="The policies could not be loaded" />}
      {!policies.data && !policies.error && <Loading what="policies" />}
      {policies.data && policies.data.value.length === 0 && (
        <Empty title="There is no backup policy to protect it with.">
          <p>
            <Link href="/policies/new">Create a policy</Link> first: it says when backups run and how long they are
            kept.
          </p>
        </Empty>
      )}
      {policies.data && policies.data.value.length > 0 && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void run(true);
          }}
        >
          <Card title="Database">
            <div class="form-grid">
              <TextField
                label="Instance name"
                value={f.name}
                onValue={(v) => set('name', v)}
                targets={T.name}
                problems={problems}
                hint="how pgkeep names this protection; letters, digits, . _ -"
              />
              <TextField
                label="Database name"
                value={f.database}
                onValue={(v) => set('database', v)}
                targets={T.database}
                problems={problems}
              />
              <TextField
                label="Server resource ID"
                value={f.resourceID}
                onValue={(v) => set('resourceID', v)}
                targets={T.resourceID}
                problems={problems}
                hint="the Azure resource ID of the database (…/flexibleServers/<server>/databases/<db>), or any stable id for a server outside Azure"
              />
              <TextField
                label="Location (optional)"
                value={f.location}
                onValue={(v) => set('location', v)}
                targets={T.location}
                problems={problems}
                hint="the Azure region, e.g. westeurope"
              />
              <Field label="Backup policy" targets={T.policy} problems={problems}>
                {(a) => (
                  <select {...a} value={policy} onChange={(e) => set('policy', e.currentTarget.value)}>
                    {policies.data!.value.map((p) => (
                      <option key={p.name} value={p.name}>
                        {p.name}
                        {p.summary ? ` — ${p.summary.schedule}` : ''}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
            </div>
          </Card>
          <Card title="Credentials">
            <div class="form-grid">
              <SecretFields
                secret={f.secret}
                onChange={(v) => set('secret', v)}
                settingLabel="App setting with the connection string"
                settingHint="its value: Server=…;Database=…;Port=5432;User Id=…;Password=…;Ssl Mode=Require;"
                targets={T.secret}
                problems={problems}
              />
            </div>
          </Card>
          <FormProblems error={error} problems={problems} claimed={Object.values(T).flat()} />
          {report && (
            <Card title="Readiness checks">
              <ReadinessChecks result={report} label="Readiness checks" />
            </Card>
          )}
          <div class="form-actions">
            <Button busy={busy === 'check'} onClick={() => void run(false)}>
              Check readiness
            </Button>
            <Button type="submit" kind="primary" busy={busy === 'protect'}>
              Protect database
            </Button>
          </div>
        </form>
      )}
    </>
  );
}
