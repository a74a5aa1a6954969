// The web console in a real browser (Chromium through playwright-core) against the app under devhost, Azurite and
// PostgreSQL, as an operator would use it: create a policy, protect a database, back it up, watch the job, restore
// the point as a new database, fix a Validate error next to its field; and as a Reader, who sees no action buttons and
// whom the API refuses. Elements are found by role and accessible name; each page is saved as a 1280×800 screenshot
// in test-results/console/. The steps build on each other, in order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import type { JobRecord } from '../../shared/ports';
import { tableChecksums } from '../support/table-checksums';
import { settled, startConsoleEnv, type ConsoleEnv } from './console-support';
import { devhostStores } from '../support/devhost';

let env: ConsoleEnv;
let page: Page;

beforeAll(async () => {
  env = await startConsoleEnv();
  page = await env.page();
}, 240_000);

afterAll(async () => {
  await env?.stop();
});

const visible = (l: Locator, timeout = 30_000) => l.first().waitFor({ state: 'visible', timeout });
const button = (p: Page | Locator, name: string) => p.getByRole('button', { name, exact: true });
const heading = (p: Page, name: string) => p.getByRole('heading', { level: 1, name, exact: true });

/** The text that describes a form control (aria-describedby), as a screen reader reads it after the label. */
/** The few DOM members the page function below uses (this file is compiled without DOM types). */
interface Described {
  getAttribute(name: string): string | null;
  ownerDocument: { getElementById(id: string): { textContent: string | null } | null };
}

async function description(control: Locator): Promise<string> {
  return control.evaluate((el: Described) =>
    (el.getAttribute('aria-describedby') ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((id) => el.ownerDocument.getElementById(id)?.textContent ?? '')
      .join(' '),
  );
}

/** The text of the focused element (evaluated in the page, where `document` exists). */
const activeText = (p: Page) => p.evaluate<string>("document.activeElement?.textContent?.trim() ?? ''");

describe('the console for an Admin', () => {
  it('is served at the root and tells an empty vault what to do next', async () => {
    await page.goto('/');
    await visible(heading(page, 'Overview'));
    await visible(page.getByText('Nothing is protected yet.'));
    await visible(page.getByRole('link', { name: 'creating a backup policy' }));
    for (const name of ['Overview', 'Instances', 'Jobs', 'Policies']) {
      await visible(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }));
    }
    await env.screenshot(page, 'overview-empty');
  });

  it('creates a policy from the form after showing its ten-year simulation', async () => {
    await page.getByRole('link', { name: 'Policies', exact: true }).click();
    await visible(page.getByText('No backup policies yet.'));
    await page.getByRole('link', { name: 'New policy' }).click();
    await visible(heading(page, 'New policy'));
    await page.getByLabel('Policy name').fill('weekly');
    await page.getByLabel('Time zone').fill('UTC');
    await page.getByRole('checkbox', { name: /Keep monthly points/ }).check();
    await page.getByRole('checkbox', { name: 'Monthly: then move to the archive' }).check();
    const chart = page.getByRole('img', { name: /Recovery points kept, month by month over ten years/ });
    await visible(chart);
    await visible(page.getByText('Every Sunday at 02:00, UTC'));
    await env.screenshot(page, 'policy-new');
    await button(page, 'Save policy').click();
    await visible(heading(page, 'Policies'));
    const row = page.getByRole('row', { name: /weekly/ });
    await visible(row);
    expect(await row.textContent()).toContain('Every Sunday at 02:00, UTC');
    expect(await row.textContent()).toContain('12 months in VaultStore, then 1 year in ArchiveStore');
    await env.screenshot(page, 'policies');
  }, 180_000);

  it('protects a database through the form, showing a failed readiness check before a passing one', async () => {
    await page.getByRole('link', { name: 'Instances', exact: true }).click();
    await visible(page.getByText('No backup instances yet.'));
    await page.getByRole('link', { name: 'Protect a database' }).first().click();
    await visible(heading(page, 'Protect a database'));
    await page.getByLabel('Instance name').fill('orders');
    await page.getByLabel('Database name').fill('orders');
    await page.getByLabel('Server resource ID').fill('local/orders');
    await page.getByLabel('App setting with the connection string').fill('NO_SUCH_SETTING');
    await button(page, 'Check readiness').click();
    const checks = page.getByRole('region', { name: 'Readiness checks' }).last();
    await visible(checks.getByText(/checks failed/));
    await visible(checks.getByText('Failed', { exact: true }));

    // A login without SELECT: the failed check offers the GRANT script to copy.
    await page.getByLabel('App setting with the connection string').fill('LIMITED_DB');
    await button(page, 'Check readiness').click();
    const grant = page.getByRole('region', { name: 'Readiness checks' }).last();
    await visible(grant.getByText(/GRANT SELECT ON/), 60_000);
    await visible(button(grant, 'Copy SQL'));
    await env.screenshot(page, 'protect-not-ready');

    await page.getByLabel('App setting with the connection string').fill('ORDERS_DB');
    await button(page, 'Protect database').click();
    await visible(heading(page, 'orders'), 60_000);
    expect(new URL(page.url()).pathname).toBe('/instances/orders');
    await visible(page.getByText('No recovery points yet.'));
  }, 180_000);

  it('backs up now: the job reaches Succeeded without a reload and the point appears', async () => {
    await button(page, 'Back up now').click();
    const dialog = page.getByRole('dialog', { name: 'Back up orders now' });
    await visible(dialog);
    await dialog.getByLabel('Retention tag').selectOption('Monthly');
    await button(dialog, 'Back up now').click();
    const job = page.getByRole('region', { name: 'Backup job' });
    await visible(job);
    const url = page.url();
    await visible(job.getByText('Succeeded', { exact: true }), 120_000);
    expect(page.url()).toBe(url);
    const points = page.getByRole('region', { name: 'Recovery points', exact: true });
    await visible(points.getByRole('row', { name: /Monthly/ }), 30_000);
    expect(await button(points, 'Restore').count()).toBe(1);
    // Times read in the browser's zone (Europe/Berlin here), with UTC on hover.
    const time = points.locator('time').first();
    expect(await time.getAttribute('title')).toMatch(/UTC$/);
    const iso = (await time.getAttribute('datetime')) ?? '';
    const berlinHour = new Intl.DateTimeFormat('en-GB', { hour: 'numeric', timeZone: 'Europe/Berlin' }).format(
      new Date(iso),
    );
    expect(await time.textContent()).toContain(`${Number(berlinHour) % 12 || 12}:`);
    await visible(page.getByRole('img', { name: /Recovery points per day/ }));
    await env.screenshot(page, 'instance');
  }, 180_000);

  it('restores that point as a new database through the wizard, with every row arriving', async () => {
    await settled(page);
    await button(page.getByRole('region', { name: 'Recovery points', exact: true }), 'Restore').click();
    await visible(heading(page, 'Restore orders'));
    await page.getByLabel('App setting with the target connection string').fill('TARGET_DB');
    await page.getByLabel('New database name').fill('orders_restored');
    await button(page, 'Validate').click();
    await visible(page.getByText(/^All \d+ checks passed/), 60_000);
    await env.screenshot(page, 'restore');
    await button(page, 'Start restore').click();
    const job = page.getByRole('region', { name: 'Restore job' });
    await visible(job.getByText('Succeeded', { exact: true }), 120_000);
    const source = await tableChecksums(env.pg.connectionFor('orders'));
    const restored = await tableChecksums(env.pg.connectionFor('orders_restored'));
    expect(Object.keys(restored.tables).length).toBeGreaterThan(3);
    expect(restored.tables).toEqual(source.tables);
  }, 180_000);

  it('shows a Validate error next to the field it names, from the same schema before sending and from the API', async () => {
    await page.getByRole('link', { name: 'Back to orders' }).first().click();
    await visible(heading(page, 'orders'));
    await settled(page);
    await button(page.getByRole('region', { name: 'Recovery points', exact: true }), 'Restore').click();
    await visible(heading(page, 'Restore orders'));
    const jobs = page.getByLabel('Parallel jobs (optional)');
    const sent: string[] = [];
    page.on('request', (r) => sent.push(r.url()));
    await page.getByLabel('App setting with the target connection string').fill('TARGET_DB');
    await page.getByLabel('New database name').fill('orders');
    await jobs.fill('0');
    await button(page, 'Validate').click();
    await visible(page.locator('[aria-invalid="true"]'));
    expect(await jobs.getAttribute('aria-invalid')).toBe('true');
    expect(await description(jobs)).toMatch(/>=1|at least 1/);
    expect(sent.filter((u) => u.includes('validateRestore'))).toEqual([]);

    await jobs.fill('');
    await button(page, 'Validate').click();
    const name = page.getByLabel('New database name');
    await visible(page.getByRole('alert').getByText('UserErrorDatabaseNameAlreadyInUse'), 60_000);
    expect(await name.getAttribute('aria-invalid')).toBe('true');
    expect(await description(name)).toMatch(/already exists/);
    expect(await jobs.getAttribute('aria-invalid')).toBeNull();
    await env.screenshot(page, 'restore-validate-error');
  }, 180_000);

  it('lists the jobs with their status words, unknown ones as they are, and filters them by operation', async () => {
    // An operation and a status this console has no words for (later work adds them): shown as they are.
    const jobs = devhostStores(env.dh.storage).jobs;
    await jobs.create({
      id: 'future-op',
      operation: 'Replicate' as JobRecord['operation'],
      backupInstance: 'orders',
      status: 'Queued',
      trigger: 'Scheduled',
      startTime: new Date().toISOString(),
      progress: { bytes: 0, percent: 0 },
    });
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await visible(heading(page, 'Jobs'));
    await visible(page.getByRole('row', { name: /Replicate.*orders.*Queued/ }));
    await env.screenshot(page, 'jobs-all');
    await visible(page.getByRole('row', { name: /Restore.*orders.*Succeeded/ }));
    await visible(page.getByRole('row', { name: /Backup.*orders.*Succeeded/ }));
    await page.getByLabel('Operation').selectOption('Restore');
    await page.waitForURL(/operation=Restore/);
    await page
      .getByRole('row', { name: /^Backup/ })
      .first()
      .waitFor({ state: 'detached' });
    await visible(page.getByRole('row', { name: /Restore/ }));
    await env.screenshot(page, 'jobs');
    await page.getByRole('link', { name: 'Restore', exact: true }).first().click();
    await visible(heading(page, 'Restore job'));
    await env.screenshot(page, 'job');
  });

  it('shows the instance in the list and the vault on the overview', async () => {
    await page.getByRole('link', { name: 'Instances', exact: true }).click();
    const row = page.getByRole('row', { name: /orders/ });
    await visible(row);
    expect(await row.getByRole('link', { name: 'orders' }).getAttribute('href')).toBe('/instances/orders');
    expect(await row.textContent()).toMatch(/Protected.*weekly|weekly.*Protected/);
    // Its health as the API computed it (properties.health), shown as the status word.
    const listed = (await (await env.admin.request.get('/api/backupInstances/orders')).json()) as {
      properties: { health?: { status: string } };
    };
    const status = listed.properties.health?.status;
    expect(['Healthy', 'Warning', 'Critical', 'Unknown']).toContain(status);
    const headers = await page.getByRole('columnheader').allTextContents();
    const cells = await row.getByRole('cell').allTextContents();
    // The row header (the name) is a th, not a cell: the cells start at the second column.
    expect(cells[headers.indexOf('Health') - 1]?.trim()).toBe(status);
    await env.screenshot(page, 'instances');
    await page.getByRole('link', { name: 'Overview', exact: true }).click();
    await visible(page.getByRole('region', { name: 'Next scheduled backups' }).getByRole('link', { name: 'orders' }));
    // Instances by health: GET /api/health's counts, which a signed-in caller with a role gets in full.
    const byHealth = page.getByRole('region', { name: 'Instances by health' });
    await visible(byHealth.getByRole('listitem').filter({ hasText: status! }).getByText('1', { exact: true }));
    await env.screenshot(page, 'overview');
  });

  it('stops and resumes protection', async () => {
    await page.goto('/instances/orders');
    await button(page, 'Stop protection').click();
    const dialog = page.getByRole('dialog', { name: 'Stop protection of orders' });
    await button(dialog, 'Stop protection').click();
    await visible(button(page, 'Resume protection'));
    expect(await button(page, 'Back up now').count()).toBe(0);
    await button(page, 'Resume protection').click();
    await visible(button(page, 'Stop protection'));
  });

  it('works with the keyboard alone: links by Tab and Enter, a dialog opened and closed without the mouse', async () => {
    await page.goto('/');
    await visible(heading(page, 'Overview'));
    await page.waitForLoadState('networkidle');
    // From the first navigation link, Tab walks the navigation in order and Enter follows the link. (Counting Tabs
    // from the top of a page that is still loading proved flaky: where the first Tab lands depends on the browser.)
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Overview' }).focus();
    const walked = [await activeText(page)];
    for (let i = 0; i < 2; i++) {
      await page.keyboard.press('Tab');
      walked.push(await activeText(page));
    }
    expect(walked).toEqual(['Overview', 'Instances', 'Jobs']);
    await page.keyboard.press('Enter');
    await visible(heading(page, 'Jobs'));
    await page.goto('/instances/orders');
    await button(page, 'Back up now').focus();
    await page.keyboard.press('Enter');
    await visible(page.getByRole('dialog', { name: 'Back up orders now' }));
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    expect(await activeText(page)).toBe('Back up now');
  });

  it('answers an unknown instance and unknown API routes with the error code, never a blank page', async () => {
    await page.goto('/instances/nope');
    await visible(page.getByRole('alert').getByText('UserErrorNotFound'));
    await visible(page.getByText("backup instance 'nope' was not found"));
    await env.screenshot(page, 'error');
    const res = await env.admin.request.get('/api/no/such/route');
    expect(res.status()).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UserErrorNotFound');
    const health = await env.admin.request.get('/api/health');
    expect(health.status()).toBe(200);
  });

  it('logged no errors in the pages', () => {
    expect(env.pageErrors).toEqual([]);
  });
});

describe('the console for a Reader', () => {
  it('shows the instance without any action button, and the API refuses the Reader with 403', async () => {
    const reader = await env.page(env.reader);
    await reader.goto('/instances/orders');
    await visible(heading(reader, 'orders'));
    const points = reader.getByRole('region', { name: 'Recovery points', exact: true });
    await visible(points.getByRole('row', { name: /Monthly/ }));
    for (const name of [
      'Back up now',
      'Restore',
      'Stop protection',
      'Resume protection',
      'Check readiness',
      'Validate',
    ]) {
      expect(await button(reader, name).count(), name).toBe(0);
    }
    await visible(reader.getByText('Reader', { exact: true }));
    await env.screenshot(reader, 'instance-reader');
    await reader.goto('/policies');
    await visible(heading(reader, 'Policies'));
    expect(await reader.getByRole('link', { name: 'New policy' }).count()).toBe(0);

    const me = await env.reader.request.get('/api/me');
    expect(await me.json()).toEqual({
      principal: 'rita@example.com',
      roles: ['Reader'],
      authenticated: true,
      rolesEnforced: true,
    });
    const refused = await env.reader.request.post('/api/backupInstances/orders/backup', { data: {} });
    expect(refused.status()).toBe(403);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('Operator');
    // Health: a Reader gets the details; a caller without a principal (an uptime monitor) only status and time.
    const readerHealth = (await (await env.reader.request.get('/api/health')).json()) as Record<string, unknown>;
    expect(readerHealth.counts).toBeDefined();
    const anonymous = await env.browser.newContext({ baseURL: env.dh.baseUrl });
    expect((await anonymous.request.get('/api/backupInstances')).status()).toBe(401);
    const anonymousHealth = (await (await anonymous.request.get('/api/health')).json()) as Record<string, unknown>;
    expect(Object.keys(anonymousHealth).sort()).toEqual(['status', 'time']);
    await anonymous.close();
  });
});
