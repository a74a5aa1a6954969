// A new policy, from a form (days, time, zone, how long Default/Weekly/Monthly/Yearly points are kept, when they move
// to the archive) or from pasted Azure BackupPolicy JSON. Before saving, the API simulates ten years of it (the same
// planner as `pgkeep policy simulate`) and the chart shows how many points of each tag each tier would hold.

import { useEffect, useMemo, useState } from 'preact/hooks';
import type { PolicySimulation } from '../../../shared/contracts/policies';
import { api } from '../api';
import { Card, ErrorPanel, PageHead } from '../components/basics';
import { StackedBars } from '../components/chart';
import { Button, Field, FormProblems, problemsOf, TextField } from '../components/forms';
import { browserZone, count } from '../format';
import { useCan } from '../hooks';
import { Link, navigate } from '../router';

const weekdays = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
type Unit = 'D' | 'W' | 'M' | 'Y';
const units: [Unit, string][] = [
  ['D', 'days'],
  ['W', 'weeks'],
  ['M', 'months'],
  ['Y', 'years'],
];

interface Keep {
  enabled: boolean;
  n: string;
  unit: Unit;
  archive: boolean;
  archiveN: string;
  archiveUnit: Unit;
}

interface PolicyForm {
  days: number[];
  time: string;
  zone: string;
  keep: Record<'Default' | 'Weekly' | 'Monthly' | 'Yearly', Keep>;
}

const keep = (enabled: boolean, n: string, unit: Unit): Keep => ({
  enabled,
  n,
  unit,
  archive: false,
  archiveN: '1',
  archiveUnit: 'Y',
});

/** "+01:00" for `zone` at the instant `utcIso`. */
function offsetAt(zone: string, utcIso: string): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
    .formatToParts(new Date(utcIso))
    .find((p) => p.type === 'timeZoneName')?.value;
  const m = /GMT([+-]\d{2}):?(\d{2})?/.exec(part ?? '');
  return m ? `${m[1]}:${m[2] ?? '00'}` : '+00:00';
}

const store = (dataStoreType: string) => ({ objectType: 'DataStoreInfoBase', dataStoreType });
const duration = (n: string, unit: Unit) => `P${n.trim()}${unit}`;
const criteria: Record<string, [number, string]> = {
  Weekly: [20, 'FirstOfWeek'],
  Monthly: [15, 'FirstOfMonth'],
  Yearly: [10, 'FirstOfYear'],
};

/**
 * The Azure BackupPolicy the form describes: one weekly entry per chosen day, starting in the first week of 2024 at
 * the chosen local time (with that date's offset in the zone), a tagging criterion and a retention rule per kept tag.
 */
export function policyOf(f: PolicyForm): Record<string, unknown> {
  const intervals = f.days.map((d) => {
    const date = `2024-01-0${d}`; // 2024-01-01 is a Monday
    const offset = f.zone === 'UTC' ? '+00:00' : offsetAt(f.zone, `${date}T${f.time}:00Z`);
    return `R/${date}T${f.time}:00${offset}/P1W`;
  });
  const tags = (['Default', 'Weekly', 'Monthly', 'Yearly'] as const).filter(
    (t) => t === 'Default' || f.keep[t].enabled,
  );
  return {
    objectType: 'BackupPolicy',
    datasourceTypes: ['Microsoft.DBforPostgreSQL/servers/databases'],
    policyRules: [
      {
        name: 'BackupWeekly',
        objectType: 'AzureBackupRule',
        backupParameters: { objectType: 'AzureBackupParams', backupType: 'Full' },
        dataStore: store('VaultStore'),
        trigger: {
          objectType: 'ScheduleBasedTriggerContext',
          schedule: { repeatingTimeIntervals: intervals, timeZone: f.zone },
          taggingCriteria: tags.map((t) =>
            t === 'Default'
              ? { tagInfo: { tagName: 'Default' }, taggingPriority: 99, isDefault: true }
              : {
                  tagInfo: { tagName: t },
                  taggingPriority: criteria[t]![0],
                  isDefault: false,
                  criteria: [{ objectType: 'ScheduleBasedBackupCriteria', absoluteCriteria: [criteria[t]![1]] }],
                },
          ),
        },
      },
      ...tags.map((t) => {
        const k = f.keep[t];
        const vault = {
          deleteAfter: { objectType: 'AbsoluteDeleteOption', duration: duration(k.n, k.unit) },
          sourceDataStore: store('VaultStore'),
          targetDataStoreCopySettings: k.archive
            ? { copyAfter: { objectType: 'CopyOnExpiryOption' }, dataStore: store('ArchiveStore') }
            : [],
        };
        const archive = {
          deleteAfter: { objectType: 'AbsoluteDeleteOption', duration: duration(k.archiveN, k.archiveUnit) },
          sourceDataStore: store('ArchiveStore'),
          targetDataStoreCopySettings: null,
        };
        return {
          name: t,
          objectType: 'AzureRetentionRule',
          isDefault: t === 'Default',
          lifecycles: k.archive ? [vault, archive] : [vault],
        };
      }),
    ],
  };
}

const series = [
  { key: 'Yearly.ArchiveStore', label: 'Yearly, archive', tone: 'fill-yearly-archive' },
  { key: 'Yearly.VaultStore', label: 'Yearly, vault', tone: 'fill-yearly' },
  { key: 'Monthly.ArchiveStore', label: 'Monthly, archive', tone: 'fill-monthly-archive' },
  { key: 'Monthly.VaultStore', label: 'Monthly, vault', tone: 'fill-monthly' },
  { key: 'Weekly.ArchiveStore', label: 'Weekly, archive', tone: 'fill-weekly-archive' },
  { key: 'Weekly.VaultStore', label: 'Weekly, vault', tone: 'fill-weekly' },
  { key: 'Default.ArchiveStore', label: 'Default, archive', tone: 'fill-default-archive' },
  { key: 'Default.VaultStore', label: 'Default, vault', tone: 'fill-default' },
];

function SimulationView({ sim }: { sim: PolicySimulation }) {
  const last = sim.samples.at(-1);
  const total = (c: PolicySimulation['samples'][number]['counts']) =>
    Object.values(c).reduce((s, t) => s + t.VaultStore + t.ArchiveStore, 0);
  const present = series.filter((s) =>
    sim.samples.some((x) => {
      const [tag, st] = s.key.split('.') as [keyof typeof x.counts, 'VaultStore' | 'ArchiveStore'];
      return x.counts[tag][st] > 0;
    }),
  );
  return (
    <>
      <p>
        <strong>{sim.summary.schedule}</strong>
      </p>
      <ul class="rules">
        {sim.summary.retention.map((r) => (
          <li key={r.tag}>
            <strong>{r.tag}</strong> ({r.appliesTo}): {r.text}
          </li>
        ))}
      </ul>
      <StackedBars
        title="Recovery points kept, month by month over ten years"
        unit="points"
        width={480}
        height={220}
        series={present}
        bars={sim.samples.map((s) => ({
          label: new Date(s.at).toLocaleDateString(undefined, { month: 'short', year: 'numeric', timeZone: 'UTC' }),
          values: Object.fromEntries(
            present.map((x) => {
              const [tag, st] = x.key.split('.') as [keyof typeof s.counts, 'VaultStore' | 'ArchiveStore'];
              return [x.key, s.counts[tag][st]];
            }),
          ),
        }))}
      />
      {last && (
        <p class="muted small">
          After {Math.round(sim.samples.length / 12)} years, {count(total(last.counts))} recovery points exist:{' '}
          {Object.entries(last.counts)
            .filter(([, c]) => c.VaultStore + c.ArchiveStore > 0)
            .map(([tag, c]) => `${tag} ${c.VaultStore + c.ArchiveStore} (${c.ArchiveStore} archived)`)
            .join(', ')}
          .
        </p>
      )}
    </>
  );
}

function KeepFields({
  tag,
  k,
  onChange,
  required,
}: {
  tag: string;
  k: Keep;
  onChange: (k: Keep) => void;
  required?: boolean;
}) {
  return (
    <fieldset class="group keep">
      <legend>{tag} points</legend>
      {!required && (
        <label class="check">
          <input
            type="checkbox"
            checked={k.enabled}
            onChange={(e) => onChange({ ...k, enabled: e.currentTarget.checked })}
          />
          Keep {tag.toLowerCase()} points (
          {criteria[tag]
            ? `the first backup of each ${tag === 'Weekly' ? 'week' : tag === 'Monthly' ? 'month' : 'year'}`
            : ''}
          )
        </label>
      )}
      {(required || k.enabled) && (
        <div class="keep-row">
          <label class="inline-row">
            Keep in the vault for
            <input
              type="number"
              min={1}
              value={k.n}
              onInput={(e) => onChange({ ...k, n: e.currentTarget.value })}
              aria-label={`${tag}: keep in the vault for`}
            />
          </label>
          <select
            value={k.unit}
            onChange={(e) => onChange({ ...k, unit: e.currentTarget.value as Unit })}
            aria-label={`${tag}: vault unit`}
          >
            {units.map(([u, w]) => (
              <option key={u} value={u}>
                {w}
              </option>
            ))}
          </select>
          <label class="check">
            <input
              type="checkbox"
              checked={k.archive}
              onChange={(e) => onChange({ ...k, archive: e.currentTarget.checked })}
              aria-label={`${tag}: then move to the archive`}
            />
            then move to the archive
          </label>
          {k.archive && (
            <>
              <label class="inline-row">
                and keep there for
                <input
                  type="number"
                  min={1}
                  value={k.archiveN}
                  onInput={(e) => onChange({ ...k, archiveN: e.currentTarget.value })}
                  aria-label={`${tag}: keep in the archive for`}
                />
              </label>
              <select
                value={k.archiveUnit}
                onChange={(e) => onChange({ ...k, archiveUnit: e.currentTarget.value as Unit })}
                aria-label={`${tag}: archive unit`}
              >
                {units.map(([u, w]) => (
                  <option key={u} value={u}>
                    {w}
                  </option>
                ))}
              </select>
            </>
          )}
        </div>
      )}
    </fieldset>
  );
}

const zones = (() => {
  try {
    return (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf('timeZone');
  } catch {
    return ['UTC'];
  }
})();

export function NewPolicyPage() {
  const can = useCan();
  const [mode, setMode] = useState<'form' | 'json'>('form');
  const [name, setName] = useState('');
  const [json, setJson] = useState('');
  const [form, setForm] = useState<PolicyForm>({
    days: [7],
    time: '02:00',
    zone: browserZone || 'UTC',
    keep: {
      Default: keep(true, '30', 'D'),
      Weekly: keep(false, '12', 'W'),
      Monthly: keep(false, '12', 'M'),
      Yearly: keep(false, '10', 'Y'),
    },
  });
  const [sim, setSim] = useState<PolicySimulation | undefined>(undefined);
  const [simError, setSimError] = useState<unknown>(undefined);
  const [saveError, setSaveError] = useState<unknown>(undefined);
  const [saving, setSaving] = useState(false);

  const document = useMemo((): Record<string, unknown> | Error => {
    if (mode === 'form') return policyOf(form);
    try {
      const parsed: unknown = JSON.parse(json);
      return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
        ? (parsed as Record<string, unknown>)
        : new Error('the JSON must be an object (a BackupPolicy)');
    } catch (err) {
      return new Error(`this is not JSON yet: ${err instanceof Error ? err.message : String(err)}`);
    }
  }, [mode, form, json]);

  // Simulate on every change, half a second after the last one.
  useEffect(() => {
    if (document instanceof Error || (mode === 'json' && json.trim() === '')) {
      setSim(undefined);
      setSimError(undefined);
      return;
    }
    let stale = false;
    const t = setTimeout(() => {
      api.simulatePolicy({ policy: document }).then(
        (s) => !stale && (setSim(s), setSimError(undefined)),
        (err: unknown) => !stale && (setSim(undefined), setSimError(err)),
      );
    }, 500);
    return () => {
      stale = true;
      clearTimeout(t);
    };
  }, [document]);

  const save = async (e: Event) => {
    e.preventDefault();
    if (document instanceof Error) return setSaveError(document);
    setSaving(true);
    setSaveError(undefined);
    try {
      await api.putPolicy(name.trim(), document);
      navigate(`/policies#${encodeURIComponent(name.trim())}`);
    } catch (err) {
      setSaveError(err);
    } finally {
      setSaving(false);
    }
  };
  const problems = problemsOf(saveError);
  const setKeep = (tag: keyof PolicyForm['keep']) => (k: Keep) =>
    setForm({ ...form, keep: { ...form.keep, [tag]: k } });

  if (!can('Admin')) {
    return (
      <>
        <PageHead title="New policy" />
        <ErrorPanel error={new Error('creating policies needs the Admin role')} title="You cannot create policies" />
      </>
    );
  }
  return (
    <>
      <PageHead title="New policy" subtitle="See what a policy keeps over ten years before you save it.">
        <Link class="btn" href="/policies">
          Back to policies
        </Link>
      </PageHead>
      <form onSubmit={(e) => void save(e)} class="split">
        <div>
          <Card title="Policy">
            <TextField
              label="Policy name"
              value={name}
              onValue={setName}
              targets={['name', '$.name']}
              problems={problems}
              hint="letters, digits, . _ - (up to 100)"
            />
            <fieldset class="group radios">
              <legend>Write it</legend>
              <label class="check">
                <input type="radio" name="mode" checked={mode === 'form'} onChange={() => setMode('form')} />
                With the form
              </label>
              <label class="check">
                <input type="radio" name="mode" checked={mode === 'json'} onChange={() => setMode('json')} />
                By pasting Azure BackupPolicy JSON
              </label>
            </fieldset>
            {mode === 'json' ? (
              <Field
                label="BackupPolicy JSON"
                targets={['$']}
                problems={problems}
                hint="bare, or wrapped in properties, as Azure Backup exports it"
              >
                {(a) => (
                  <textarea
                    {...a}
                    rows={14}
                    class="mono"
                    value={json}
                    onInput={(e) => setJson(e.currentTarget.value)}
                    spellcheck={false}
                  />
                )}
              </Field>
            ) : (
              <>
                <fieldset class="group">
                  <legend>Backup days</legend>
                  <div class="days">
                    {weekdays.map((d, i) => (
                      <label class="check" key={d}>
                        <input
                          type="checkbox"
                          checked={form.days.includes(i + 1)}
                          onChange={(e) =>
                            setForm({
                              ...form,
                              days: e.currentTarget.checked
                                ? [...form.days, i + 1].sort()
                                : form.days.filter((x) => x !== i + 1),
                            })
                          }
                        />
                        {d}
                      </label>
                    ))}
                  </div>
                </fieldset>
                <div class="form-grid">
                  <Field label="Time of day" targets={[]} problems={problems}>
                    {(a) => (
                      <input
                        {...a}
                        type="time"
                        value={form.time}
                        onInput={(e) => setForm({ ...form, time: e.currentTarget.value })}
                      />
                    )}
                  </Field>
                  <Field label="Time zone" targets={[]} problems={problems} hint="IANA name, e.g. Europe/Berlin">
                    {(a) => (
                      <>
                        <input
                          {...a}
                          list="zones"
                          value={form.zone}
                          onInput={(e) => setForm({ ...form, zone: e.currentTarget.value })}
                        />
                        <datalist id="zones">
                          {zones.map((z) => (
                            <option key={z} value={z} />
                          ))}
                        </datalist>
                      </>
                    )}
                  </Field>
                </div>
                <KeepFields tag="Default" k={form.keep.Default} onChange={setKeep('Default')} required />
                <KeepFields tag="Weekly" k={form.keep.Weekly} onChange={setKeep('Weekly')} />
                <KeepFields tag="Monthly" k={form.keep.Monthly} onChange={setKeep('Monthly')} />
                <KeepFields tag="Yearly" k={form.keep.Yearly} onChange={setKeep('Yearly')} />
              </>
            )}
          </Card>
          <FormProblems error={saveError} problems={problems} claimed={['name', '$.name']} />
          <div class="form-actions">
            <Button type="submit" kind="primary" busy={saving}>
              Save policy
            </Button>
          </div>
        </div>
        <div class="sticky">
          <Card title="Ten-year simulation">
            {document instanceof Error && mode === 'json' && json.trim() !== '' && (
              <p class="muted">{document.message}</p>
            )}
            {simError !== undefined && <ErrorPanel error={simError} title="This policy is not valid yet" />}
            {sim ? (
              <SimulationView sim={sim} />
            ) : (
              simError === undefined && <p class="muted">The simulation appears here.</p>
            )}
          </Card>
        </div>
      </form>
    </>
  );
}
