// Small building blocks every page uses: times, status words, badges, error and empty states, pagers, page heads.

import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { ApiError } from '../api';
import { localTime, relativeTime, utcTime } from '../format';

/** A time in the browser's zone; hovering shows UTC. `relative` writes "3 hours ago" (exact local time on hover). */
export function Time({ iso, relative }: { iso: string | undefined; relative?: boolean }) {
  if (!iso) return <span class="muted">—</span>;
  return (
    <time dateTime={iso} title={relative ? `${localTime(iso)} (${utcTime(iso)})` : utcTime(iso)}>
      {relative ? relativeTime(iso) : localTime(iso)}
    </time>
  );
}

const tones: Record<string, string> = {
  Succeeded: 'ok',
  Passed: 'ok',
  Healthy: 'ok',
  Ready: 'ok',
  ProtectionConfigured: 'ok',
  Failed: 'bad',
  Critical: 'bad',
  NotReady: 'bad',
  InProgress: 'busy',
  Queued: 'busy',
  NotStarted: 'idle',
  Warning: 'warn',
  SucceededWithWarnings: 'warn',
  ProtectionStopped: 'idle',
  Cancelled: 'idle',
  Unknown: 'idle',
};

/** A status as its word, with a coloured dot (the word carries the meaning; the colour only helps). */
export function Status({ value, label }: { value: string; label?: string }) {
  return (
    <span class={`status status-${tones[value] ?? 'idle'}`}>
      <span class="dot" aria-hidden="true" />
      {label ?? value}
    </span>
  );
}

export const protectionWords: Record<string, string> = {
  ProtectionConfigured: 'Protected',
  ProtectionStopped: 'Stopped',
};

export function Tier({ value }: { value: string }) {
  return <span class={`tier tier-${value === 'ArchiveStore' ? 'archive' : 'vault'}`}>{value}</span>;
}

export function Tag({ value }: { value: string }) {
  return <span class={`tag tag-${value.toLowerCase()}`}>{value}</span>;
}

/** What went wrong, with the API's code, message and recommended action. Never a blank page. */
export function ErrorPanel({ error, title }: { error: unknown; title?: string }) {
  const e =
    error instanceof ApiError
      ? error
      : new ApiError(0, 'ConsoleError', error instanceof Error ? error.message : String(error), 'reload the page');
  return (
    <div class="error-panel" role="alert">
      <p class="error-title">
        <strong>{title ?? 'Something went wrong'}</strong> <code>{e.code}</code>
      </p>
      <p>{e.message}</p>
      {e.hint && <p class="hint">What to do: {e.hint}</p>}
      {e.details.length > 0 && (
        <ul class="error-details">
          {e.details.map((d) => (
            <li key={`${d.target}:${d.message}`}>
              <code>{d.target}</code> {d.message}
              {d.code && d.code !== e.code && <> ({d.code})</>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <p class="empty-title">{title}</p>
      {children && <div class="empty-next">{children}</div>}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status">
      Loading {what}…
    </p>
  );
}

/** The page's heading (focused after navigation) and its actions. */
export function PageHead({
  title,
  subtitle,
  children,
}: {
  title: ComponentChildren;
  subtitle?: ComponentChildren;
  children?: ComponentChildren;
}) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${typeof title === 'string' ? title : (ref.current?.textContent ?? 'pgkeep')} · pgkeep Backup Center`;
    ref.current?.focus({ preventScroll: true });
  }, [typeof title === 'string' ? title : '']);
  return (
    <header class="page-head">
      <div>
        <h1 ref={ref} tabIndex={-1}>
          {title}
        </h1>
        {subtitle && <p class="subtitle">{subtitle}</p>}
      </div>
      {children && <div class="actions">{children}</div>}
    </header>
  );
}

/** "Previous page" / "Next page" with where we are. */
export function Pager({
  page,
  pageCount,
  total,
  pageSize,
  onPage,
  label,
}: {
  page: number;
  pageCount: number;
  total: number;
  pageSize: number;
  onPage: (p: number) => void;
  label: string;
}) {
  if (total <= pageSize) return null;
  const first = page * pageSize + 1;
  const last = Math.min(total, (page + 1) * pageSize);
  return (
    <nav class="pager" aria-label={`${label} pages`}>
      <button type="button" class="btn" disabled={page === 0} onClick={() => onPage(page - 1)}>
        Previous page
      </button>
      <span aria-live="polite">
        {first}–{last} of {total}
      </span>
      <button type="button" class="btn" disabled={page >= pageCount - 1} onClick={() => onPage(page + 1)}>
        Next page
      </button>
    </nav>
  );
}

export function Card({ title, children, class: cls }: { title?: string; children: ComponentChildren; class?: string }) {
  return (
    <section class={`card ${cls ?? ''}`} aria-label={title}>
      {title && <h2>{title}</h2>}
      {children}
    </section>
  );
}
