// Data hooks: each page fetches what it shows (useResource) and polls what changes (usePoll); no global store.

import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { hasRole, type CallerRole, type Me } from '../../shared/contracts/caller';

export interface Resource<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  /** Fetches again; the current data stays on screen meanwhile. */
  readonly reload: () => void;
}

export function useResource<T>(load: () => Promise<T>, deps: readonly unknown[]): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const run = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => run === latest.current && setState({ data, loading: false }),
      (error: unknown) => run === latest.current && setState((s) => ({ data: s.data, error, loading: false })),
    );
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** Calls `fn` every `ms` while `active`, and once more when it becomes active. */
export function usePoll(fn: () => void, ms: number, active: boolean): void {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    if (!active) return;
    const id = setInterval(() => saved.current(), ms);
    return () => clearInterval(id);
  }, [ms, active]);
}

export const MeContext = createContext<Me>({ principal: null, roles: [], authenticated: false, rolesEnforced: true });

/** Whether the signed-in caller may do what `role` may; the API checks again on every call. */
export function useCan(): (role: CallerRole) => boolean {
  const me = useContext(MeContext);
  return (role) => hasRole(me.roles, role);
}

/** Client-side pages of `rows`: the rows of the current page and the props of its Pager. */
export function usePages<T>(rows: readonly T[], size: number) {
  const [page, setPage] = useState(0);
  const pageCount = Math.max(1, Math.ceil(rows.length / size));
  // A shorter list (a filter) keeps the page in range.
  const current = Math.min(page, pageCount - 1);
  return {
    shown: rows.slice(current * size, (current + 1) * size),
    pager: { page: current, pageCount, total: rows.length, pageSize: size, onPage: setPage },
    reset: () => setPage(0),
  };
}
