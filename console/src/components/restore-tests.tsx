// Restore-test evidence as an operator reads it: a point's badge (Passed, Failed, or not tested) that opens the
// test's details in one click — mismatches by table, each assertion with its result, the scratch server's version,
// what the SHA-256 covered — an instance's history of tests, newest first, and "Test restore now" through a plan
// that covers the instance.

import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { policyNameFromId, type BackupInstanceResource } from '../../../shared/contracts/instances';
import type { RestoreTestPlanResource, RestoreTestResult } from '../../../shared/contracts/restore-tests';
import { instanceSelector, selectInstances } from '../../../shared/domain/plan-selection';
import { api } from '../api';
import { bytes, count, localTime, seconds } from '../format';
import { ErrorPanel, Status, Time } from './basics';
import { Button, Dialog, Field } from './forms';

const failedAssertions = (t: RestoreTestResult) => t.assertions.filter((a) => !a.passed);

/** The test's details: facts, the error that stopped it, its mismatches and its assertions. */
export function RestoreTestDetails({ test: t }: { test: RestoreTestResult }) {
  const integrity = t.integrity;
  return (
    <>
      <dl class="facts">
        <div>
          <dt>Result</dt>
          <dd>
            <Status value={t.status} />
          </dd>
        </div>
        <div>
          <dt>Tested</dt>
          <dd>
            <Time iso={t.time} /> by plan {t.planName}
          </dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{seconds(t.durationMs / 1000)}</dd>
        </div>
        <div>
          <dt>Compared</dt>
          <dd>
            {t.contentsChecked
              ? `${count(t.tables)} tables, ${count(t.rowsCompared)} rows`
              : 'SHA-256 only: the point has no manifest of contents'}
          </dd>
        </div>
        <div>
          <dt>Scratch server</dt>
          <dd>
            {t.targetServerVersion ? `PostgreSQL ${t.targetServerVersion}` : 'not reached'}, database{' '}
            <span class="mono small break">{t.scratchDatabase}</span> (dropped)
          </dd>
        </div>
        <div>
          <dt>Integrity</dt>
          <dd>
            {integrity ? (
              <>
                SHA-256 matched over the stored blob ({integrity.storedAs}, {bytes(integrity.bytes)}):{' '}
                <span class="mono small break">{integrity.sha256}</span>
                {integrity.encryptionKeyId && (
                  <div class="small">
                    key <span class="mono break">{integrity.encryptionKeyId}</span>
                  </div>
                )}
              </>
            ) : (
              'not checked: the restore did not get that far'
            )}
          </dd>
        </div>
      </dl>
      {t.error && (
        <div class="error-panel">
          <p class="error-title">
            <strong>The test could not compare</strong> <code>{t.error.code}</code>
          </p>
          <p>{t.error.message}</p>
        </div>
      )}
      <h3>Mismatches</h3>
      {t.mismatchCount === 0 ? (
        <p class="muted">None{t.contentsChecked ? ': every table matched its manifest.' : '.'}</p>
      ) : (
        <>
          <table class="data compact">
            <caption class="sr-only">Mismatches</caption>
            <thead>
              <tr>
                <th scope="col">Object</th>
                <th scope="col">Kind</th>
                <th scope="col">Expected</th>
                <th scope="col">Restored</th>
              </tr>
            </thead>
            <tbody>
              {t.mismatches.map((m) => (
                <tr key={`${m.kind}:${m.object}`}>
                  <th scope="row" class="mono small">
                    {m.object}
                  </th>
                  <td>{m.kind}</td>
                  <td class="mono small break">{String(m.expected)}</td>
                  <td class="mono small break">{m.actual === null ? 'missing' : String(m.actual)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {t.mismatchCount > t.mismatches.length && (
            <p class="small muted">
              {count(t.mismatches.length)} of {count(t.mismatchCount)} mismatches shown.
            </p>
          )}
        </>
      )}
      <h3>Assertions</h3>
      {t.assertions.length === 0 ? (
        <p class="muted">The plan has no assertions for this instance.</p>
      ) : (
        <ul class="assertions">
          {t.assertions.map((a, i) => (
            <li key={i}>
              <Status value={a.passed ? 'Passed' : 'Failed'} /> <code class="break">{a.sql}</code>
              {a.message && <div class="small">{a.message}</div>}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** A button that opens a test's details in a dialog; `children` is its visible text. */
function DetailsButton({
  test,
  title,
  label,
  children,
}: {
  test: RestoreTestResult;
  title: string;
  /** Read after the visible text, so a screen reader knows what opens. */
  label: string;
  children: ComponentChildren;
}) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" class="btn btn-small btn-link" onClick={() => setOpen(true)}>
        {children}
        <span class="sr-only"> {label}</span>
      </button>
      <Dialog title={title} open={open} onClose={() => setOpen(false)} wide>
        <RestoreTestDetails test={test} />
        <div class="dialog-actions">
          <Button onClick={() => setOpen(false)}>Close</Button>
        </div>
      </Dialog>
    </>
  );
}

/** A point's latest restore test: its status word opening the details, or "Not tested". */
export function RestoreTestBadge({ test, pointTime }: { test: RestoreTestResult | undefined; pointTime: string }) {
  if (!test) return <span class="muted small">Not tested</span>;
  return (
    <DetailsButton
      test={test}
      title={`Restore test of the point of ${localTime(pointTime)}`}
      label="— restore test details"
    >
      <Status value={test.status} />
    </DetailsButton>
  );
}

/** The instance's restore tests, newest first (GET …/restoreTests). */
export function RestoreTestHistory({ tests }: { tests: readonly RestoreTestResult[] }) {
  return (
    <div class="table-wrap">
      <table class="data compact">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Result</th>
            <th scope="col">Point</th>
            <th scope="col" class="num">
              Duration
            </th>
            <th scope="col" class="num">
              Tables
            </th>
            <th scope="col" class="num">
              Rows compared
            </th>
            <th scope="col" class="num">
              Mismatches
            </th>
            <th scope="col">Failed assertions</th>
          </tr>
        </thead>
        <tbody>
          {tests.map((t) => {
            const failed = failedAssertions(t);
            return (
              <tr key={t.jobId}>
                <th scope="row">
                  <Time iso={t.time} />
                </th>
                <td>
                  <DetailsButton test={t} title={`Restore test ${t.jobId}`} label="— restore test details">
                    <Status value={t.status} />
                  </DetailsButton>
                  {t.error && <code class="small"> {t.error.code}</code>}
                </td>
                <td class="mono small" title={t.recoveryPointId}>
                  {t.recoveryPointId.slice(0, 8)}…
                </td>
                <td class="num">{seconds(t.durationMs / 1000)}</td>
                <td class="num">{count(t.tables)}</td>
                <td class="num">{count(t.rowsCompared)}</td>
                <td class="num">{count(t.mismatchCount)}</td>
                <td>
                  {failed.length === 0 ? (
                    <span class="muted">none</span>
                  ) : (
                    <ul class="plain">
                      {failed.map((a, i) => (
                        <li key={i}>
                          <code class="break">{a.sql}</code>
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** The Restore-mode plans that cover `instance` (by name, by its policy, or by its server). */
export function plansCovering(
  plans: readonly RestoreTestPlanResource[],
  instance: BackupInstanceResource,
): RestoreTestPlanResource[] {
  const p = instance.properties;
  const me = {
    name: instance.name,
    policyName: policyNameFromId(p.policyInfo.policyId),
    resourceID: p.dataSourceInfo.resourceID,
    protected: p.currentProtectionState === 'ProtectionConfigured',
    deleted: false,
  };
  return plans.filter(
    (plan) =>
      plan.properties.mode === 'Restore' &&
      selectInstances(instanceSelector(plan.properties), [me]).includes(instance.name),
  );
}

function pointWords(point: RestoreTestPlanResource['properties']['point']): string {
  return point === 'latest'
    ? 'its newest recovery point'
    : `a recovery point drawn at random from the last ${point.random.window} (rehydrated first if archived)`;
}

function alsoTests(plan: RestoreTestPlanResource['properties'], name: string): string | undefined {
  if (plan.backupInstances) {
    const others = plan.backupInstances.filter((n) => n !== name);
    return others.length > 0 ? `The plan also tests ${others.join(', ')}.` : undefined;
  }
  return plan.policy !== undefined
    ? `The plan also tests every other protected instance of policy ${plan.policy}.`
    : `The plan also tests every other protected instance on server ${plan.server ?? ''}.`;
}

/** Runs a covering plan now (POST restoreTestPlans/{plan}/run); reports the job of this instance. */
export function TestRestoreDialog({
  name,
  plans,
  open,
  onClose,
  onStarted,
}: {
  name: string;
  plans: readonly RestoreTestPlanResource[];
  open: boolean;
  onClose: () => void;
  onStarted: (jobId: string) => void;
}) {
  const [chosen, setChosen] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const plan = plans.find((p) => p.name === chosen) ?? plans[0];
  if (!plan) return null;
  const props = plan.properties;
  const assertions = props.assertions[name]?.length ?? 0;
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const jobs = await api.runRestoreTestPlan(plan.name);
      const mine = jobs.value.find((j) => j.properties.backupInstance === name) ?? jobs.value[0];
      if (mine) onStarted(mine.name);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Test restore of ${name} now`} open={open} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)}>
        <Field label="Restore-test plan">
          {(a) => (
            <select {...a} value={plan.name} onChange={(e) => setChosen(e.currentTarget.value)}>
              {plans.map((p) => (
                <option key={p.name} value={p.name}>
                  {p.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <p>
          Restores {pointWords(props.point)} into a scratch database on{' '}
          <span class="mono small break">{props.target?.datasourceAuthCredentials.secretStoreResource.uri}</span>,
          compares it table by table with the point's manifest
          {assertions > 0 ? `, runs ${assertions} assertion${assertions === 1 ? '' : 's'}` : ''}, then drops it (time
          limit {props.timeLimit}).
        </p>
        {alsoTests(props, name) && <p class="muted small">{alsoTests(props, name)}</p>}
        {error !== undefined && <ErrorPanel error={error} />}
        <div class="dialog-actions">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" kind="primary" busy={busy}>
            Start test
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
