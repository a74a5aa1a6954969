// `pgkeep restore <instance>`: a recovery point as a new database (--as-database) or as files in a blob container
// (--as-files), built into the API's restore request and checked with its schema before it is sent.

import { Option } from 'commander';
import { postgresDatasourceType } from '../../shared/contracts/instances';
import type { JobResource } from '../../shared/contracts/jobs';
import { restoreRequestSchema } from '../../shared/contracts/restores';
import type { ApiCommandOptions, CommandGroup } from '../context';
import { UsageError } from '../exit-codes';
import { checkRequest, commaList, secretReference, wholeNumber, withApiOptions } from '../options';
import { instancePath } from './instances';
import { reportJob, withWait } from './jobs';
import { resolvePoint } from './points';

interface RestoreOptions extends ApiCommandOptions {
  point: string;
  asDatabase?: string;
  asFiles?: string;
  credentials?: string;
  schemas?: string[];
  tables?: string[];
  owner?: string;
  jobs?: number;
  prefix?: string;
  rehydrate?: 'Standard' | 'High';
  wait?: boolean;
}

const databaseOnly = ['credentials', 'schemas', 'tables', 'owner', 'jobs'] as const;

/** The restore request the options describe (recoveryPointId as given: `latest` is resolved after the check). */
function restoreBody(o: RestoreOptions): unknown {
  if ((o.asDatabase === undefined) === (o.asFiles === undefined)) {
    throw new UsageError('give exactly one of --as-database <name> and --as-files <container url>');
  }
  if (o.asDatabase !== undefined && o.credentials === undefined) {
    throw new UsageError('--as-database needs --credentials <secret uri> of the target server');
  }
  if (o.asFiles !== undefined) {
    const misplaced = databaseOnly.filter((k) => o[k] !== undefined);
    if (misplaced.length > 0) throw new UsageError(`--${misplaced[0]} applies to --as-database only`);
  }
  if (o.asDatabase !== undefined && o.prefix !== undefined) throw new UsageError('--prefix applies to --as-files only');
  const options = {
    ...(o.schemas && { schemas: o.schemas }),
    ...(o.tables && { tables: o.tables }),
    ...(o.owner !== undefined && { owner: o.owner }),
    ...(o.jobs !== undefined && { jobs: o.jobs }),
  };
  return {
    objectType: o.rehydrate
      ? 'AzureBackupRestoreWithRehydrationRequest'
      : 'AzureBackupRecoveryPointBasedRestoreRequest',
    recoveryPointId: o.point,
    sourceDataStoreType: o.rehydrate ? 'ArchiveStore' : 'VaultStore',
    ...(o.rehydrate && { rehydrationPriority: o.rehydrate }),
    restoreTargetInfo:
      o.asDatabase !== undefined
        ? {
            objectType: 'RestoreTargetInfo',
            recoveryOption: 'FailIfExists',
            datasourceInfo: {
              objectType: 'Datasource',
              datasourceType: postgresDatasourceType,
              resourceName: o.asDatabase,
            },
            datasourceAuthCredentials: {
              objectType: 'SecretStoreBasedAuthCredentials',
              secretStoreResource: secretReference(o.credentials!),
            },
          }
        : {
            objectType: 'RestoreFilesTargetInfo',
            recoveryOption: 'FailIfExists',
            targetDetails: { url: o.asFiles, filePrefix: o.prefix ?? '', restoreTargetLocationType: 'AzureBlobs' },
          },
    ...(Object.keys(options).length > 0 && { options }),
  };
}

export const restoreCommand: CommandGroup = (program, ctx) => {
  withWait(
    withApiOptions(
      program
        .command('restore')
        .summary('restore a recovery point as a new database or as files')
        .description(
          'restore a recovery point as a new database (never overwrites) or as pg_restore-ready files in a blob container',
        )
        .argument('<instance>', 'backup instance name')
        .requiredOption('--point <id>', 'recovery point id, or latest')
        .option('--as-database <name>', 'create this new database on the server of --credentials')
        .option('--credentials <secret uri>', 'the target server: appsetting://NAME or https://<vault>/secrets/<name>')
        .option('--schemas <a,b>', 'restore only these schemas', commaList)
        .option('--tables <s.t,...>', 'restore only these tables', commaList)
        .option('--owner <owner>', 'none (default: the restoring user owns everything), keep, or a role')
        .option('--jobs <n>', 'parallel pg_restore jobs (1-32)', wholeNumber)
        .option('--as-files <container url>', 'write the dump, manifest and restore script into this container')
        .option('--prefix <prefix>', 'folder inside the container for --as-files')
        .addOption(
          new Option('--rehydrate <priority>', 'rehydrate an archived point first').choices(['Standard', 'High']),
        ),
    ),
  ).action(async (instance: string, opts: RestoreOptions) => {
    const body = checkRequest(restoreRequestSchema, restoreBody(opts), [
      ['$.recoveryPointId', '--point'],
      ['$.restoreTargetInfo.datasourceInfo', '--as-database'],
      ['$.restoreTargetInfo.datasourceAuthCredentials', '--credentials'],
      ['$.restoreTargetInfo.targetDetails.filePrefix', '--prefix'],
      ['$.restoreTargetInfo.targetDetails', '--as-files'],
      ['$.options.schemas', '--schemas'],
      ['$.options.tables', '--tables'],
      ['$.options.owner', '--owner'],
      ['$.options.jobs', '--jobs'],
      ['$.rehydrationPriority', '--rehydrate'],
    ]);
    const client = ctx.client(opts);
    const recoveryPointId = await resolvePoint(client, instance, opts.point);
    const answer = await client.call<JobResource>('POST', `${instancePath(instance)}/restore`, {
      body: { ...body, recoveryPointId },
    });
    await reportJob(ctx, client, answer, opts);
  });
};
