import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startPostgres, type PgMajor } from '../support/postgres';

async function canConnect(
  conn: ReturnType<Awaited<ReturnType<typeof startPostgres>>['connectionFor']>,
): Promise<boolean> {
  const client = new pg.Client({ ...conn, ssl: false, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('startPostgres', () => {
  it.each<PgMajor>([15, 13])('serves PostgreSQL %i with password auth on its own port', async (major) => {
    const server = await startPostgres({ major });
    try {
      const rows = await server.query<{ server_version_num: string }>('SHOW server_version_num');
      expect(Math.floor(Number(rows[0]?.server_version_num) / 10_000)).toBe(major);
      expect(await canConnect(server.connectionFor('postgres', server.superuser, 'wrong'))).toBe(false);
    } finally {
      await server.stop();
    }
  });

  it('kill() takes the server down at once, and stop() still cleans up after it', async () => {
    const server = await startPostgres();
    try {
      expect(await canConnect(server.connectionFor('postgres'))).toBe(true);
      await server.kill();
      expect(await canConnect(server.connectionFor('postgres'))).toBe(false);
    } finally {
      await server.stop();
    }
  });
});
