// Restore-test evidence in the web console (issue 17 in the console of issue 12), in Chromium against the app under
// devhost with a source and a scratch PostgreSQL: before any test every point reads "Not tested"; "Test restore now"
// runs a plan covering the instance and follows its job; the newest point then shows Passed with the details one
// click (or one Enter) away; a plan with a false assertion fails, and the history, the badge and the details show
// Failed with the assertion's text; a Reader sees that evidence but is offered no test, and the API refuses it one.
// Caller roles are enforced, as in Azure. Elements are found by role and accessible name; steps build on each other.
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { launchBrowser, principalHeader } from '../support/browser';
import { ensureConsoleBuilt, screenshotDir, settled, viewport } from './console-support';
import { startRestoreTestEnv, type RestoreTestEnv } from './restore-test-e2e-support';

let env: RestoreTestEnv;
let browser: Browser;
let page: Page;
let reader: BrowserContext;
const pageErrors: string[] = [];
const points: string[] = [];
const PASSING = 'SELECT count(*) > 0 FROM events';
const FAILING = 'SELECT count(*) = 0 FROM customers';

beforeAll(async () => {
  await ensureConsoleBuilt();
  await mkdir(screenshotDir, { recursive: true });
  env = await startRestoreTestEnv({ rows: 2_000, enforceCallerRoles: true });
  points.push(await env.backup('orders'), await env.backup('orders'));
  for (const [name, sql] of [
    ['nightly', [PASSING]],
    ['strict', [PASSING, FAILING]],
  ] as const) {
    const put = await env.putPlan(name, { backupInstances: ['orders'], assertions: { orders: sql } });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
  }
  browser = await launchBrowser();
  const context = (name: string, role: string) =>
    browser.newContext({ viewport, baseURL: env.dh.baseUrl, extraHTTPHeaders: principalHeader(name, role) });
  page = await watched(await context('otto@example.com', 'Operator'));
  reader = await context('rita@example.com', 'Reader');
}, 300_000);

/** A new page of `context` whose errors land in pageErrors (the last test checks there were none). */
async function watched(context: BrowserContext): Promise<Page> {
  const p = await context.newPage();
  p.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  p.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) pageErrors.push(`console: ${m.text()}`);
  });
  return p;
}

afterAll(async () => {
  await browser?.close();
  await env?.stop();
});

const visible = (l: Locator, timeout = 30_000) => l.first().waitFor({ state: 'visible', timeout });
const button = (p: Page | Locator, name: string | RegExp) =>
  p.getByRole('button', typeof name === 'string' ? { name, exact: true } : { name });
const region = (name: string, p: Page = page) => p.getByRole('region', { name, exact: true });
const shot = (name: string) => page.screenshot({ path: `${screenshotDir}/${name}.png` });

/** Runs `plan` through "Test restore now" and waits for the job the page follows to end with `status`. */
async function testRestoreNow(plan: string, status: 'Succeeded' | 'Failed') {
  await button(page, 'Test restore now').click();
  const dialog = page.getByRole('dialog', { name: 'Test restore of orders now' });
  await visible(dialog);
  await dialog.getByLabel('Restore-test plan').selectOption(plan);
  await button(dialog, 'Start test').click();
  const job = page.getByRole('region', { name: 'Restore test job' });
  await visible(job);
  await visible(job.getByText(status, { exact: true }), 180_000);
}

/** The recovery point row of the newest point (the list is newest first). */
const newestPoint = (p: Page = page) => region('Recovery points', p).getByRole('row').nth(1);

describe('restore-test evidence on the instance page', () => {
  it('reads "Not tested" on every point and offers Test restore now when a plan covers the instance', async () => {
    await page.goto('/instances/orders');
    const list = region('Recovery points');
    await visible(list.getByRole('row').nth(2));
    expect(await list.getByText('Not tested', { exact: true }).count()).toBe(2);
    await visible(region('Restore tests').getByText('No restore test yet.'));
    await visible(button(page, 'Test restore now'));
    // inventory is covered by no plan: no such action there — asserted once the page has the plans (the button
    // depends on them and they show no "Loading"), so that the absence is not merely "not loaded yet".
    const plansRead = page.waitForResponse(
      (r) => r.request().method() === 'GET' && new URL(r.url()).pathname === '/api/restoreTestPlans',
    );
    await page.goto('/instances/inventory');
    expect((await plansRead).status()).toBe(200);
    await visible(button(page, 'Check readiness'));
    await settled(page);
    expect(await button(page, 'Test restore now').count()).toBe(0);
  }, 60_000);

  it('runs a passing plan now, follows its job, and shows Passed on the newest point with its details one click away', async () => {
    await page.goto('/instances/orders');
    await testRestoreNow('nightly', 'Succeeded');
    const badge = button(newestPoint(), /^Passed/);
    await visible(badge);
    expect(await region('Recovery points').getByText('Not tested', { exact: true }).count()).toBe(1);
    await badge.click();
    const details = page.getByRole('dialog', { name: /^Restore test of the point of/ });
    await visible(details);
    const text = (await details.textContent()) ?? '';
    expect(text).toContain('by plan nightly');
    expect(text).toMatch(/4 tables, [\d,.]+ rows/);
    expect(text).toMatch(/PostgreSQL 15\.\d+/);
    expect(text).toMatch(/SHA-256 matched over the stored blob \(zstd,/);
    expect(text).toContain('None: every table matched its manifest.');
    const assertion = details.getByRole('listitem').filter({ hasText: PASSING });
    expect(await assertion.textContent()).toContain('Passed');
    await shot('restore-test-passed');
    await button(details, 'Close').click();
    await details.waitFor({ state: 'hidden' });
  }, 240_000);

  it('runs a plan with a false assertion: the job fails and the page shows Failed with the assertion', async () => {
    await testRestoreNow('strict', 'Failed');
    await visible(page.getByRole('region', { name: 'Restore test job' }).getByText('SystemErrorRestoreTestFailed'));
    // The history: both tests, newest first, the failing one naming its assertion.
    const history = region('Restore tests');
    await visible(history.getByRole('row').nth(2));
    const rows = history.getByRole('row');
    expect(await rows.count()).toBe(3);
    const failed = rows.nth(1);
    const passed = rows.nth(2);
    expect(await button(failed, /^Failed/).count()).toBe(1);
    expect(await button(passed, /^Passed/).count()).toBe(1);
    // Each column holds its figure; the failing test names only its false assertion.
    const headers = await history.getByRole('columnheader').allTextContents();
    const cellsOf = async (row: Locator) => {
      const cells = await row.getByRole('cell').allTextContents();
      // The row header (the time) is a th, not a cell: the cells start at the second column.
      return (name: string) => cells[headers.indexOf(name) - 1]?.trim();
    };
    const cell = await cellsOf(failed);
    expect(cell('Failed assertions')).toBe(FAILING);
    expect((await cellsOf(passed))('Failed assertions')).toBe('none');
    expect(cell('Tables')).toBe('4');
    expect(Number(cell('Rows compared')?.replace(/\D/g, ''))).toBeGreaterThan(2_000);
    expect(cell('Mismatches')).toBe('0');
    expect(cell('Point')).toBe(`${points[1]!.slice(0, 8)}…`);
    await shot('restore-test-history');

    // The newest point's badge is its latest test, and its details show each assertion's result.
    const badge = button(newestPoint(), /^Failed/);
    await visible(badge);
    await badge.focus();
    await page.keyboard.press('Enter');
    const details = page.getByRole('dialog', { name: /^Restore test of the point of/ });
    await visible(details);
    const bad = details.getByRole('listitem').filter({ hasText: FAILING });
    expect(await bad.textContent()).toMatch(/Failed.*returned false/);
    expect(await details.getByRole('listitem').filter({ hasText: PASSING }).textContent()).toContain('Passed');
    await shot('restore-test-failed');
    await page.keyboard.press('Escape');
    await details.waitFor({ state: 'hidden' });
    expect(await page.evaluate<string>("document.activeElement?.textContent?.trim() ?? ''")).toMatch(/^Failed/);
  }, 240_000);

  it('shows a Reader the restore-test history and badges but no Test restore now; the API refuses it a run with 403', async () => {
    const readerPage = await watched(reader);
    await readerPage.goto('/instances/orders');
    // What the Reader may see is there first, so that the absence below is the role's doing, not a page still loading.
    await visible(readerPage.getByRole('banner').getByText('Reader', { exact: true }));
    const history = region('Restore tests', readerPage);
    await visible(history.getByRole('row').nth(2));
    expect(await history.getByRole('row').count()).toBe(3);
    expect(await button(history, /^Failed/).count()).toBe(1);
    expect(await button(history, /^Passed/).count()).toBe(1);
    await visible(button(newestPoint(readerPage), /^Failed/));
    await settled(readerPage);
    // The plans cover the instance (the Operator was offered the button above): only the role hides it.
    expect(await button(readerPage, 'Test restore now').count()).toBe(0);
    // Nor does the API run a plan for a Reader: 403, and no job starts.
    const jobCount = async () => ((await env.api.call('GET', 'backupJobs')).body as { value: unknown[] }).value.length;
    const jobsBefore = await jobCount();
    const refused = await reader.request.post('/api/restoreTestPlans/nightly/run');
    expect(refused.status()).toBe(403);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/needs the Operator role/);
    expect(await jobCount()).toBe(jobsBefore);
    await readerPage.close();
  }, 60_000);

  it('left no scratch database behind and logged no errors in the page', async () => {
    expect(await env.scratchDatabases()).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
