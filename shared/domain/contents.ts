// The manifest of contents of a recovery point (issue 17, docs/decisions.md "Restore tests"): what a backup records
// about the data it dumped, and the pure comparison a restore test makes between it and a restored database.

/** One table's data as the dump carries it: the COPY column list, the row count and the checksum of the rows. */
export interface TableContents {
  readonly schema: string;
  readonly name: string;
  /** The columns pg_dump copied, in its order (generated columns are not dumped). */
  readonly columns: readonly string[];
  readonly rows: number;
  /** Sum of FNV-1a 64 of each COPY text row, modulo 2^64, as 16 hex digits (adapters/postgres/copy-checksum.wat). */
  readonly checksum: string;
}

/** The `contents` field of a manifest, computed from the dump stream as it passed (no second read of the source). */
export interface ContentsManifest {
  readonly formatVersion: 1;
  readonly checksumAlgorithm: string;
  /** The custom-format archive's version, e.g. "1.14.0" (pg_dump 15). */
  readonly archiveVersion: string;
  /** The dump's client encoding: the COPY text, hence the checksums, are in it. */
  readonly encoding: string;
  readonly tables: readonly TableContents[];
  /** Schemas the dump creates or holds tables in, sorted. */
  readonly schemas: readonly string[];
  /** Extensions the dump creates, sorted. */
  readonly extensions: readonly string[];
  /** Large objects whose data the dump carries. */
  readonly largeObjects: number;
}

/** What a restore test reads back from the restored database, in the same terms. */
export interface ObservedContents {
  /** "schema.name" → the table's digest; absent when the table does not exist in the restored database. */
  readonly tables: ReadonlyMap<string, { readonly rows: number; readonly checksum: string }>;
  readonly schemas: readonly string[];
  readonly extensions: readonly string[];
  readonly largeObjects: number;
}

export const mismatchKinds = [
  'TableMissing',
  'RowCount',
  'Checksum',
  'SchemaMissing',
  'ExtensionMissing',
  'LargeObjectCount',
] as const;
export type MismatchKind = (typeof mismatchKinds)[number];

/** One difference between a manifest of contents and a restored database; `object` names the table, schema… */
export interface ContentsMismatch {
  readonly kind: MismatchKind;
  readonly object: string;
  readonly expected: string | number;
  readonly actual: string | number | null;
}

export interface ContentsComparison {
  readonly tables: number;
  /** Rows of the manifest's tables that were compared (the manifest's counts). */
  readonly rowsCompared: number;
  readonly mismatches: readonly ContentsMismatch[];
}

/** "schema.name", the key tables are named by in results and maps. */
export function qualifiedName(t: { readonly schema: string; readonly name: string }): string {
  return `${t.schema}.${t.name}`;
}

/**
 * Compares a manifest of contents with what was read back, table by table (in the manifest's order), then schemas,
 * extensions and the large-object count. Objects in the restored database that the manifest does not list are not
 * differences: a restore into a fresh database brings the target's own defaults along (e.g. plpgsql).
 */
export function compareContents(expected: ContentsManifest, observed: ObservedContents): ContentsComparison {
  const mismatches: ContentsMismatch[] = [];
  let rowsCompared = 0;
  for (const table of expected.tables) {
    const key = qualifiedName(table);
    const found = observed.tables.get(key);
    rowsCompared += table.rows;
    if (found === undefined) {
      mismatches.push({ kind: 'TableMissing', object: key, expected: table.rows, actual: null });
    } else if (found.rows !== table.rows) {
      mismatches.push({ kind: 'RowCount', object: key, expected: table.rows, actual: found.rows });
    } else if (found.checksum !== table.checksum) {
      mismatches.push({ kind: 'Checksum', object: key, expected: table.checksum, actual: found.checksum });
    }
  }
  const schemas = new Set(observed.schemas);
  for (const schema of expected.schemas) {
    if (!schemas.has(schema))
      mismatches.push({ kind: 'SchemaMissing', object: schema, expected: schema, actual: null });
  }
  const extensions = new Set(observed.extensions);
  for (const ext of expected.extensions) {
    if (!extensions.has(ext)) mismatches.push({ kind: 'ExtensionMissing', object: ext, expected: ext, actual: null });
  }
  if (observed.largeObjects !== expected.largeObjects) {
    mismatches.push({
      kind: 'LargeObjectCount',
      object: 'large objects',
      expected: expected.largeObjects,
      actual: observed.largeObjects,
    });
  }
  return { tables: expected.tables.length, rowsCompared, mismatches };
}
