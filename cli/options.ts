// Turning command-line options into API input: the API options every API command shares, and checking a request
// body with the API's own schema (shared/contracts) before it is sent, naming the option behind each bad field.

import { InvalidArgumentError, type Command } from 'commander';
import type { z } from 'zod';
import { PgkeepError } from '../shared/errors';
import { validate } from '../shared/contracts/validation';
import type { SecretReference } from '../shared/contracts/instances';
import { ApiClient, defaultApiUrl } from './api-client';
import type { ApiCommandOptions } from './context';
import { UsageError } from './exit-codes';
import { envOf, type CliIo } from './io';

const apiEnvHelp = `
environment:
  PGKEEP_API_URL    the API's root (default ${defaultApiUrl}, what npm start serves)
  PGKEEP_API_KEY    a function key, sent as x-functions-key (preferred over --key)
  PGKEEP_API_SCOPE  an Entra ID scope (api://<app id>/.default): a token from DefaultAzureCredential is sent as
                    Authorization: Bearer, for an app behind App Service Authentication`;

/** Adds --api, --key, --json and --verbose to an API command, and the environment it reads to its help. */
export function withApiOptions(cmd: Command): Command {
  return cmd
    .option('--api <url>', `the API's root URL (env PGKEEP_API_URL; default ${defaultApiUrl})`)
    .option('--key <key>', 'a function key; prefer env PGKEEP_API_KEY (a flag shows in ps and shell history)')
    .option('--json', "print the API's JSON exactly, one document")
    .option('--verbose', 'log every request (method, URL, status, time) on stderr; never keys or tokens')
    .addHelpText('after', apiEnvHelp);
}

/** The client for a command's options; a URL with credentials or a query is refused (they would reach logs). */
export function clientFor(io: CliIo, options: ApiCommandOptions): ApiClient {
  const raw = options.api ?? envOf(io, 'PGKEEP_API_URL') ?? defaultApiUrl;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.username || url.password || url.search || url.hash) {
    throw new UsageError(
      `--api (or PGKEEP_API_URL) must be an http(s) URL without credentials or query, e.g. ${defaultApiUrl}`,
    );
  }
  if (options.key !== undefined) {
    io.stderr('pgkeep: warning: --key shows in the process list and shell history; set PGKEEP_API_KEY instead\n');
  }
  const key = options.key ?? envOf(io, 'PGKEEP_API_KEY');
  const scope = envOf(io, 'PGKEEP_API_SCOPE');
  return new ApiClient({
    baseUrl: url.href.replace(/\/+$/, ''),
    ...(key !== undefined && { key }),
    ...(scope !== undefined && { scope }),
    ...(options.verbose && { log: (line: string) => io.stderr(`pgkeep: ${line}\n`) }),
  });
}

/** Which option a field of a request body comes from: the first entry whose JSON path is the field or contains it. */
export type OptionPaths = readonly (readonly [jsonPath: string, option: string])[];

function optionFor(target: string, paths: OptionPaths): string {
  const hit = paths.find(([p]) => target === p || target.startsWith(`${p}.`) || target.startsWith(`${p}[`));
  return hit ? hit[1] : target;
}

/**
 * Checks a request body with the API's schema before sending it. A bad field is a usage error naming its option
 * (`--jobs: Too small: expected number to be >=1`); the value itself is not repeated (it may be a SAS URL).
 */
export function checkRequest<T>(schema: z.ZodType<T>, body: unknown, paths: OptionPaths): T {
  try {
    return validate(schema, body);
  } catch (err) {
    if (!(err instanceof PgkeepError)) throw err;
    const problems = err.details.length > 0 ? err.details : [{ target: '$', message: err.message }];
    throw new UsageError(problems.map((d) => `${optionFor(d.target, paths)}: ${d.message}`).join('\n  '));
  }
}

/** `--credentials <secret uri>` as the API's secret reference: appsetting://NAME or a Key Vault secret URL. */
export function secretReference(uri: string, option = '--credentials'): SecretReference {
  if (uri.startsWith('appsetting://')) return { secretStoreType: 'AppSetting', uri };
  if (uri.startsWith('https://')) return { secretStoreType: 'AzureKeyVault', uri };
  throw new UsageError(
    `${option} must be appsetting://<SETTING_NAME> or https://<vault>.vault.azure.net/secrets/<name>`,
  );
}

/** commander parser for `a,b,c` lists (blanks around commas ignored). */
export function commaList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** commander parser for whole numbers. */
export function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number');
  return Number(value);
}

const spanUnits: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `--since`: a span back from now (`90m`, `12h`, `7d`, `2w`) or an ISO 8601 instant, as an ISO instant. */
export function sinceInstant(value: string, nowMs: number): string {
  const m = /^(\d+)([mhdw])$/.exec(value);
  if (m) return new Date(nowMs - Number(m[1]) * spanUnits[m[2]!]!).toISOString();
  if (Number.isNaN(Date.parse(value))) {
    throw new UsageError('--since must be a span back from now (90m, 12h, 7d, 2w) or an ISO 8601 instant');
  }
  // The API's schema decides whether the instant is precise enough (it wants a zone).
  return value;
}
