// `supabase-session-store switch-from-connect-pg-simple`: moving a live app from
// connect-pg-simple to this store without logging anyone out (docs/switching.md).
//
//   guard    a trigger on the old table: from now on every write of an old instance is
//            mirrored into this store and every logout there ends the session here too
//   import   the old table's live sessions, in batches, stored under their keys; never
//            overwrites a session this store holds nor revives one it destroyed
//   unguard  drops the trigger, once no old instance runs
//
// No session id is printed: a corrupt row is named by a prefix of its key (the id's SHA-256).
import {
  DEFAULT_LEGACY_TABLE,
  importedSession,
  legacyExpiry,
  type LegacyTable,
  legacyTableName,
} from "../connect-pg-simple.js";
import { CorruptSessionError } from "../errors.js";
import { quoteIdent } from "../pg-backend.js";
import { DEFAULT_MAX_DATA_BYTES } from "../store-options.js";
import { guard, guarded, unguard } from "./switch-guard.js";
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, parseFlags, UsageError } from "./io.js";

export const SWITCH_USAGE = `usage: supabase-session-store switch-from-connect-pg-simple <step> [options]

Moves sessions from connect-pg-simple's table into this store without logging anyone out.
The steps, in this order:
  1. guard     while the old release still serves: installs a trigger on the old table, so that
               each write of an old instance is mirrored into this store, and each logout
               there (connect-pg-simple deletes the row) ends the session here too, for good
  2. import    copies the old table's live sessions (under their keys, never their ids);
               skips expired and corrupt rows and sessions this store already holds or
               destroyed; idempotent: run it again to resume, or with --dry-run to count
  3.           deploy the release with this store and its connectPgSimple option (a miss is
               looked up in the old table); old and new instances may overlap
  4. import --dry-run   once no old instance runs: "to import 0" means the old table is drained
  5. unguard   drops the trigger; then remove the connectPgSimple option, deploy, and drop
               the old table yourself (it holds session ids in plain text)

Options:
  --db-url          the database (default: DATABASE_URL)
  --schema          the old table's schema (connect-pg-simple's schemaName; default: the
                    connection's search_path, as connect-pg-simple)
  --table           the old table (connect-pg-simple's tableName; default: session)
  --store-schema    where this store's sessions table is (default: public)
  --time-zone       import: the TimeZone the old app's connections used (default: this
                    connection's, which is the server's unless the role or database sets one)
  --batch-size      import: rows per batch (default 1000, at most 10000)
  --max-data-bytes  import: the store's maxDataBytes (default 65536); larger sessions are skipped
  --dry-run         import: count, write nothing
  --old-instances-stopped  import: run without the guard (only when no old instance runs)
Exit codes: 0 done, 1 failure, 2 usage error or cannot run.
`;

const STEPS = ["guard", "import", "unguard"] as const;
type Step = (typeof STEPS)[number];
const PROGRESS_EVERY_MS = 1000;

export interface Options {
  step: Step;
  dbUrl: string;
  old: LegacyTable;
  storeSchema: string;
  batchSize: number;
  maxDataBytes: number;
  dryRun: boolean;
  unguarded: boolean;
}

function integer(flag: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new UsageError(`${flag} must be an integer from 1 to ${max}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function nonEmpty(flag: string, value: string | undefined): string | undefined {
  if (value === "") throw new UsageError(`${flag} must not be empty`);
  return value;
}

function parse(argv: string[], env: CliIo["env"]): Options | "help" {
  const [step, ...rest] = argv;
  if (step === undefined || step === "--help" || step === "-h") return "help";
  if (!(STEPS as readonly string[]).includes(step)) {
    throw new UsageError(`unknown step ${JSON.stringify(step)}; the steps are ${STEPS.join(", ")}`);
  }
  const values = parseFlags(rest, {
    "db-url": { type: "string" },
    schema: { type: "string" },
    table: { type: "string" },
    "store-schema": { type: "string" },
    "time-zone": { type: "string" },
    "batch-size": { type: "string" },
    "max-data-bytes": { type: "string" },
    "dry-run": { type: "boolean" },
    "old-instances-stopped": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return "help";
  const dbUrl = values["db-url"] ?? env.DATABASE_URL;
  if (!dbUrl) throw new UsageError("no database: pass --db-url or set DATABASE_URL");
  if (!/^postgres(ql)?:\/\/./.test(dbUrl)) throw new UsageError("the database must be a postgresql:// URL");
  return {
    step: step as Step,
    dbUrl,
    old: {
      schemaName: nonEmpty("--schema", values.schema),
      tableName: nonEmpty("--table", values.table) ?? DEFAULT_LEGACY_TABLE,
      timeZone: nonEmpty("--time-zone", values["time-zone"]),
    },
    storeSchema: nonEmpty("--store-schema", values["store-schema"]) ?? "public",
    batchSize: integer("--batch-size", values["batch-size"], 1000, 10_000),
    maxDataBytes: integer("--max-data-bytes", values["max-data-bytes"], DEFAULT_MAX_DATA_BYTES, 2 ** 31 - 1),
    dryRun: values["dry-run"] ?? false,
    unguarded: values["old-instances-stopped"] ?? false,
  };
}

type Row = Record<string, unknown>;
export interface Client {
  connect(): Promise<unknown>;
  query(text: string, values?: unknown[]): Promise<{ rows: Row[]; rowCount: number | null }>;
  end(): Promise<void>;
  on(event: "error", listener: (err: Error) => void): unknown;
}

async function connect(dbUrl: string): Promise<Client> {
  let pg: { Client?: unknown; default?: { Client?: unknown } };
  try {
    pg = await import("pg");
  } catch {
    throw new UsageError("switch-from-connect-pg-simple needs the `pg` package: npm install pg");
  }
  const Client = (pg.Client ?? pg.default?.Client) as new (config: object) => Client;
  const client = new Client({
    connectionString: dbUrl,
    connectionTimeoutMillis: 10_000,
    application_name: "supabase-session-store switch-from-connect-pg-simple",
  });
  client.on("error", () => {}); // a connection lost mid-run fails the query in flight, which is reported
  await client.connect();
  return client;
}

/** Runs one step; resolves with the exit code. */
export async function runSwitch(argv: string[], io: CliIo): Promise<number> {
  let options;
  try {
    options = parse(argv, io.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`switch-from-connect-pg-simple: ${err.message}\n`);
    return EXIT_USAGE;
  }
  if (options === "help") {
    io.stdout(SWITCH_USAGE);
    return EXIT_OK;
  }
  let client;
  try {
    client = await connect(options.dbUrl);
  } catch (err) {
    const message = err instanceof UsageError ? err.message : `cannot connect: ${(err as Error).message}`;
    io.stderr(`switch-from-connect-pg-simple: ${message}\n`);
    return EXIT_USAGE;
  }
  try {
    if (options.step === "guard") return await guard(client, options, io);
    if (options.step === "unguard") return await unguard(client, options, io);
    return await importSessions(client, options, io);
  } catch (err) {
    io.stderr(`switch-from-connect-pg-simple ${options.step}: ${(err as Error).message}\n`);
    return EXIT_FAILURE;
  } finally {
    await client.end().catch(() => {});
  }
}

interface Counts {
  read: number;
  imported: number;
  held: number;
  expired: number;
  corrupt: number;
}

async function importSessions(client: Client, options: Options, io: CliIo): Promise<number> {
  const old = legacyTableName(options.old);
  const store = `${quoteIdent(options.storeSchema)}.sessions`;
  if (!options.unguarded && !options.dryRun && !(await guarded(client, old))) {
    io.stderr(
      `switch-from-connect-pg-simple import: ${old} has no guard, so a logout on an old instance after this ` +
        "import would not end the imported session: run the guard step first (or, if no old instance runs " +
        "any more, pass --old-instances-stopped)\n",
    );
    return EXIT_USAGE;
  }
  const total = Number((await client.query(`select count(*) as n from ${old}`)).rows[0]?.n ?? 0);
  // Keyset pages in the primary key's order; the first page has no lower bound.
  const page = (where: string) =>
    `select sid, sess::text as sess, ${legacyExpiry(3)} as expires_at, ${legacyExpiry(3)} > pg_catalog.now() as live
       from ${old} where ${where} order by sid limit $2`;
  const first = page("$1::text is null");
  const next = page("sid > $1::text");
  // Never an update: a session this store holds is at least as new, and a tombstone is final.
  const write = options.dryRun
    ? `select count(*) as n from pg_catalog.unnest($1::text[]) as k(sid)
        where not exists (select 1 from ${store} s where s.sid = k.sid)`
    // The data as one JSON array rather than a text[]: Postgres parses it twice as fast.
    : `insert into ${store} (sid, data, expires_at)
       select k.sid, d.value, k.expires_at
         from rows from (pg_catalog.unnest($1::text[]), pg_catalog.unnest($3::timestamptz[]))
              with ordinality as k(sid, expires_at, n)
         join pg_catalog.jsonb_array_elements($2::jsonb) with ordinality as d(value, n) using (n)
       on conflict (sid) do nothing`;
  const counts: Counts = { read: 0, imported: 0, held: 0, expired: 0, corrupt: 0 };
  const started = performance.now();
  let lastProgress = started;
  let after: string | null = null;
  for (;;) {
    const { rows } = await client.query(after === null ? first : next, [
      after,
      options.batchSize,
      options.old.timeZone ?? null,
    ]);
    if (rows.length === 0) break;
    after = String(rows[rows.length - 1]!.sid);
    const keys: string[] = [];
    const data: string[] = [];
    const expiries: string[] = [];
    for (const row of rows) {
      if (row.live !== true) {
        counts.expired++;
        continue;
      }
      try {
        const session = importedSession(
          String(row.sid),
          row.sess,
          new Date(row.expires_at as Date),
          options.maxDataBytes,
        );
        keys.push(session.key);
        data.push(session.json);
        expiries.push(session.expiry.toISOString());
      } catch (err) {
        if (!(err instanceof CorruptSessionError)) throw err;
        counts.corrupt++;
        io.stderr(`import: skipped a ${err.message}\n`);
      }
    }
    if (keys.length) {
      const result = await client.query(write, options.dryRun ? [keys] : [keys, `[${data.join(",")}]`, expiries]);
      const written = options.dryRun ? Number(result.rows[0]?.n ?? 0) : (result.rowCount ?? 0);
      counts.imported += written;
      counts.held += keys.length - written;
    }
    counts.read += rows.length;
    const now = performance.now();
    if (now - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = now;
      io.stderr(`import: ${progress(counts.read, total, now - started)}\n`);
    }
    if (rows.length < options.batchSize) break;
  }
  io.stdout(summary(counts, total, performance.now() - started, options, old));
  return EXIT_OK;
}

function rate(rows: number, ms: number): string {
  return `${Math.round(rows / Math.max(ms / 1000, 0.001))} rows/s`;
}

function progress(done: number, total: number, ms: number): string {
  const share = total ? ` (${Math.min(100, Math.floor((done / total) * 100))}%)` : "";
  return `${done}/${total} rows${share}, ${rate(done, ms)}`;
}

function summary(counts: Counts, total: number, ms: number, options: Options, old: string): string {
  const verb = options.dryRun ? "to import" : "imported";
  const lines = [
    `import${options.dryRun ? " (dry run: nothing written)" : ""}: ${progress(counts.read, total, ms)} in ${
      (ms / 1000).toFixed(1)
    } s`,
    `  ${verb.padEnd(12)} ${counts.imported}`,
    `  ${"already here".padEnd(12)} ${counts.held} (kept: this store's copy is as new or newer, or destroyed here)`,
    `  ${"expired".padEnd(12)} ${counts.expired} (skipped)`,
    `  ${"corrupt".padEnd(12)} ${counts.corrupt} (skipped; each named above by a prefix of its key)`,
  ];
  if (options.dryRun && counts.imported === 0) lines.push(`${old} is drained: nothing in it is missing here.`);
  return `${lines.join("\n")}\n`;
}
