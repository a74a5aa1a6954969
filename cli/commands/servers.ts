// `pgkeep servers list|show|databases|protect` (issue 15): the PostgreSQL servers pgkeep discovers databases on, what
// each holds, and protecting many of its databases with one policy (POST servers/{name}/protect).

import type { List } from '../../shared/contracts/resources';
import {
  protectBodySchema,
  type ProtectResponse,
  type ServerDatabase,
  type ServerResource,
} from '../../shared/contracts/servers';
import { policyNameFromId } from '../../shared/contracts/instances';
import type { ApiCommandOptions, CommandGroup } from '../context';
import { SilentExit, UsageError, exitCodes } from '../exit-codes';
import { checkRequest, commaList, secretReference, withApiOptions } from '../options';
import { emit, formatBytes, formatFields, formatTable, localTime } from '../print';

const serverPath = (name: string): string => `servers/${encodeURIComponent(name)}`;

function serverFields(s: ServerResource): string {
  const p = s.properties;
  const secret = p.datasourceAuthCredentials.secretStoreResource;
  return formatFields([
    ['server', s.name],
    ['resource id', p.resourceID],
    ['credentials', `${secret.uri} (${secret.secretStoreType})`],
    ['slot key', p.slotKey],
    [
      'backups at once',
      `${p.effectiveMaxConcurrentBackups}${p.maxConcurrentBackups === undefined ? ' (default)' : ''}`,
    ],
    [
      'auto-protect',
      p.autoProtect &&
        `${policyNameFromId(p.autoProtect.policyId)}  include ${(p.autoProtect.include ?? ['*']).join(',')}  exclude ${(p.autoProtect.exclude ?? []).join(',') || '-'}`,
    ],
    ['last discovery', p.lastDiscoveryAt && localTime(p.lastDiscoveryAt)],
    ['last globals backup', p.lastGlobalsAt && localTime(p.lastGlobalsAt)],
  ]);
}

export const serversCommands: CommandGroup = (program, ctx) => {
  const servers = program.command('servers').description('PostgreSQL servers: discovery and bulk protection');

  withApiOptions(servers.command('list').description('every registered server')).action(
    async (opts: ApiCommandOptions) => {
      const answer = await ctx.client(opts).call<List<ServerResource>>('GET', 'servers');
      emit(ctx.io, opts.json === true, answer, () =>
        answer.body.value.length === 0
          ? 'no servers (register one with PUT /api/servers/{name})'
          : formatTable(
              ['NAME', 'RESOURCE ID', 'AT ONCE', 'AUTO-PROTECT', 'LAST DISCOVERY'],
              answer.body.value.map((s) => [
                s.name,
                s.properties.resourceID,
                String(s.properties.effectiveMaxConcurrentBackups),
                s.properties.autoProtect ? policyNameFromId(s.properties.autoProtect.policyId) : '-',
                localTime(s.properties.lastDiscoveryAt),
              ]),
            ),
      );
    },
  );

  withApiOptions(servers.command('show').description('one server').argument('<name>', 'server name')).action(
    async (name: string, opts: ApiCommandOptions) => {
      const answer = await ctx.client(opts).call<ServerResource>('GET', serverPath(name));
      emit(ctx.io, opts.json === true, answer, () => serverFields(answer.body));
    },
  );

  withApiOptions(
    servers
      .command('databases')
      .description("the server's databases: size, protected by which instance, or why they cannot be")
      .argument('<name>', 'server name'),
  ).action(async (name: string, opts: ApiCommandOptions) => {
    const answer = await ctx.client(opts).call<{ value: ServerDatabase[] }>('GET', `${serverPath(name)}/databases`);
    emit(ctx.io, opts.json === true, answer, () =>
      formatTable(
        ['DATABASE', 'SIZE', 'PROTECTED BY', 'NOTE'],
        answer.body.value.map((d) => [
          d.name,
          formatBytes(d.sizeInBytes),
          d.protectedBy ?? '-',
          d.protectable ? '' : `not protectable: ${d.notProtectableReason ?? ''}`,
        ]),
      ),
    );
  });

  withApiOptions(
    servers
      .command('protect')
      .description('protect many databases of a server with one policy; prints the result per database')
      .argument('<name>', 'server name')
      .requiredOption('--policy <policy>', 'backup policy name')
      .option('--all', 'every protectable database (with --include/--exclude to narrow)')
      .option('--databases <a,b,…>', 'these databases', commaList)
      .option('--include <glob,…>', 'only databases matching one of these globs (* and ?)', commaList)
      .option('--exclude <glob,…>', 'not databases matching one of these globs', commaList)
      .option('--credentials <secret uri>', "one credential for all (default: the server's)")
      .option('--ready-only', 'create the ready ones even when others are not ready (default: all or nothing)'),
  ).action(
    async (
      name: string,
      opts: ApiCommandOptions & {
        policy: string;
        all?: boolean;
        databases?: string[];
        include?: string[];
        exclude?: string[];
        credentials?: string;
        readyOnly?: boolean;
      },
    ) => {
      if ((opts.all === true) === (opts.databases !== undefined)) {
        throw new UsageError('give either --all or --databases');
      }
      const body = checkRequest(
        protectBodySchema,
        {
          policyId: opts.policy,
          databases: opts.all === true ? 'all' : opts.databases,
          ...(opts.include ? { include: opts.include } : {}),
          ...(opts.exclude ? { exclude: opts.exclude } : {}),
          ...(opts.credentials
            ? {
                datasourceAuthCredentials: {
                  objectType: 'SecretStoreBasedAuthCredentials',
                  secretStoreResource: secretReference(opts.credentials),
                },
              }
            : {}),
          ...(opts.readyOnly === true ? { protectReadyOnly: true } : {}),
        },
        [
          ['$.policyId', '--policy'],
          ['$.databases', '--databases'],
          ['$.include', '--include'],
          ['$.exclude', '--exclude'],
          ['$.datasourceAuthCredentials', '--credentials'],
        ],
      );
      const answer = await ctx.client(opts).call<ProtectResponse>('POST', `${serverPath(name)}/protect`, { body });
      emit(ctx.io, opts.json === true, answer, () =>
        [
          `${answer.body.status}${answer.body.jobId ? ` (job ${answer.body.jobId})` : ''}`,
          formatTable(
            ['DATABASE', 'INSTANCE', 'OUTCOME', 'MESSAGE'],
            answer.body.value.map((r) => [r.database, r.instanceName ?? '-', r.outcome, r.message]),
          ),
          ...answer.body.value.flatMap((r) =>
            (r.failedChecks ?? []).map((c) => `  ${r.database}: ${c.name}: ${c.remediation ?? c.message}`),
          ),
        ].join('\n'),
      );
      // Some databases left unprotected is a failure the shell should see.
      if (answer.body.status !== 'Succeeded') throw new SilentExit(exitCodes.failed, answer.body.status);
    },
  );
};
