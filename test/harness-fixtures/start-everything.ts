// Starts one of each thing the test harness runs — an Azurite, a PostgreSQL server, a devhost with an Azurite of its
// own — and writes their pids to $PGKEEP_FIXTURE_OUT/<name>.json for the test that checks they were all stopped.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startAzurite } from '../support/azurite';
import { startDevhost } from '../support/devhost';
import { startPostgres } from '../support/postgres';

export async function startEverything(name: string): Promise<void> {
  const out = process.env.PGKEEP_FIXTURE_OUT;
  if (!out) throw new Error('PGKEEP_FIXTURE_OUT is not set: run these suites through harness-teardown.test.ts');
  const azurite = await startAzurite();
  const pg = await startPostgres({ major: 15 });
  const [dataDir] = await pg.query<{ setting: string }>(
    "SELECT setting FROM pg_settings WHERE name = 'data_directory'",
  );
  const postmaster = Number(readFileSync(path.join(dataDir!.setting, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const host = await startDevhost({ appRoot: path.resolve(__dirname, '../devhost-app'), azuriteBy: 'devhost' });
  const pids = { azurite: azurite.pid, postmaster, devhost: host.pid, devhostAzurite: host.azuritePid };
  writeFileSync(path.join(out, `${name}.json`), JSON.stringify(pids));
}
