// What every command group gets when it registers: the process (io) and the API client its options describe. One
// file per group in commands/, each a CommandGroup, all listed in commands/index.ts.

import type { Command } from 'commander';
import type { ApiClient } from './api-client';
import type { CliIo } from './io';

/** The options every API command has (options.ts withApiOptions). */
export interface ApiCommandOptions {
  readonly api?: string;
  readonly key?: string;
  readonly json?: boolean;
  readonly verbose?: boolean;
}

export interface CommandContext {
  readonly io: CliIo;
  /** The API client for a command's --api/--key/--verbose (and the PGKEEP_API_* environment). */
  client(options: ApiCommandOptions): ApiClient;
}

/** Adds one command, or a group of subcommands, to the program. Create them with `program.command(…)` so they
 * inherit the program's output and error settings. */
export type CommandGroup = (program: Command, ctx: CommandContext) => void;
