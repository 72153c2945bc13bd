// `supabase-session-store doctor`: whether a deployment is healthy, one line per check
// with the exact fix for each warning or failure.
//
//   doctor --db-url <postgres url> [--url <SUPABASE_URL> --key <secret key>]
//          [--schema <name>] [--prepared-statements true|false] [--json]
//
// Read-only: every query runs in one READ ONLY transaction (the pooler probe's two extra
// connections only select their own backend's pid and port), and the function is only
// called as a dry run. Exit 0 when nothing failed (warnings allowed), 1 when a check
// failed, 2 when it could not run (bad arguments, database unreachable).
import { type Check, exitCode } from "./doctor-check.js";
import type { Row } from "./doctor-context.js";
import { databaseChecks } from "./doctor-database.js";
import { readExpectations } from "./doctor-expectations.js";
import { functionChecks } from "./doctor-function.js";
import { poolerCheck, type PoolerProbe, urlPort } from "./doctor-pooler.js";
import { redactUrl, renderJson, renderText, scrub, secretsOf } from "./doctor-report.js";
import { type CliIo, parseFlags, UsageError } from "./io.js";
import { checkSchemaName } from "./migrations.js";
import { MIGRATIONS_DIR } from "./package-files.js";

const USAGE = `usage: supabase-session-store doctor --db-url <postgres url> [--url <SUPABASE_URL> --key <secret key>]
                                    [--schema <name>] [--prepared-statements true|false] [--json]
  --db-url   the database (default: DATABASE_URL); the doctor only reads. Give the app's own
             connection string to check its pooler mode (Supavisor transaction mode: port 6543)
  --url      the project URL (default: SUPABASE_URL), to check the cleanup-sessions function
  --key      a secret key (default: SUPABASE_SECRET_KEY); prefer the environment to the command line
  --schema   where the session table and functions live (default: public)
  --prepared-statements
             the app's preparedStatements option, if it sets one: checked against the pooler mode
  --json     one JSON document with every check
exit: 0 nothing failed (warnings allowed), 1 a check failed, 2 the doctor could not run
`;

interface Options {
  dbUrl: string;
  url?: string;
  key?: string;
  schema: string;
  preparedStatements?: boolean;
  json: boolean;
}

function parse(argv: string[], env: CliIo["env"]): Options | "help" {
  const values = parseFlags(argv, {
    "db-url": { type: "string" },
    url: { type: "string" },
    key: { type: "string" },
    schema: { type: "string" },
    "prepared-statements": { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return "help";
  const dbUrl = values["db-url"] ?? env.DATABASE_URL;
  if (!dbUrl) throw new UsageError("no database: pass --db-url or set DATABASE_URL");
  if (!/^postgres(ql)?:\/\/./.test(dbUrl)) throw new UsageError("the database must be a postgresql:// URL");
  const url = values.url ?? env.SUPABASE_URL;
  const key = values.key ?? env.SUPABASE_SECRET_KEY;
  // Named on the command line, the function check is wanted: a missing half is a mistake.
  if (values.url !== undefined && !key) {
    throw new UsageError("--url needs a key: pass --key or set SUPABASE_SECRET_KEY");
  }
  if (values.key !== undefined && !url) {
    throw new UsageError("--key needs a project URL: pass --url or set SUPABASE_URL");
  }
  if (url && key) {
    try {
      if (!/^https?:$/.test(new URL(url).protocol)) throw new Error();
    } catch {
      throw new UsageError(`--url is not an http(s) URL: ${JSON.stringify(url.slice(0, 100))}`);
    }
  }
  // The names `init --schema` and `migrations --schema` accept: the only schemas the package installs into.
  const schema = checkSchemaName(values.schema ?? "public");
  const prepared = values["prepared-statements"];
  if (prepared !== undefined && prepared !== "true" && prepared !== "false") {
    throw new UsageError(`--prepared-statements must be true or false, got ${JSON.stringify(prepared.slice(0, 20))}`);
  }
  return {
    dbUrl,
    schema,
    json: values.json ?? false,
    ...(prepared !== undefined && { preparedStatements: prepared === "true" }),
    ...(url && key ? { url, key } : {}),
  };
}

interface Client {
  connect(): Promise<unknown>;
  query(text: string, values?: unknown[]): Promise<{ rows: Row[] }>;
  end(): Promise<void>;
  on(event: "error", listener: (err: Error) => void): unknown;
}

/** `pg` is an optional peer dependency of the package: loaded only here, with a clear message when missing. */
async function loadPg(): Promise<new (config: object) => Client> {
  let pg: { Client?: unknown; default?: { Client?: unknown } };
  try {
    pg = await import("pg");
  } catch {
    throw new UsageError("the doctor needs the `pg` package: npm install pg");
  }
  return (pg.Client ?? pg.default?.Client) as new (config: object) => Client;
}

async function diagnose(options: Options, say: (s: string) => void): Promise<number> {
  const expected = readExpectations(MIGRATIONS_DIR, options.schema);
  const Client = await loadPg();
  const client = new Client({
    connectionString: options.dbUrl,
    connectionTimeoutMillis: 10_000,
    application_name: "supabase-session-store doctor",
  });
  client.on("error", () => {}); // a connection lost mid-run fails the query in flight, which is reported
  try {
    await client.connect();
  } catch (err) {
    throw new ConnectError(describe(err));
  }
  let checks: Check[];
  let user: string;
  try {
    await client.query("begin transaction isolation level repeatable read, read only");
    await client.query("set local statement_timeout = '20s'");
    await client.query("set local lock_timeout = '2s'");
    await client.query("set local search_path = ''");
    const sql = async (text: string, values?: unknown[]) => (await client.query(text, values)).rows;
    const [me] = await sql(
      "select current_user as name, (select rolsuper from pg_catalog.pg_roles where rolname = current_user) as su",
    );
    user = `${me?.name}${me?.su ? ", a superuser" : ""}`;
    checks = await databaseChecks({ sql, schema: options.schema, expected, user: String(me?.name) });
    await client.query("rollback");
  } finally {
    await client.end().catch(() => {});
  }
  checks.push(poolerCheck(options.dbUrl, await probePooler(Client, options.dbUrl), options.preparedStatements));
  if (options.url && options.key) checks.push(...await functionChecks(options.url, options.key));

  const report = { database: redactUrl(options.dbUrl), schema: options.schema, user, checks };
  say(options.json ? renderJson(report) : renderText(report));
  return exitCode(checks);
}

/**
 * Two connections open at once each ask which server process runs their statement, three
 * times: through a pooler that pools by transaction an idle server connection is handed to
 * whichever client asks next, so both get the same process; a direct connection or session
 * mode never shares one. Also the port the server listens on. Null when it cannot run.
 */
async function probePooler(Client: new (config: object) => Client, dbUrl: string): Promise<PoolerProbe | null> {
  const clientPort = urlPort(dbUrl);
  if (clientPort === null) return null;
  const open = () => {
    const c = new Client({
      connectionString: dbUrl,
      connectionTimeoutMillis: 10_000,
      application_name: "supabase-session-store doctor",
    });
    c.on("error", () => {});
    return c;
  };
  const [a, b] = [open(), open()];
  try {
    await Promise.all([a.connect(), b.connect()]);
    const backend = "select pg_catalog.pg_backend_pid() as pid, pg_catalog.inet_server_port() as port";
    let serverPort: number | null = null;
    for (let round = 0; round < 3; round++) {
      const [first] = (await a.query(backend)).rows;
      const [second] = (await b.query(backend)).rows;
      serverPort = first?.port == null ? null : Number(first.port);
      if (first?.pid === second?.pid) return { clientPort, serverPort, sharedBackend: true };
    }
    return { clientPort, serverPort, sharedBackend: false };
  } catch {
    return null;
  } finally {
    await Promise.all([a.end().catch(() => {}), b.end().catch(() => {})]);
  }
}

class ConnectError extends Error {}

/** An error's message; a failed connection to every address of a name (AggregateError) has none of its own. */
function describe(err: unknown): string {
  const e = err as { message?: string; code?: string; errors?: { message?: string }[] };
  return e.message || e.errors?.map((x) => x.message).join("; ") || e.code || String(err);
}

export async function runDoctor(argv: string[], io: CliIo): Promise<number> {
  let secrets: string[] = [];
  const say = (s: string) => io.stdout(scrub(s, secrets));
  const complain = (s: string) => io.stderr(`${scrub(s, secrets)}\n`);
  let options: Options;
  try {
    const parsed = parse(argv, io.env);
    if (parsed === "help") {
      io.stdout(USAGE);
      return 0;
    }
    options = parsed;
  } catch (err) {
    // What the user typed may hold the key: scrub what is known of it.
    secrets = secretsOf(io.env.DATABASE_URL ?? "", io.env.SUPABASE_SECRET_KEY);
    argv.forEach((arg, i) => {
      if (arg === "--key" && argv[i + 1]) secrets.push(argv[i + 1] as string);
      if (arg.startsWith("--key=")) secrets.push(arg.slice("--key=".length));
    });
    complain(`doctor: ${describe(err)} (see --help)`);
    return 2;
  }
  secrets = secretsOf(options.dbUrl, options.key);
  try {
    return await diagnose(options, say);
  } catch (err) {
    if (err instanceof ConnectError) {
      complain(`doctor: cannot connect to ${redactUrl(options.dbUrl)}: ${err.message}`);
    } else {
      complain(`doctor: ${describe(err)}`);
    }
    return 2;
  }
}
