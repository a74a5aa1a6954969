// Reads a restored database in the terms of its manifest of contents: per listed table `COPY … (columns) TO STDOUT`
// through the same checksum the backup computed from the dump, under the session settings the dump's text was
// written in (design: docs/decisions.md "Restore tests"), plus its schemas, extensions and large-object count.

import { escapeIdentifier, type Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { PgkeepError } from '../../errors';
import type { PgConnection } from '../../ports';
import { qualifiedName, type ContentsManifest, type ObservedContents } from '../../domain/contents';
import { CopyChecksum } from './copy-checksum';
import { connectPgClient, redact } from './connection-string';
import { classifyConnectError } from './pg-readiness';

/**
 * The settings pg_dump's session had when it wrote the COPY text (pg_dump sets DateStyle, IntervalStyle and
 * extra_float_digits itself; the dump pipeline runs it with PGTZ=UTC), and that reading the rows back must repeat.
 */
export function dumpSessionSettings(manifest: Pick<ContentsManifest, 'encoding'>): [string, string][] {
  return [
    ['client_encoding', manifest.encoding],
    ['DateStyle', 'ISO'],
    ['IntervalStyle', 'postgres'],
    ['extra_float_digits', '3'],
    ['TimeZone', 'UTC'],
    ['bytea_output', 'hex'],
    // A policy that hid rows would make a table look short: with row security off, reading such a table fails.
    ['row_security', 'off'],
  ];
}

export interface ReadRestoredOptions {
  readonly abortSignal?: AbortSignal;
}

/** Connects to the restored database `conn.database` and reads what the manifest lists. */
export async function readRestoredContents(
  conn: PgConnection,
  manifest: ContentsManifest,
  options: ReadRestoredOptions = {},
): Promise<ObservedContents> {
  let client: Client;
  try {
    client = await connectPgClient(conn, { connectTimeoutMs: 30_000 });
  } catch (err) {
    const failed = classifyConnectError(err, conn);
    throw new PgkeepError(failed.code ?? 'SystemErrorInternal', failed.message, { target: 'target', cause: err });
  }
  const onAbort = (): void => {
    // Ends the connection: a COPY in progress fails and the read stops.
    void client.end().catch(() => undefined);
  };
  options.abortSignal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (const [name, value] of dumpSessionSettings(manifest)) {
      await client.query('SELECT set_config($1, $2, false)', [name, value]);
    }
    const present = await client.query<{ schema: string; name: string }>(`
      SELECT n.nspname AS schema, c.relname AS name
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'f', 'm')`);
    const existing = new Set(present.rows.map((r) => qualifiedName(r)));
    const tables = new Map<string, { rows: number; checksum: string }>();
    const checksum = new CopyChecksum();
    for (const table of manifest.tables) {
      const key = qualifiedName(table);
      if (!existing.has(key)) continue;
      const columns = table.columns.map((c) => escapeIdentifier(c)).join(', ');
      const sql = `COPY ${escapeIdentifier(table.schema)}.${escapeIdentifier(table.name)}${columns === '' ? '' : ` (${columns})`} TO STDOUT`;
      checksum.reset();
      for await (const chunk of client.query(copyTo(sql)) as AsyncIterable<Buffer>) checksum.text(chunk);
      tables.set(key, checksum.digest());
    }
    const schemas = await client.query<{ name: string }>('SELECT nspname AS name FROM pg_namespace');
    const extensions = await client.query<{ name: string }>('SELECT extname AS name FROM pg_extension');
    const los = await client.query<{ n: string }>('SELECT count(*)::text AS n FROM pg_largeobject_metadata');
    return {
      tables,
      schemas: schemas.rows.map((r) => r.name),
      extensions: extensions.rows.map((r) => r.name),
      largeObjects: Number(los.rows[0]?.n ?? 0),
    };
  } catch (err) {
    if (err instanceof PgkeepError) throw err;
    const text = redact(err instanceof Error ? err.message : String(err), conn);
    throw new PgkeepError(
      'SystemErrorRestoreFailed',
      options.abortSignal?.aborted === true
        ? `reading back the restored database "${conn.database}" was stopped at its time limit`
        : `reading back the restored database "${conn.database}" failed: ${text}`,
      { cause: err },
    );
  } finally {
    options.abortSignal?.removeEventListener('abort', onAbort);
    await client.end().catch(() => undefined);
  }
}
