// The `supabase-session-store` command: a table of subcommands, each a function from
// its arguments and the process's streams and environment to an exit code
// (0 done, 1 failure, 2 usage error or cannot run). The key a command is given is
// never printed.
import { runDoctor } from "./doctor.js";
import { runInit } from "./init.js";
import { type CliIo, EXIT_OK, EXIT_USAGE } from "./io.js";
import { runMigrations } from "./migrations.js";
import { FUNCTION_DIR, MIGRATIONS_DIR } from "./package-files.js";
import { runPurge } from "./purge.js";
import { runSwitch } from "./switch.js";

export type { CliIo } from "./io.js";

interface Command {
  summary: string;
  run(argv: string[], io: CliIo): number | Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  init: {
    summary: "put the migrations, the cleanup function and its config.toml block into your Supabase project",
    run: (argv, io) => runInit(argv, io, { migrations: MIGRATIONS_DIR, functionDir: FUNCTION_DIR }),
  },
  doctor: {
    summary: "check a deployment (migrations, privileges, schedule, the function, housekeeping); read-only",
    run: runDoctor,
  },
  purge: {
    summary: "delete expired sessions now, through the cleanup-sessions Edge Function",
    run: runPurge,
  },
  migrations: {
    summary: "write the package's migrations into your project, in public or another schema",
    run: (argv, io) => runMigrations(argv, io, MIGRATIONS_DIR),
  },
  "switch-from-connect-pg-simple": {
    summary: "move a live app's sessions from connect-pg-simple's table, logging no one out (guard, import, unguard)",
    run: runSwitch,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: supabase-session-store <command> [options]

Commands:
${lines.join("\n")}

Run \`supabase-session-store <command> --help\` for a command's options.
Exit codes: 0 done, 1 failure, 2 usage error or cannot run.
`;
}

/** Runs one command line (without the program name); resolves with the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    (name === undefined ? io.stderr : io.stdout)(usage());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    io.stderr(`supabase-session-store: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return EXIT_USAGE;
  }
  return await command.run(rest, io);
}
