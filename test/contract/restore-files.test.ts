import {
  BlobServiceClient,
  ContainerClient,
  ContainerSASPermissions,
  type BlobServiceClient as ServiceClient,
} from '@azure/storage-blob';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreAsFiles, type RestoreAsFilesOptions } from '../../shared/adapters/storage/restore-files';
import { normalizeFilePrefix } from '../../shared/contracts/restores';
import { startAzurite, type AzuriteInstance } from '../support/azurite';
import { seedVariedDatabase, startPostgres, type TestPostgres } from '../support/postgres';
import { tableChecksums } from '../support/table-checksums';
import { failureOf } from '../support/failures';
import { blobSource, corruptCopy, dumpToBlob, type StoredDump } from './restore-support';

const execFileAsync = promisify(execFile);
const SYSTEM_BIN = '/usr/lib/postgresql/15/bin';

describe('restoreAsFiles', () => {
  let server: TestPostgres;
  let azurite: AzuriteInstance;
  let service: ServiceClient;
  let dumps: ContainerClient;
  let target: ContainerClient;
  let varied: StoredDump;
  let workDir: string;
  let seq = 0;

  const manifestOf = (dump: StoredDump): Record<string, unknown> => ({
    pgDumpVersion: dump.result.pgDumpVersion,
    bytes: dump.result.bytes,
    sha256: dump.result.sha256,
  });
  const restore = (overrides: Partial<RestoreAsFilesOptions> = {}): ReturnType<typeof restoreAsFiles> =>
    restoreAsFiles({
      source: blobSource(dumps, varied.blobName),
      expectedSha256: varied.result.sha256,
      expectedBytes: varied.result.bytes,
      manifest: manifestOf(varied),
      container: target,
      filePrefix: `exports/run-${++seq}`,
      pointId: 'rp-0001',
      ...overrides,
    });
  const namesUnder = async (container: ContainerClient, prefix: string): Promise<string[]> => {
    const names: string[] = [];
    for await (const blob of container.listBlobsFlat({ prefix })) names.push(blob.name);
    return names;
  };

  beforeAll(async () => {
    [server, azurite, workDir] = await Promise.all([
      startPostgres(),
      startAzurite(),
      mkdtemp(path.join(tmpdir(), 'pgkeep-files-')),
    ]);
    service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    dumps = service.getContainerClient('dumps');
    target = service.getContainerClient('restores');
    await Promise.all([dumps.create(), target.create(), seedVariedDatabase(server, 'varied')]);
    varied = await dumpToBlob(dumps, 'varied.dump.zst', server.connectionFor('varied'));
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), azurite?.stop(), workDir && rm(workDir, { recursive: true, force: true })]);
  });

  it('delivers a dump that the delivered script restores with stock createdb and pg_restore, every row equal', async () => {
    const result = await restore({ filePrefix: 'exports/2024/' });
    expect(result.files.map((f) => f.name)).toEqual([
      'exports/2024/rp-0001.manifest.json',
      'exports/2024/rp-0001.dump',
      'exports/2024/rp-0001-restore.sh',
    ]);
    for (const file of result.files) {
      const props = await target.getBlobClient(file.name).getProperties();
      expect(props.contentLength).toBe(file.bytes);
    }
    const manifest: unknown = JSON.parse(
      (await target.getBlobClient(result.files[0]?.name ?? '').downloadToBuffer()).toString(),
    );
    expect(manifest).toEqual(manifestOf(varied));

    // Download as an operator would, then run the script with nothing but PG* variables and stock tools.
    const local = path.join(workDir, 'delivered');
    await execFileAsync('mkdir', ['-p', local]);
    await target.getBlobClient('exports/2024/rp-0001.dump').downloadToFile(path.join(local, 'rp-0001.dump'));
    await target
      .getBlobClient('exports/2024/rp-0001-restore.sh')
      .downloadToFile(path.join(local, 'rp-0001-restore.sh'));
    const conn = server.connectionFor('postgres');
    await execFileAsync('sh', [path.join(local, 'rp-0001-restore.sh'), 'from_files'], {
      env: {
        PATH: `${SYSTEM_BIN}:/usr/bin:/bin`,
        PGHOST: conn.host,
        PGPORT: String(conn.port),
        PGUSER: conn.user,
        PGPASSWORD: conn.password,
        PGSSLMODE: 'disable',
      },
    });
    expect(await tableChecksums(server.connectionFor('from_files'))).toEqual(
      await tableChecksums(server.connectionFor('varied')),
    );

    const script = (await target.getBlobClient('exports/2024/rp-0001-restore.sh').downloadToBuffer()).toString();
    expect(script).not.toContain(server.password);
    expect(script).toMatch(/^#!\/bin\/sh\n/);
  });

  it('writes at the container root for an empty filePrefix', async () => {
    const result = await restore({ filePrefix: '', pointId: 'rp-root' });
    expect(result.files.map((f) => f.name)).toEqual(['rp-root.manifest.json', 'rp-root.dump', 'rp-root-restore.sh']);
  });

  it.each(['../x', 'a/../../x', '/abs', 'a\\b', 'a//b', './a', 'a\nb', 'x'.repeat(513)])(
    'refuses filePrefix %j with UserErrorInvalidRequest naming filePrefix and writes nothing',
    async (filePrefix) => {
      const before = await namesUnder(target, '');
      const err = await failureOf(restore({ filePrefix }));
      expect(err.code).toBe('UserErrorInvalidRequest');
      expect(err.target).toBe('filePrefix');
      expect(await namesUnder(target, '')).toEqual(before);
    },
  );

  it('accepts ordinary prefixes as folders', () => {
    expect(normalizeFilePrefix('a')).toBe('a/');
    expect(normalizeFilePrefix('a/b.c/d-e/')).toBe('a/b.c/d-e/');
  });

  it('fails UserErrorContainerNotAccessible for a missing container', async () => {
    const err = await failureOf(restore({ container: service.getContainerClient('no-such-container') }));
    expect(err.code).toBe('UserErrorContainerNotAccessible');
  });

  it('fails UserErrorContainerNotAccessible for a container the credential may only read, and writes nothing', async () => {
    const sasUrl = await target.generateSasUrl({
      permissions: ContainerSASPermissions.parse('rl'),
      expiresOn: new Date(Date.now() + 3_600_000),
    });
    const readOnly = new ContainerClient(sasUrl);
    const err = await failureOf(restore({ container: readOnly, filePrefix: 'readonly' }));
    expect(err.code).toBe('UserErrorContainerNotAccessible');
    expect(await namesUnder(target, 'readonly/')).toEqual([]);
  });

  it('fails SystemErrorIntegrityCheckFailed for a blob with one flipped byte and deletes what it wrote', async () => {
    await corruptCopy(dumps, varied.blobName, 'corrupt.dump.zst');
    const err = await failureOf(restore({ source: blobSource(dumps, 'corrupt.dump.zst'), filePrefix: 'corrupt' }));
    expect(err.code).toBe('SystemErrorIntegrityCheckFailed');
    expect(await namesUnder(target, 'corrupt/')).toEqual([]);
  });

  it('fails SystemErrorIntegrityCheckFailed when the bytes decompress but differ from the manifest’s SHA-256', async () => {
    const err = await failureOf(restore({ expectedSha256: 'f'.repeat(64), filePrefix: 'badsha' }));
    expect(err.code).toBe('SystemErrorIntegrityCheckFailed');
    expect(await namesUnder(target, 'badsha/')).toEqual([]);
  });
});
