// The shell: top bar with who is signed in, the navigation, and the page the URL names. Roles come from GET /api/me;
// pages hide what the roles do not allow, and the API refuses it anyway.

import type { ComponentChildren } from 'preact';
import { api } from './api';
import { ErrorPanel, Loading, PageHead } from './components/basics';
import { MeContext, useResource } from './hooks';
import { Link, match, useLocation } from './router';
import { InstancePage } from './pages/instance';
import { InstancesPage } from './pages/instances';
import { JobPage } from './pages/job';
import { JobsPage } from './pages/jobs';
import { NewPolicyPage } from './pages/policy-new';
import { OverviewPage } from './pages/overview';
import { PoliciesPage } from './pages/policies';
import { ProtectPage } from './pages/protect';
import { RestorePage } from './pages/restore';
import type { Me } from '../../shared/contracts/caller';
import { hasRole } from '../../shared/contracts/caller';

function NavLink({ href, children, current }: { href: string; children: ComponentChildren; current: boolean }) {
  return (
    <Link href={href} class={current ? 'nav-link active' : 'nav-link'} aria-current={current ? 'page' : undefined}>
      {children}
    </Link>
  );
}

function page(path: string, query: URLSearchParams) {
  let p: Record<string, string> | undefined;
  if (path === '/') return <OverviewPage />;
  if (path === '/instances') return <InstancesPage />;
  if ((p = match('/instances/:name', path))) return <InstancePage name={p.name!} />;
  if ((p = match('/instances/:name/restore', path)))
    return <RestorePage name={p.name!} point={query.get('point') ?? undefined} />;
  if (path === '/jobs') return <JobsPage query={query} />;
  if ((p = match('/jobs/:id', path))) return <JobPage id={p.id!} />;
  if (path === '/policies') return <PoliciesPage />;
  if (path === '/policies/new') return <NewPolicyPage />;
  if (path === '/protect') return <ProtectPage />;
  return (
    <>
      <PageHead title="Page not found" />
      <p>
        There is no console page at <code>{path}</code>. Go to the <Link href="/">Overview</Link>.
      </p>
    </>
  );
}

function roleWords(me: Me): string {
  if (!me.rolesEnforced) return 'all roles (local)';
  if (hasRole(me.roles, 'Admin')) return 'Admin';
  if (hasRole(me.roles, 'Operator')) return 'Operator';
  if (hasRole(me.roles, 'Reader')) return 'Reader';
  return 'no pgkeep role';
}

export function App() {
  const me = useResource(api.me, []);
  const { path, query } = useLocation();
  const section = path === '/' ? '/' : `/${path.split('/')[1] ?? ''}`;
  const nav: [string, string][] = [
    ['/', 'Overview'],
    ['/instances', 'Instances'],
    ['/jobs', 'Jobs'],
    ['/policies', 'Policies'],
  ];
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <Link href="/" class="brand">
          <span class="logo" aria-hidden="true">
            pk
          </span>
          <span>
            pgkeep <span class="brand-sub">Backup Center</span>
          </span>
        </Link>
        {me.data && (
          <p class="who">
            <span>{me.data.principal ?? (me.data.rolesEnforced ? 'not signed in' : 'local user')}</span>
            <span class="role">{roleWords(me.data)}</span>
          </p>
        )}
      </header>
      <nav class="sidebar" aria-label="Main">
        <ul>
          {nav.map(([href, label]) => (
            <li key={href}>
              <NavLink href={href} current={section === href || (href === '/instances' && section === '/protect')}>
                {label}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main">
        {me.error ? (
          <ErrorPanel error={me.error} title="Cannot tell who you are" />
        ) : !me.data ? (
          <Loading what="your roles" />
        ) : (
          <MeContext.Provider value={me.data}>{page(path, query)}</MeContext.Provider>
        )}
      </main>
    </div>
  );
}
