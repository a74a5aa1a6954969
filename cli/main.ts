// The `pgkeep` operator command line: the program (commander) built from the command groups of commands/index.ts,
// and the one place where a failure becomes an exit code (exit-codes.ts). Kept apart from the bin entry point so
// tests call run() with their own io.

import { Command, CommanderError } from 'commander';
import { PgkeepError } from '../shared/errors';
import { commandGroups } from './commands';
import type { CommandContext } from './context';
import { CliError, exitCodes, exitCodesHelp, UsageError } from './exit-codes';
import type { CliIo } from './io';
import { clientFor } from './options';
import { formatError } from './print';

export type { CliIo } from './io';
export { exitCodes } from './exit-codes';

function buildProgram(io: CliIo): { program: Command; active: () => Command } {
  const program = new Command('pgkeep');
  let active: Command = program;
  program
    .description(
      'Operate pgkeep: long-term-retention pg_dump backups of PostgreSQL on Azure Functions.\n' +
        'Every command but `policy` is a client of the HTTP API (npm start serves it locally).',
    )
    .usage('<command> [options]')
    // Asked-for help (--help, `help`) is an answer: stdout and exit 0, as gh and az do. Help printed because the
    // command line was wrong goes to stderr with exit 2.
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
      outputError: (text, write) => write(text.replace(/^error: /, 'pgkeep: ')),
    })
    .configureHelp({ styleTitle: (title) => title.toLowerCase(), sortSubcommands: false })
    .showHelpAfterError()
    .exitOverride()
    .addHelpText('afterAll', `\n${exitCodesHelp}\n`)
    .hook('preAction', (_program, command) => {
      active = command;
    });
  const ctx: CommandContext = { io, client: (options) => clientFor(io, options) };
  for (const register of commandGroups) register(program, ctx);
  return { program, active: () => active };
}

/** Runs one command line (without `node` and the script); resolves to the process exit code. Never throws. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const { program, active } = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCodes.ok;
  } catch (err) {
    return report(err, io, active());
  }
}

function report(err: unknown, io: CliIo, command: Command): number {
  // commander printed its message and the help already; help that was asked for is not an error.
  if (err instanceof CommanderError) {
    const asked = err.code === 'commander.helpDisplayed' || (err.code === 'commander.help' && err.exitCode === 0);
    return asked ? exitCodes.ok : exitCodes.usage;
  }
  if (err instanceof UsageError) {
    io.stderr(`${err.render()}\n`);
    command.outputHelp({ error: true });
    return err.exitCode;
  }
  if (err instanceof CliError) {
    io.stderr(err.render());
    return err.exitCode;
  }
  // A request checked with the API's own rules before sending (a policy file): reported as the API would answer.
  if (err instanceof PgkeepError) {
    io.stderr(formatError(err.toBody().error));
    return exitCodes.failed;
  }
  io.stderr(`pgkeep: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
  return exitCodes.failed;
}

/** The help of the command at `path` (`[]`: the program), exactly as --help prints it. */
export function helpText(path: readonly string[]): string {
  let text = '';
  const { program } = buildProgram({
    stdout: () => undefined,
    stderr: (t) => (text += t),
    readFile: () => Promise.reject(new Error('no files')),
  });
  let command = program;
  for (const name of path) {
    const next = command.commands.find((c) => c.name() === name);
    if (!next) throw new Error(`no command ${path.join(' ')}`);
    command = next;
  }
  command.outputHelp({ error: true });
  return text;
}

/** The program's help (`pgkeep --help`). */
export const usage = helpText([]);
