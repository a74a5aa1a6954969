// Form parts: a labelled field that shows the problems the API (or the same schema, before sending) names for it,
// right under it and tied to it with aria-describedby; the problems no field claims go into a summary.

import type { ButtonHTMLAttributes, ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type Problem } from '../api';

let ids = 0;
const nextId = (prefix: string) => `${prefix}-${++ids}`;

/** Whether a problem's target is this field's: its JSON path (or one below it), or one of its readiness check names. */
export function claims(targets: readonly string[], problem: Problem): boolean {
  return targets.some(
    (t) => problem.target === t || problem.target.startsWith(`${t}.`) || problem.target.startsWith(`${t}[`),
  );
}

/** The problems of a failed call: every detail, or the error itself when it names no field. */
export function problemsOf(error: unknown): Problem[] {
  if (!(error instanceof ApiError)) return [];
  if (error.details.length > 0) return [...error.details];
  return error.target ? [{ target: error.target, message: error.message, code: error.code }] : [];
}

interface FieldProps {
  label: string;
  /** JSON paths and check names whose problems belong here. */
  targets?: readonly string[];
  problems?: readonly Problem[];
  hint?: ComponentChildren;
  children: (attrs: { id: string; 'aria-invalid'?: 'true'; 'aria-describedby'?: string }) => ComponentChildren;
}

export function Field({ label, targets = [], problems = [], hint, children }: FieldProps) {
  const [id] = useState(() => nextId('f'));
  const mine = problems.filter((p) => claims(targets, p));
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = mine.length > 0 ? `${id}-error` : undefined;
  const describedBy = [errorId, hintId].filter(Boolean).join(' ') || undefined;
  return (
    <div class={`field${mine.length > 0 ? ' field-invalid' : ''}`}>
      <label for={id}>{label}</label>
      {children({
        id,
        ...(mine.length > 0 ? { 'aria-invalid': 'true' } : {}),
        ...(describedBy ? { 'aria-describedby': describedBy } : {}),
      })}
      {errorId && (
        <p id={errorId} class="field-error">
          {mine.map((p) => p.message).join('; ')}
        </p>
      )}
      {hintId && (
        <p id={hintId} class="field-hint">
          {hint}
        </p>
      )}
    </div>
  );
}

/** The problems no field of the form claims, and the error's own message. */
export function FormProblems({
  error,
  problems,
  claimed,
}: {
  error: unknown;
  problems: readonly Problem[];
  claimed: readonly string[];
}) {
  if (!error) return null;
  const rest = problems.filter((p) => !claims(claimed, p));
  const e = error instanceof ApiError ? error : undefined;
  return (
    <div class="error-panel" role="alert">
      <p class="error-title">
        <strong>{problems.length > 0 ? 'Please fix the fields marked below' : 'The request failed'}</strong>{' '}
        {e && <code>{e.code}</code>}
      </p>
      <p>{e?.message ?? (error instanceof Error ? error.message : 'the request failed')}</p>
      {rest.length > 0 && (
        <ul class="error-details">
          {rest.map((p) => (
            <li key={`${p.target}:${p.message}`}>
              <code>{p.target}</code> {p.message}
            </li>
          ))}
        </ul>
      )}
      {e?.hint && <p class="hint">What to do: {e.hint}</p>}
    </div>
  );
}

/** A modal dialog (the native <dialog>: focus is trapped, Escape closes, focus returns to the opener). */
export function Dialog({
  title,
  open,
  onClose,
  children,
  wide,
}: {
  title: string;
  open: boolean;
  onClose: () => void;
  children: ComponentChildren;
  /** Room for a table (restore-test details). */
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [titleId] = useState(() => nextId('dlg'));
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} class={wide ? 'wide' : undefined} aria-labelledby={titleId} onClose={onClose} onCancel={onClose}>
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>
  );
}

type ButtonProps = ButtonHTMLAttributes & { busy?: boolean; kind?: 'primary' | 'danger' | 'plain' };

export function Button({ busy, kind = 'plain', children, disabled, type, ...rest }: ButtonProps) {
  return (
    <button
      {...rest}
      type={type ?? 'button'}
      class={`btn btn-${kind}`}
      disabled={Boolean(disabled) || busy}
      aria-busy={busy ? 'true' : undefined}
    >
      {children}
    </button>
  );
}

/** Copies text to the clipboard and says so. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = () => {
    navigator.clipboard.writeText(text).then(
      () => setDone('copied'),
      () => setDone('failed'),
    );
  };
  return (
    <span class="copy">
      <Button onClick={copy}>{label}</Button>
      <span role="status" class="muted">
        {done === 'copied' ? 'Copied' : done === 'failed' ? 'Copy failed: select the text and copy it' : ''}
      </span>
    </span>
  );
}

/** Offers `content` as a file download. */
export function DownloadButton({ filename, content, label }: { filename: string; content: string; label: string }) {
  const download = () => {
    const url = URL.createObjectURL(new Blob([content], { type: 'application/json' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = filename;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  return <Button onClick={download}>{label}</Button>;
}

/** A labelled text input (Field + input) whose value is a string. */
export function TextField({
  label,
  value,
  onValue,
  targets,
  problems,
  hint,
}: {
  label: string;
  value: string;
  onValue: (v: string) => void;
  targets?: readonly string[];
  problems?: readonly Problem[];
  hint?: ComponentChildren;
}) {
  return (
    <Field label={label} targets={targets} problems={problems} hint={hint}>
      {(a) => <input {...a} value={value} onInput={(e) => onValue(e.currentTarget.value)} autoComplete="off" />}
    </Field>
  );
}

export type SecretStoreType = 'AppSetting' | 'AzureKeyVault';

export interface SecretInput {
  readonly type: SecretStoreType;
  /** The app setting's name, or the Key Vault secret's URI. */
  readonly value: string;
}

/** The secretStoreResource of a request (contracts/instances.ts secretStoreResourceSchema) from the two fields. */
export function secretStoreResource(s: SecretInput) {
  const value = s.value.trim();
  return { secretStoreType: s.type, uri: s.type === 'AppSetting' ? `appsetting://${value}` : value };
}

/** Where a database credential is kept: the store, then the app setting's name or the secret's URI. */
export function SecretFields({
  secret,
  onChange,
  settingLabel,
  settingHint,
  targets,
  problems,
}: {
  secret: SecretInput;
  onChange: (s: SecretInput) => void;
  /** The label of the app setting's name (what its connection string points at). */
  settingLabel: string;
  settingHint: string;
  targets: readonly string[];
  problems: readonly Problem[];
}) {
  const appSetting = secret.type === 'AppSetting';
  return (
    <>
      <Field label="Credentials stored in">
        {(a) => (
          <select
            {...a}
            value={secret.type}
            onChange={(e) => onChange({ ...secret, type: e.currentTarget.value as SecretStoreType })}
          >
            <option value="AppSetting">An app setting</option>
            <option value="AzureKeyVault">Azure Key Vault</option>
          </select>
        )}
      </Field>
      <TextField
        label={appSetting ? settingLabel : 'Key Vault secret URI'}
        value={secret.value}
        onValue={(value) => onChange({ ...secret, value })}
        targets={targets}
        problems={problems}
        hint={appSetting ? settingHint : 'https://<vault>.vault.azure.net/secrets/<name>'}
      />
    </>
  );
}
