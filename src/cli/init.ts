// `supabase-session-store init [--schema <name>] [--dry-run]`, run in a Supabase project
// (the folder holding supabase/config.toml): puts what the package needs into it. The
// migrations go into supabase/migrations/ under versions after the project's newest one,
// so that `supabase db push` never refuses them as older than what is applied; the
// cleanup function into supabase/functions/cleanup-sessions/; its block into config.toml.
// A migration is known by its name (the part after the version, as the doctor knows it)
// and its text: a second run, or a run after an upgrade, writes only what is missing.
import fs from "node:fs";
import path from "node:path";
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, parseFlags, UsageError } from "./io.js";
import { checkSchemaName, migrationsFor } from "./migrations.js";

export const INIT_USAGE = `usage: supabase-session-store init [--schema <name>] [--dry-run] [--dir <project>]

Run in your Supabase project (the folder holding supabase/config.toml; \`npx supabase init\`
makes one). Writes what this package needs into it, then apply it with
\`npx supabase db push --yes\` and deploy the function:
  - its migrations into supabase/migrations/, versioned after the project's newest migration
    (as \`supabase migration new\` would), so that \`supabase db push\` accepts them;
  - the cleanup function into supabase/functions/cleanup-sessions/ (a changed file of it is
    brought back to this package's version);
  - the [functions.cleanup-sessions] block (verify_jwt = false) into supabase/config.toml.
What the project already has is left alone: a second run writes nothing and says so; after
upgrading the package it adds only the new migrations.
  --schema   the schema for the sessions table and its functions (default: public), as the
             \`migrations\` command has it
  --dry-run  list what it would write, and write nothing
  --dir      the project folder (default: the current one)
Exit codes: 0 done (or nothing to do), 1 a file could not be written or a project file of
the same name is not this package's, 2 usage error or not a Supabase project.
`;

export const FUNCTION_NAME = "cleanup-sessions";
// A project's migration as the Supabase CLI takes it: a version of digits, then a name.
const PROJECT_MIGRATION = /^(\d+)_(.+)\.sql$/;
const CONFIG_BLOCK = `
[functions.${FUNCTION_NAME}]
# supabase-session-store's cleanup function checks its caller's key itself (a secret key,
# including the sb_secret_ keys, which are not JWTs and so cannot pass the JWT check).
verify_jwt = false
`;

/** Where the package's own files are. */
export interface PackageSources {
  migrations: string;
  functionDir: string;
}

type Action = { verb: "write" | "update" | "append"; target: string; text: string; note?: string };

/** A version `seconds` after `version` (YYYYMMDDHHMMSS, UTC); any other digits count up by `seconds`. */
function versionAfter(version: string, seconds: number): string {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(version);
  const at = m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : NaN;
  // Digits that are not a real time (a month 13, a 61st second) do not survive the round trip.
  const next = Number.isNaN(at) || stamp(new Date(at)) !== version ? "" : stamp(new Date(at + seconds * 1000));
  return /^\d{14}$/.test(next) ? next : String(BigInt(version) + BigInt(seconds));
}

/** A date as a migration version, YYYYMMDDHHMMSS in UTC, as `supabase migration new` names them. */
export function stamp(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

/**
 * `count` versions, in order, each after every one of `existing` and none before `now`:
 * `supabase db push` refuses a migration older than the newest one applied.
 */
export function nextVersions(existing: string[], count: number, now: Date): string[] {
  const current = stamp(now);
  const newest = existing.reduce((a, v) => (BigInt(v) > BigInt(a) ? v : a), "0");
  const first = BigInt(newest) >= BigInt(current) ? versionAfter(newest, 1) : current;
  return Array.from({ length: count }, (_, i) => versionAfter(first, i));
}

/** The project's migrations: [version, name, file]. */
function projectMigrations(dir: string): { version: string; name: string; file: string }[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => PROJECT_MIGRATION.test(f)).sort().map((file) => {
    const [, version, name] = PROJECT_MIGRATION.exec(file) as RegExpExecArray;
    return { version: version as string, name: name as string, file };
  });
}

class Conflict extends Error {}

/** What the migrations need written: the missing ones, under new versions. */
function migrationActions(project: string, sources: PackageSources, schema: string, now: Date): Action[] {
  const dir = path.join(project, "supabase/migrations");
  const present = projectMigrations(dir);
  const missing: { name: string; text: string; from: string }[] = [];
  for (const [file, text] of migrationsFor(sources.migrations, schema)) {
    const name = file.replace(/^\d+_/, "").replace(/\.sql$/, "");
    const same = present.filter((m) => m.name === name);
    if (same.some((m) => fs.readFileSync(path.join(dir, m.file), "utf8") === text)) continue;
    if (same.length) {
      throw new Conflict(
        `${same.map((m) => path.join("supabase/migrations", m.file)).join(", ")} is not this package's ${name} ` +
          `migration for schema ${schema} (installed into another schema? then pass that --schema; a migration of ` +
          "your own of that name? rename it)",
      );
    }
    missing.push({ name, text, from: file });
  }
  const versions = nextVersions(present.map((m) => m.version), missing.length, now);
  return missing.map((m, i) => ({
    verb: "write",
    target: path.join(dir, `${versions[i]}_${m.name}.sql`),
    text: m.text,
    note: `(${m.from})`,
  }));
}

/** What the function needs written: its missing files, and those that differ from this package's. */
function functionActions(project: string, sources: PackageSources): Action[] {
  const dir = path.join(project, "supabase/functions", FUNCTION_NAME);
  const files = fs.readdirSync(sources.functionDir, { withFileTypes: true }).filter((f) => f.isFile());
  return files.map((f) => f.name).sort().flatMap((file): Action[] => {
    const target = path.join(dir, file);
    const text = fs.readFileSync(path.join(sources.functionDir, file), "utf8");
    if (!fs.existsSync(target)) return [{ verb: "write", target, text }];
    return fs.readFileSync(target, "utf8") === text ? [] : [{ verb: "update", target, text }];
  });
}

/** The config.toml block, unless the file declares the function already; and a warning if it does without verify_jwt = false. */
function configActions(configFile: string, warn: (s: string) => void): Action[] {
  const config = fs.readFileSync(configFile, "utf8");
  const header = new RegExp(`^\\s*\\[functions\\.(?:"${FUNCTION_NAME}"|${FUNCTION_NAME})\\]\\s*(#.*)?$`, "m");
  const found = header.exec(config);
  if (!found) return [{ verb: "append", target: configFile, text: CONFIG_BLOCK }];
  const rest = config.slice(found.index + found[0].length);
  const block = rest.slice(0, rest.search(/^\s*\[/m) === -1 ? undefined : rest.search(/^\s*\[/m));
  if (!/^\s*verify_jwt\s*=\s*false\b/m.test(block)) {
    warn(
      `init: supabase/config.toml declares [functions.${FUNCTION_NAME}] without verify_jwt = false: the platform ` +
        "would then refuse the sb_secret_ key the cron job and purge send; add verify_jwt = false to that block\n",
    );
  }
  return [];
}

export function runInit(argv: string[], io: CliIo, sources: PackageSources, now = new Date()): number {
  let project;
  let schema;
  let dryRun;
  try {
    const values = parseFlags(argv, {
      schema: { type: "string" },
      "dry-run": { type: "boolean" },
      dir: { type: "string" },
      help: { type: "boolean", short: "h" },
    });
    if (values.help) {
      io.stdout(INIT_USAGE);
      return EXIT_OK;
    }
    schema = checkSchemaName(values.schema ?? "public");
    dryRun = values["dry-run"] === true;
    project = path.resolve(values.dir ?? ".");
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`init: ${err.message}\n`);
    return EXIT_USAGE;
  }
  const configFile = path.join(project, "supabase/config.toml");
  if (!fs.existsSync(configFile)) {
    io.stderr(
      `init: ${project} is not a Supabase project (it has no supabase/config.toml). Run init in the folder that ` +
        "holds supabase/, or make one there first with: npx supabase init\n",
    );
    return EXIT_USAGE;
  }

  let actions: Action[];
  try {
    // Everything is decided before anything is written: a conflict writes nothing.
    actions = [
      ...migrationActions(project, sources, schema, now),
      ...functionActions(project, sources),
      ...configActions(configFile, io.stderr),
    ];
  } catch (err) {
    if (!(err instanceof Conflict)) throw err;
    io.stderr(`init: ${err.message}; nothing written\n`);
    return EXIT_FAILURE;
  }
  const shown = (a: Action) => path.relative(project, a.target);
  if (actions.length === 0) {
    io.stdout(
      `nothing to do: ${project} already has this package's migrations (schema ${schema}), its ` +
        `${FUNCTION_NAME} function and its config.toml block\n`,
    );
    return EXIT_OK;
  }
  const verbs = dryRun
    ? { write: "would write", update: "would update", append: "would append to" }
    : { write: "wrote", update: "updated", append: "appended to" };
  try {
    for (const action of actions) {
      if (!dryRun) {
        fs.mkdirSync(path.dirname(action.target), { recursive: true });
        (action.verb === "append" ? fs.appendFileSync : fs.writeFileSync)(action.target, action.text);
      }
      const what = action.verb === "append" ? ` ([functions.${FUNCTION_NAME}], verify_jwt = false)` : "";
      io.stdout(`${verbs[action.verb]} ${shown(action)}${what}${action.note ? ` ${action.note}` : ""}\n`);
    }
  } catch (err) {
    io.stderr(`init: ${(err as Error).message}\n`);
    return EXIT_FAILURE;
  }
  if (dryRun) {
    io.stdout("dry run: nothing written\n");
    return EXIT_OK;
  }
  const secret = schema === "public" ? "" : `\n  npx supabase secrets set SESSIONS_SCHEMA=${schema}`;
  io.stdout(
    `Next: apply the migrations and deploy the function:\n  npx supabase db push --yes   ` +
      `(or --db-url "<connection string>" --yes)\n  npx supabase functions deploy ${FUNCTION_NAME} --use-api${secret}\n`,
  );
  return EXIT_OK;
}
