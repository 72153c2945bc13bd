// `supabase-session-store migrations --out <dir> [--schema <name>]`: writes the
// package's migrations into a Supabase project, into schema `public` (as shipped) or
// another one. Every migration qualifies its objects as `public.`, so a schema is
// installed by substituting that qualifier and creating the schema first; the store's
// `schema` option, the Edge Function's SESSIONS_SCHEMA and the cron job (whose command
// is in the migrations) then follow it.
import fs from "node:fs";
import path from "node:path";
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, parseFlags, UsageError } from "./io.js";

export const MIGRATIONS_USAGE = `usage: supabase-session-store migrations --out <dir> [--schema <name>]

Writes the package's migrations into <dir> (created if missing; usually supabase/migrations),
then apply them with \`supabase db push --yes\`.
  --schema  the schema for the sessions table and its functions (default: public). Another
            schema keeps them apart from a table of yours named public.sessions; give the
            store the same \`schema\` option and the Edge Function SESSIONS_SCHEMA=<name>
An existing file of the same name is left alone when identical and is an error otherwise:
a migration that has shipped is never rewritten.
Exit codes: 0 written, 1 a file could not be written, 2 usage error.
`;

// Lower-case identifiers only: they need no quoting anywhere (SQL, PostgREST's
// profile headers, the dashboard's exposed schemas list).
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
// Schemas Supabase or Postgres own; installing into them would mix the sessions with theirs.
const RESERVED = new Set([
  "auth",
  "storage",
  "realtime",
  "extensions",
  "graphql",
  "graphql_public",
  "vault",
  "cron",
  "net",
  "pgsodium",
  "pgsodium_masks",
  "pgbouncer",
  "supabase_functions",
  "supabase_migrations",
  "information_schema",
]);
const MIGRATION_FILE = /^\d+_[A-Za-z0-9_]+\.sql$/;

export function checkSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new UsageError(
      `--schema must be a lower-case identifier (a-z, 0-9, _; at most 63), got ${JSON.stringify(schema)}`,
    );
  }
  if (RESERVED.has(schema) || schema.startsWith("pg_")) {
    throw new UsageError(`--schema ${schema} is a schema Supabase or Postgres owns`);
  }
  return schema;
}

/** The statements that make `schema` before the first migration's objects go into it. */
function schemaPrelude(schema: string): string {
  return `-- Installed into schema ${schema} by \`supabase-session-store migrations --schema ${schema}\`.
create schema if not exists ${schema};
comment on schema ${schema} is 'supabase-session-store: express-session sessions and their functions';
-- Only service_role (the store's and the cleanup function's role) may reach it.
revoke all on schema ${schema} from public, anon, authenticated;
grant usage on schema ${schema} to service_role;

`;
}

/** One migration's text with its objects in `schema` instead of `public`. */
export function inSchema(sql: string, schema: string): string {
  return schema === "public" ? sql : sql.replace(/\bpublic\.(?=[a-z_])/g, `${schema}.`);
}

/** The migration files of `sourceDir` as they go into `schema`: [file name, text], in order. */
export function migrationsFor(sourceDir: string, schema: string): [string, string][] {
  const names = fs.readdirSync(sourceDir).filter((f) => MIGRATION_FILE.test(f)).sort();
  return names.map((name, i) => {
    const text = inSchema(fs.readFileSync(path.join(sourceDir, name), "utf8"), schema);
    return [name, i === 0 && schema !== "public" ? schemaPrelude(schema) + text : text];
  });
}

export function runMigrations(argv: string[], io: CliIo, sourceDir: string): number {
  let out;
  let schema;
  try {
    const values = parseFlags(argv, {
      out: { type: "string" },
      schema: { type: "string" },
      help: { type: "boolean", short: "h" },
    });
    if (values.help) {
      io.stdout(MIGRATIONS_USAGE);
      return EXIT_OK;
    }
    if (!values.out) throw new UsageError("--out <dir> is required (usually supabase/migrations)");
    out = values.out;
    schema = checkSchemaName(values.schema ?? "public");
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`migrations: ${err.message}\n`);
    return EXIT_USAGE;
  }

  try {
    fs.mkdirSync(out, { recursive: true });
    const files = migrationsFor(sourceDir, schema);
    // Every conflict is found before anything is written: all or nothing.
    const conflicts = files.filter(([name, text]) => {
      const target = path.join(out, name);
      return fs.existsSync(target) && fs.readFileSync(target, "utf8") !== text;
    });
    if (conflicts.length) {
      io.stderr(
        `migrations: ${conflicts.map(([n]) => path.join(out, n)).join(", ")} already exist with other ` +
          "content; a shipped migration is never rewritten (another schema? another package version? remove them " +
          "only if they were never pushed)\n",
      );
      return EXIT_FAILURE;
    }
    for (const [name, text] of files) {
      const target = path.join(out, name);
      const same = fs.existsSync(target);
      if (!same) fs.writeFileSync(target, text);
      io.stdout(`${same ? "unchanged" : "wrote"} ${target}\n`);
    }
    io.stdout(`${files.length} migrations for schema ${schema}; apply them with: npx supabase db push --yes\n`);
    return EXIT_OK;
  } catch (err) {
    io.stderr(`migrations: ${(err as Error).message}\n`);
    return EXIT_FAILURE;
  }
}
