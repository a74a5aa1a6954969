// Setup for the console's browser tests: the console bundle (built when its sources changed), a PostgreSQL 15 with
// the varied `orders` database, the app under devhost with caller roles enforced, and Chromium contexts that send
// the x-ms-client-principal App Service Authentication would (an Admin and a Reader).
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildConsole, consoleUpToDate } from '../../scripts/build-console';
import { launchBrowser, principalHeader } from '../support/browser';
import { startDevhost, type DevhostInstance } from '../support/devhost';
import { seedVariedDatabase, startPostgres, type TestPostgres } from '../support/postgres';

export const repoRoot = path.resolve(__dirname, '../..');
export const screenshotDir = path.join(repoRoot, 'test-results/console');
export const viewport = { width: 1280, height: 800 };

/**
 * Waits until no part of the page still reads "Loading …". The instance page loads its parts side by side, and a part
 * above that arrives late pushes the ones below it down: a click aimed at a button that has just moved lands on
 * whatever is there now (seen in CI: Restore clicked, the restore page never opened).
 */
export async function settled(page: Page, timeout = 30_000): Promise<void> {
  await page.locator('[role=status].loading').first().waitFor({ state: 'detached', timeout });
}

/** Builds the console unless the last build is newer than its inputs (as `npm run build` decides). */
export async function ensureConsoleBuilt(): Promise<void> {
  if (!consoleUpToDate()) await buildConsole();
}

export interface ConsoleEnv {
  readonly pg: TestPostgres;
  readonly dh: DevhostInstance;
  readonly browser: Browser;
  readonly admin: BrowserContext;
  readonly reader: BrowserContext;
  /** A page of the Admin context, with every console error collected. */
  page(context?: BrowserContext): Promise<Page>;
  /** Errors the pages logged or threw (a test checks that there were none). */
  readonly pageErrors: string[];
  screenshot(page: Page, name: string): Promise<void>;
  stop(): Promise<void>;
}

const limitedPassword = randomBytes(12).toString('hex');

export async function startConsoleEnv(): Promise<ConsoleEnv> {
  await ensureConsoleBuilt();
  await mkdir(screenshotDir, { recursive: true });
  const pg = await startPostgres({ major: 15 });
  let dh: DevhostInstance | undefined;
  let browser: Browser | undefined;
  try {
    await seedVariedDatabase(pg, 'orders', 5_000);
    // A login that can connect but read nothing: its readiness report offers the GRANT script.
    await pg.query(`CREATE ROLE pgkeep_limited LOGIN PASSWORD '${limitedPassword}'`);
    const conn = (db: string) =>
      `Server=${pg.host};Port=${pg.port};Database=${db};User Id=${pg.superuser};Password=${pg.password};Ssl Mode=Disable;`;
    dh = await startDevhost({
      appRoot: repoRoot,
      env: {
        ORDERS_DB: conn('orders'),
        LIMITED_DB: `Server=${pg.host};Port=${pg.port};Database=orders;User Id=pgkeep_limited;Password=${limitedPassword};Ssl Mode=Disable;`,
        TARGET_DB: conn('postgres'),
        SCHEDULER_SCHEDULE: '0 0 0 1 1 *',
        EXPIRY_SCHEDULE: '0 0 0 1 1 *',
        // As in Azure: the roles of the signed-in caller decide, and no function key is needed.
        ENFORCE_CALLER_ROLES: 'true',
      },
    });
    browser = await launchBrowser();
    const context = (name: string, role: string) =>
      browser!.newContext({
        viewport,
        baseURL: dh!.baseUrl,
        extraHTTPHeaders: principalHeader(name, role),
        // Not UTC, so that local times and their UTC hover text differ.
        timezoneId: 'Europe/Berlin',
      });
    const admin = await context('ada@example.com', 'Admin');
    const reader = await context('rita@example.com', 'Reader');
    const pageErrors: string[] = [];
    const host = dh;
    const b = browser;
    return {
      pg,
      dh: host,
      browser: b,
      admin,
      reader,
      pageErrors,
      async page(ctx = admin) {
        const page = await ctx.newPage();
        page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
        page.on('console', (m) => {
          // A failed fetch is an API answer the page shows; anything else logged as an error is a defect.
          if (m.type() === 'error' && !/Failed to load resource/.test(m.text()))
            pageErrors.push(`console: ${m.text()}`);
        });
        return page;
      },
      async screenshot(page, name) {
        await page.screenshot({ path: path.join(screenshotDir, `${name}.png`) });
      },
      async stop() {
        await b.close();
        await host.stop();
        await pg.stop();
      },
    };
  } catch (err) {
    await browser?.close();
    await dh?.stop();
    await pg.stop();
    throw err;
  }
}
