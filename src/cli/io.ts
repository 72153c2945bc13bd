import { parseArgs, type ParseArgsConfig } from "node:util";

/** What a subcommand may use of its process: its output streams and its environment. */
export interface CliIo {
  stdout(s: string): void;
  stderr(s: string): void;
  env: Record<string, string | undefined>;
}

/** Exit codes of every subcommand. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
/** A usage error, or the command cannot run as configured. */
export const EXIT_USAGE = 2;

/** A bad command line: the message is printed with the usage hint, and the exit code is EXIT_USAGE. */
export class UsageError extends Error {}

type Flags = NonNullable<ParseArgsConfig["options"]>;

/** The command's flags (node:util parseArgs, strict); a bad command line is a UsageError. */
export function parseFlags<T extends Flags>(
  args: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T }>>["values"] {
  try {
    return parseArgs({ args, options }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
