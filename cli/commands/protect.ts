// `pgkeep protect <name>`: configure protection of one database (PUT backupInstances/{name}); the API runs every
// readiness check first and answers 400 listing each failed one with its remediation.

import {
  backupInstanceBodySchema,
  postgresDatasourceType,
  type BackupInstanceResource,
  type SecretReference,
} from '../../shared/contracts/instances';
import { validName } from '../../shared/contracts/resources';
import type { ApiCommandOptions, CommandGroup } from '../context';
import { UsageError } from '../exit-codes';
import { checkRequest, secretReference, withApiOptions } from '../options';
import { emit } from '../print';
import { instanceFields, instancePath } from './instances';

/**
 * The datasource's resourceID (its identity: one instance per id). With --server-id, `<server-id>/databases/<db>`
 * (an ARM server id gives the database's ARM id, and the app's Reader check applies). Without it the CLI cannot see
 * the host behind the secret, so the secret names the server: `appsetting/<NAME>/databases/<db>` or
 * `keyvault/<vault host>/<secret name>/databases/<db>` (a secret's version is left out: rotating it keeps the id).
 */
export function datasourceResourceId(serverId: string | undefined, secret: SecretReference, database: string): string {
  if (serverId !== undefined) return `${serverId.replace(/\/+$/, '')}/databases/${database}`;
  if (secret.secretStoreType === 'AppSetting')
    return `appsetting/${secret.uri.slice('appsetting://'.length)}/databases/${database}`;
  const url = new URL(secret.uri);
  const name = url.pathname.split('/').filter(Boolean)[1] ?? '';
  return `keyvault/${url.host}/${name}/databases/${database}`;
}

export const protectCommand: CommandGroup = (program, ctx) => {
  withApiOptions(
    program
      .command('protect')
      .summary('protect a database: create or change a backup instance')
      .description(
        'protect a database: create (or change the policy of) a backup instance; the API checks readiness first',
      )
      .argument('<name>', 'backup instance name (letters, digits, . _ -)')
      .requiredOption('--policy <policy>', 'backup policy name')
      .requiredOption('--database <db>', 'the database to back up')
      .requiredOption(
        '--credentials <secret uri>',
        "where the server's connection string is: appsetting://NAME or https://<vault>.vault.azure.net/secrets/<name>",
      )
      .option(
        '--server-id <id>',
        "the server's ARM id (or any stable id); default: derived from --credentials (see README)",
      ),
  ).action(
    async (
      name: string,
      opts: ApiCommandOptions & { policy: string; database: string; credentials: string; serverId?: string },
    ) => {
      if (!validName(name)) {
        throw new UsageError(`'${name}' is not a valid backup instance name (letters, digits, . _ -; up to 100)`);
      }
      const secret = secretReference(opts.credentials);
      const body = checkRequest(
        backupInstanceBodySchema,
        {
          properties: {
            objectType: 'BackupInstance',
            friendlyName: name,
            dataSourceInfo: {
              objectType: 'Datasource',
              datasourceType: postgresDatasourceType,
              resourceID: datasourceResourceId(opts.serverId, secret, opts.database),
              resourceName: opts.database,
            },
            policyInfo: { policyId: opts.policy },
            datasourceAuthCredentials: { objectType: 'SecretStoreBasedAuthCredentials', secretStoreResource: secret },
          },
        },
        [
          ['$.properties.dataSourceInfo.resourceName', '--database'],
          ['$.properties.dataSourceInfo.resourceID', '--server-id'],
          ['$.properties.policyInfo', '--policy'],
          ['$.properties.datasourceAuthCredentials', '--credentials'],
        ],
      );
      const answer = await ctx.client(opts).call<BackupInstanceResource>('PUT', instancePath(name), { body });
      emit(
        ctx.io,
        opts.json === true,
        answer,
        () => `${answer.status === 201 ? 'protected' : 'updated'} '${name}'\n${instanceFields(answer.body)}`,
      );
    },
  );
};
