// The exit codes of `pgkeep`, declared once, and the errors that carry them: main.ts maps every failure to one of
// these, the help text and the README list them from here.

export const exitCodes = {
  /** Done; with --wait or `jobs watch`: the job Succeeded. */
  ok: 0,
  /** The job failed, the API answered with an error, or an input file (policy, dates) is invalid. */
  failed: 1,
  /** The command line is wrong: unknown command or option, a missing or bad option value. */
  usage: 2,
  /** The API could not be reached. */
  unreachable: 3,
  /** Ctrl-C while watching a job: watching stopped, the job goes on (128 + SIGINT, as shells report it). */
  interrupted: 130,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

export const exitCodesHelp = `exit codes:
  0    done (with --wait or jobs watch: the job Succeeded)
  1    the job failed or was cancelled, the API answered with an error (its code, message and hint are
       printed), or an input file, policy or date is invalid
  2    usage error: unknown command or option, a missing or invalid option value (the option is named)
  3    the API could not be reached (the URL is printed; start it with npm start, or set --api/PGKEEP_API_URL)
  130  Ctrl-C while watching a job: watching stopped, the job goes on`;

/** A failure the CLI reports on stderr and turns into its exit code; never a stack trace. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }

  /** What stderr shows. */
  render(): string {
    return `pgkeep: ${this.message}\n`;
  }
}

/** The command line is wrong; main.ts prints the message and the running command's help. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(exitCodes.usage, message);
  }
}

/** Bad input the operator fixes (dates, ranges, an unreadable or invalid file): exit 1. */
export class InputError extends CliError {
  constructor(message: string) {
    super(exitCodes.failed, message);
  }
}

/** Ends a command with an exit code after it has printed everything it had to say. */
export class SilentExit extends CliError {
  override render(): string {
    return '';
  }
}
