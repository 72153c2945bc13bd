// The doctor's database checks. Each reads the catalog or the session table inside the
// caller's READ ONLY transaction, under its own savepoint so that one check's error
// (a schema that does not exist, a view this role may not read) becomes that check's
// verdict instead of ending the run. Only what a non-superuser owner can read is used:
// pg_catalog, has_*_privilege, the role's own pg_cron jobs, pg_net's and Vault's views.
// Here: the run, the migrations, the schema's objects and the table's housekeeping; the
// security checks are in doctor-security.ts, the schedule's in doctor-schedule.ts, what a
// switch from connect-pg-simple leaves behind in doctor-switch.ts.
import { type Check, fail, pass, warn } from "./doctor-check.js";
import { type Context, count, list, plural, pushFix, THRESHOLDS } from "./doctor-context.js";
import { httpBranch, schedule } from "./doctor-schedule.js";
import { security } from "./doctor-security.js";
import { switchLeftovers } from "./doctor-switch.js";
import { quoteIdent } from "../pg-backend.js";

/** Runs `check` under a savepoint; an error becomes its verdict (privileges: a warning). */
async function guarded(ctx: Context, id: string, check: () => Promise<Check[]>): Promise<Check[]> {
  await ctx.sql("savepoint doctor_check");
  try {
    const checks = await check();
    await ctx.sql("release savepoint doctor_check");
    return checks;
  } catch (err) {
    await ctx.sql("rollback to savepoint doctor_check");
    const e = err as { code?: string; message?: string };
    if (e.code === "42501") {
      return [
        warn(
          id,
          `cannot check as ${ctx.user}: ${e.message}`,
          "run the doctor as the role that pushed the migrations (on Supabase: postgres)",
        ),
      ];
    }
    return [fail(id, `could not check: ${e.message ?? String(err)}`)];
  }
}

export async function databaseChecks(ctx: Context): Promise<Check[]> {
  const steps: [string, (ctx: Context) => Promise<Check[]>][] = [
    ["migrations", migrations],
    ["schema", schemaObjects],
    ["security", security],
    ["schedule", schedule],
    ["schedule.http", httpBranch],
    ["housekeeping", housekeeping],
    ["switch", switchLeftovers],
  ];
  const checks: Check[] = [];
  await guarded(ctx, "schema", async () => {
    await whoseTables(ctx);
    return [];
  });
  for (const [id, step] of steps) checks.push(...await guarded(ctx, id, () => step(ctx)));
  return checks;
}

/**
 * Which of the package's table names exist in the schema as tables of someone else's (they lack
 * the package's columns), and which other schemas hold the package's cleanup dispatch.
 */
async function whoseTables(ctx: Context): Promise<void> {
  const rows = await ctx.sql(
    `select c.relname, array(select a.attname::text from pg_catalog.pg_attribute a
                              where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as columns
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relname = any ($2) and c.relkind in ('r', 'p')`,
    [ctx.schema, [...ctx.expected.tables.keys()]],
  );
  ctx.foreign = new Set(
    rows.filter((r) => {
      const has = new Set(r.columns as string[]);
      return (ctx.expected.columns.get(String(r.relname)) ?? []).some((c) => !has.has(c));
    }).map((r) => String(r.relname)),
  );
  const others = await ctx.sql(
    `select distinct n.nspname from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      where p.proname = 'dispatch_session_cleanup' and n.nspname <> $1 order by 1`,
    [ctx.schema],
  );
  ctx.elsewhere = others.map((r) => String(r.nspname));
}

/** How to install what is missing: into the schema, unless a table of the user's own is in the way there. */
function installFixes(ctx: Context, pushOptions = ""): string[] {
  return ctx.foreign?.size ? notOursFixes(ctx) : [`${pushFix(ctx.schema)}${pushOptions}`];
}

/** What to do when the schema holds a table of the user's own under the package's table name. */
function notOursFixes(ctx: Context): string[] {
  const doctorThere = ctx.elsewhere?.map((s) => `npx supabase-session-store doctor --schema ${s}  # installed there`);
  return doctorThere?.length ? doctorThere : [
    'npx supabase-session-store init --schema session_store && npx supabase db push --db-url "$DATABASE_URL" ' +
    "--yes  # a schema of its own, beside your table; then doctor --schema session_store",
  ];
}

/**
 * Versions of the pre-release migrations that the 0.1.0 baseline folded into its five files
 * (which keep the first five versions): a database built before holds them in its history,
 * and needs only the repair that forgets them (docs: upgrading a pre-release database).
 */
const FOLDED_INTO_BASELINE = ["20261202000000", "20261203000000", "20261203000100", "20261203000200"];

async function migrations(ctx: Context): Promise<Check[]> {
  const id = "migrations";
  const ours = ctx.expected.migrations;
  const [history] = await ctx.sql("select pg_catalog.to_regclass('supabase_migrations.schema_migrations') as t");
  if (!history?.t) {
    return [fail(
      id,
      `none of the package's ${ours.length} migrations is applied ` +
        `(no supabase_migrations.schema_migrations): ${list(ours.map((m) => m.file), 99)}`,
      ...installFixes(ctx),
    )];
  }
  const applied = await ctx.sql("select version, name from supabase_migrations.schema_migrations order by version");
  const versions = new Set(applied.map((r) => String(r.version)));
  // A project that copied the files under fresh timestamps (docs/production.md, step 0) keeps their names.
  const names = new Set(applied.map((r) => String(r.name ?? "")));
  const isApplied = (m: { version: string; name: string }) => versions.has(m.version) || names.has(m.name);
  const folded = applied.map((r) => String(r.version)).filter((v) => FOLDED_INTO_BASELINE.includes(v));
  if (folded.length) {
    return [fail(
      id,
      `the migration history is a pre-release one: ${list(folded, 99)} were folded into the 0.1.0 baseline, ` +
        "which defines the same objects (supabase db push refuses such a history)",
      `supabase migration repair --status reverted ${folded.join(" ")} --db-url <url>, then supabase db push`,
    )];
  }
  const missing = ours.filter((m) => !isApplied(m));
  const newest = ours.at(-1)?.version ?? "";
  const known = new Set(ours.flatMap((m) => [m.version, m.name]));
  const unknownNewer = applied
    .filter((r) => String(r.version) > newest && !known.has(String(r.version)) && !known.has(String(r.name ?? "")))
    .map((r) => `${r.version}_${r.name ?? ""}`);
  const newer = unknownNewer.length
    ? `; applied but not in this package: ${list(unknownNewer)} (the project's own, or a newer supabase-session-store)`
    : "";
  if (missing.length) {
    const outOfOrder = missing.some((m) => applied.some((r) => String(r.version) > m.version));
    return [fail(
      id,
      `${ours.length - missing.length} of ${ours.length} applied; missing: ` +
        `${list(missing.map((m) => m.file), 99)}${newer}`,
      ...installFixes(ctx, outOfOrder ? " --include-all" : ""),
    )];
  }
  return [pass(id, `all ${ours.length} applied (newest ${ours.at(-1)?.file})${newer}`)];
}

async function schemaObjects(ctx: Context): Promise<Check[]> {
  const { expected, schema } = ctx;
  const rels = await ctx.sql(
    `select c.relname, c.relkind from pg_catalog.pg_class c
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relname = any ($2)`,
    [schema, [...expected.tables.keys(), ...expected.indexes.keys()]],
  );
  const present = new Set(rels.map((r) => `${r.relkind}:${r.relname}`));
  const fns = await ctx.sql(
    `select distinct p.proname from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      where n.nspname = $1 and p.proname = any ($2)`,
    [schema, [...expected.functions.keys()]],
  );
  const fnPresent = new Set(fns.map((r) => String(r.proname)));
  const foreign = [...ctx.foreign ?? []];
  // Beside a table of the user's own, installing into this schema would fail: the fix is elsewhere.
  const fixes = installFixes(ctx);
  const missing = (kind: string, objects: Map<string, string>, isThere: (name: string) => boolean) => {
    const gone = [...objects].filter(([name]) => !isThere(name));
    if (!gone.length) return pass(`schema.${kind}`, `${kind}: ${objects.size} present`);
    const files = [...new Set(gone.map(([, file]) => file))];
    return fail(
      `schema.${kind}`,
      `${kind} missing in schema ${schema}: ${list(gone.map(([n]) => n))} ` +
        `(created by ${list(files)})`,
      ...fixes,
    );
  };
  const tables = foreign.length
    ? fail(
      "schema.tables",
      `${list(foreign.map((t) => `${schema}.${t}`))} is a table of your own, not this package's (it lacks the ` +
        `package's columns): the package is not installed in schema ${schema}` +
        (ctx.elsewhere?.length ? `; its functions are in schema ${list(ctx.elsewhere)}` : ""),
      ...fixes,
    )
    : missing("tables", expected.tables, (n) => present.has(`r:${n}`) || present.has(`p:${n}`));
  return [
    tables,
    missing("indexes", expected.indexes, (n) => present.has(`i:${n}`) || present.has(`I:${n}`)),
    missing("functions", expected.functions, (n) => fnPresent.has(n)),
  ];
}

async function housekeeping(ctx: Context): Promise<Check[]> {
  const table = ctx.expected.tables.keys().next().value;
  if (!table) return [];
  if (ctx.foreign?.has(table)) return []; // the user's own table: its rows are none of the doctor's business
  const name = `${quoteIdent(ctx.schema)}.${quoteIdent(table)}`;
  const [exists] = await ctx.sql("select pg_catalog.to_regclass($1) as t", [name]);
  if (!exists?.t) return [];
  // cleanup_expired_sessions' condition: expired, and a tombstone only after a day.
  const [h] = await ctx.sql(
    `select count(*) filter (where expires_at > now()) as live,
            count(*) filter (where expires_at <= now()
                               and (destroyed_at is null or destroyed_at < now() - interval '1 day')) as expired,
            coalesce(round(extract(epoch from now() - min(expires_at) filter (
              where expires_at <= now() and (destroyed_at is null or destroyed_at < now() - interval '1 day'))) / 3600, 1), 0)
              as oldest_hours,
            count(*) filter (where destroyed_at is not null) as tombstones,
            pg_catalog.pg_total_relation_size($1::regclass) as bytes,
            pg_catalog.pg_size_pretty(pg_catalog.pg_total_relation_size($1::regclass)) as size,
            $1::regclass::text as display
       from ${name}`,
    [name],
  );
  if (!h) return [];
  const purge = `select ${quoteIdent(ctx.schema)}.cleanup_expired_sessions(100000); -- repeat while it returns 100000`;
  const expired = count(h.expired);
  const oldest = count(h.oldest_hours);
  const backlog = expired > THRESHOLDS.expiredBacklog || oldest > THRESHOLDS.expiredAgeHours
    ? warn(
      "housekeeping.expired",
      `${plural(expired, "expired session")} waiting for cleanup, the oldest expired ${oldest} h ago ` +
        `(warns above ${THRESHOLDS.expiredBacklog} or ${THRESHOLDS.expiredAgeHours} h): the cleanup is not keeping up`,
      purge,
    )
    : pass(
      "housekeeping.expired",
      `${plural(expired, "expired session")} waiting for cleanup` +
        (expired ? `, the oldest expired ${oldest} h ago` : ""),
    );
  const tombstones = count(h.tombstones);
  return [
    pass("housekeeping.live", `${plural(count(h.live), "live session")}`),
    backlog,
    tombstones > THRESHOLDS.tombstones
      ? warn(
        "housekeeping.tombstones",
        `${plural(tombstones, "tombstone")} of destroyed sessions (warns above ` +
          `${THRESHOLDS.tombstones}; each is kept a day): many logouts a day, or a loop destroying sessions`,
        purge,
      )
      : pass("housekeeping.tombstones", `${plural(tombstones, "tombstone")} of destroyed sessions (kept a day each)`),
    count(h.bytes) > THRESHOLDS.tableBytes
      ? warn(
        "housekeeping.size",
        `${h.display} takes ${h.size} with its indexes (warns above 1 GB)`,
        `select pg_catalog.pg_size_pretty(avg(pg_catalog.pg_column_size(data))::bigint) from ${h.display}; ` +
          `-- large session data? after a big purge: vacuum (analyze) ${h.display};`,
      )
      : pass("housekeeping.size", `${h.display} takes ${h.size} with its indexes`),
  ];
}
