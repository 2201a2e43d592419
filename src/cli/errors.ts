// The CLI's two kinds of failure: a pair's file is bad (exit 1, the run goes
// on), or the command line is wrong (exit 2, nothing runs).

/** A problem with one file: the message names the file and the reason. */
export class CliError extends Error {
  readonly file: string;
  constructor(file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = "CliError";
    this.file = file;
  }
}

/** A usage error: bad option, missing folder, unknown metric (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export const EXIT_OK = 0;
export const EXIT_PAIR_FAILED = 1;
export const EXIT_USAGE = 2;
