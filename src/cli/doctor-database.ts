// The doctor's database checks. Each reads the catalog or the session table inside the
// caller's READ ONLY transaction, under its own savepoint so that one check's error
// (a schema that does not exist, a view this role may not read) becomes that check's
// verdict instead of ending the run. Only what a non-superuser owner can read is used:
// pg_catalog, has_*_privilege, the role's own pg_cron jobs, pg_net's and Vault's views.
import { type Check, fail, pass, warn } from "./doctor-check.js";
import type { CronJob, Expectations } from "./doctor-expectations.js";
import { quoteIdent } from "../pg-backend.js";

export type Row = Record<string, unknown>;
export type Sql = (text: string, values?: unknown[]) => Promise<Row[]>;

/** Housekeeping thresholds (documented under doctor in docs/operating.md). */
export const THRESHOLDS = {
  /** More expired rows waiting than one default cleanup batch deletes. */
  expiredBacklog: 10_000,
  /** An expired row this old means the hourly cleanup has not run (or not kept up). */
  expiredAgeHours: 2,
  /** Destroyed sessions kept as tombstones (a day each). */
  tombstones: 100_000,
  /** The table with its indexes and TOAST. */
  tableBytes: 1024 ** 3,
  /** No cleanup run for this long is a warning. */
  cleanupRunHours: 2,
} as const;

/** The API roles that must reach nothing session related; PUBLIC is every role. */
const API_ROLES = ["anon", "authenticated"];

const PUSH_FIX = "cp node_modules/supabase-session-store/supabase/migrations/*.sql supabase/migrations/ && " +
  'npx supabase db push --db-url "$DATABASE_URL"';

const SCHEDULER_FIX = "pg_cron runs jobs only with shared_preload_libraries = 'pg_cron' and cron.database_name " +
  "set to this database (on Supabase: Integrations → Cron); its server log says why a run did not start";

export interface Context {
  sql: Sql;
  schema: string;
  expected: Expectations;
  user: string;
}

const count = (v: unknown): number => Number(v ?? 0);
const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`;
const list = (names: string[], max = 6): string =>
  names.length <= max ? names.join(", ") : `${names.slice(0, max).join(", ")} and ${names.length - max} more`;

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
  ];
  const checks: Check[] = [];
  for (const [id, step] of steps) checks.push(...await guarded(ctx, id, () => step(ctx)));
  return checks;
}

async function migrations(ctx: Context): Promise<Check[]> {
  const id = "migrations";
  const ours = ctx.expected.migrations;
  const [history] = await ctx.sql("select pg_catalog.to_regclass('supabase_migrations.schema_migrations') as t");
  if (!history?.t) {
    return [fail(
      id,
      `none of the package's ${ours.length} migrations is applied ` +
        `(no supabase_migrations.schema_migrations): ${list(ours.map((m) => m.file), 99)}`,
      PUSH_FIX,
    )];
  }
  const applied = await ctx.sql("select version, name from supabase_migrations.schema_migrations order by version");
  const versions = new Set(applied.map((r) => String(r.version)));
  // A project that copied the files under fresh timestamps (docs/production.md, step 0) keeps their names.
  const names = new Set(applied.map((r) => String(r.name ?? "")));
  const isApplied = (m: { version: string; name: string }) => versions.has(m.version) || names.has(m.name);
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
      outOfOrder ? `${PUSH_FIX} --include-all` : PUSH_FIX,
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
  const missing = (kind: string, objects: Map<string, string>, isThere: (name: string) => boolean) => {
    const gone = [...objects].filter(([name]) => !isThere(name));
    if (!gone.length) return pass(`schema.${kind}`, `${kind}: ${objects.size} present`);
    const files = [...new Set(gone.map(([, file]) => file))];
    return fail(
      `schema.${kind}`,
      `${kind} missing in schema ${schema}: ${list(gone.map(([n]) => n))} ` +
        `(created by ${list(files)})`,
      PUSH_FIX,
    );
  };
  return [
    missing("tables", expected.tables, (n) => present.has(`r:${n}`) || present.has(`p:${n}`)),
    missing("indexes", expected.indexes, (n) => present.has(`i:${n}`) || present.has(`I:${n}`)),
    missing("functions", expected.functions, (n) => fnPresent.has(n)),
  ];
}

/** The package's tables and functions as they exist now (their oids and SQL names). */
async function ourObjects(ctx: Context) {
  const tables = await ctx.sql(
    `select c.oid, c.oid::pg_catalog.regclass::text as sql_name, c.relrowsecurity
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relname = any ($2) and c.relkind in ('r', 'p')`,
    [ctx.schema, [...ctx.expected.tables.keys()]],
  );
  const functions = await ctx.sql(
    `select p.oid, p.proname, p.oid::pg_catalog.regprocedure::text as sql_name, p.prosecdef,
            exists (select from pg_catalog.unnest(p.proconfig) c where c like 'search\\_path=%') as pinned
       from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      where n.nspname = $1 and p.proname = any ($2) order by 3`,
    [ctx.schema, [...ctx.expected.functions.keys()]],
  );
  return { tables, functions };
}

async function security(ctx: Context): Promise<Check[]> {
  const { tables, functions } = await ourObjects(ctx);
  const roleRows = await ctx.sql("select rolname from pg_catalog.pg_roles where rolname = any ($1)", [[
    ...API_ROLES,
    "service_role",
  ]]);
  const roles = new Set(roleRows.map((r) => String(r.rolname)));
  const apiRoles = [...API_ROLES.filter((r) => roles.has(r)), "public"];
  // Nothing there to secure: the schema check has already failed.
  if (!tables.length && !functions.length) return [];
  const checks: Check[] = [];

  const noRls = tables.filter((t) => !t.relrowsecurity);
  checks.push(
    noRls.length
      ? fail(
        "security.rls",
        `row level security is off on ${list(noRls.map((t) => String(t.sql_name)))}`,
        ...noRls.map((t) => `alter table ${t.sql_name} enable row level security;`),
      )
      : pass("security.rls", `row level security is on (${plural(tables.length, "table")})`),
  );

  // Table and column privileges both count: a column grant reads sids as well as a table grant.
  const leaks = await ctx.sql(
    `select r.role, t.sql_name, 'table' as kind
       from unnest($1::text[]) r(role), unnest($2::oid[], $3::text[]) t(oid, sql_name)
      where pg_catalog.has_table_privilege(r.role, t.oid, 'select,insert,update,delete,truncate,references,trigger')
         or pg_catalog.has_any_column_privilege(r.role, t.oid, 'select,insert,update,references')
     union all
     select r.role, f.sql_name, 'function'
       from unnest($1::text[]) r(role), unnest($4::oid[], $5::text[]) f(oid, sql_name)
      where pg_catalog.has_function_privilege(r.role, f.oid, 'execute')
      order by 1, 3, 2`,
    [
      apiRoles,
      tables.map((t) => t.oid),
      tables.map((t) => t.sql_name),
      functions.map((f) => f.oid),
      functions.map((f) => f.sql_name),
    ],
  );
  const who = apiRoles.map((r) => (r === "public" ? "PUBLIC" : r)).join(", ");
  checks.push(
    leaks.length
      ? fail(
        "security.api-roles",
        `reachable by API roles: ${
          list(leaks.map((l) => `${l.role === "public" ? "PUBLIC" : l.role} on ${l.sql_name}`))
        }`,
        ...leaks.map((l) => `revoke all on ${l.kind} ${l.sql_name} from ${l.role};`),
      )
      : pass("security.api-roles", `${who}: no privilege on the table or any session function`),
  );

  if (roles.has("service_role")) checks.push(await serviceRole(ctx, tables, functions));

  const unpinned = functions.filter((f) => !f.pinned);
  const definer = functions.filter((f) => f.prosecdef);
  checks.push(
    unpinned.length || definer.length
      ? fail(
        "security.functions",
        [
          unpinned.length && `search_path not pinned: ${list(unpinned.map((f) => String(f.sql_name)))}`,
          definer.length && `SECURITY DEFINER: ${list(definer.map((f) => String(f.sql_name)))}`,
        ].filter(Boolean)
          .join("; "),
        ...unpinned.map((f) => `alter function ${f.sql_name} set search_path = '';`),
        ...definer.map((f) => `alter function ${f.sql_name} security invoker;`),
      )
      : pass("security.functions", `all ${functions.length} functions pin search_path, none is SECURITY DEFINER`),
  );
  return checks;
}

/** service_role (the store's and the function's role) has what the migrations grant it, and nothing they revoke. */
async function serviceRole(ctx: Context, tables: Row[], functions: Row[]): Promise<Check> {
  const wrong: string[] = [];
  const fixes: string[] = [];
  for (const t of tables) {
    const name = String(t.sql_name).replace(/^.*\./, "").replace(/"/g, "");
    const wanted = ctx.expected.serviceRoleTable.get(name) ?? [];
    if (!wanted.length) continue;
    const rows = await ctx.sql(
      "select p from pg_catalog.unnest($2::text[]) p where not pg_catalog.has_table_privilege('service_role', $1::oid, p)",
      [t.oid, wanted],
    );
    if (rows.length) {
      wrong.push(`cannot ${rows.map((r) => r.p).join("/")} ${t.sql_name}`);
      fixes.push(`grant ${wanted.join(", ")} on table ${t.sql_name} to service_role;`);
    }
  }
  for (const f of functions) {
    const wanted = ctx.expected.serviceRoleExecute.get(String(f.proname));
    if (wanted === undefined) continue;
    const [row] = await ctx.sql("select pg_catalog.has_function_privilege('service_role', $1::oid, 'execute') as ok", [
      f.oid,
    ]);
    if (Boolean(row?.ok) === wanted) continue;
    wrong.push(wanted ? `cannot execute ${f.sql_name}` : `can execute ${f.sql_name} (owner only)`);
    fixes.push(
      `${wanted ? "grant" : "revoke"} execute on function ${f.sql_name} ${wanted ? "to" : "from"} service_role;`,
    );
  }
  return wrong.length
    ? fail("security.service-role", `service_role ${list(wrong)}`, ...fixes)
    : pass("security.service-role", "service_role has exactly the privileges the migrations grant");
}

async function schedule(ctx: Context): Promise<Check[]> {
  const jobs = ctx.expected.jobs;
  const [ext] = await ctx.sql(
    `select (select extversion from pg_catalog.pg_extension where extname = 'pg_cron') as version,
            -- pg_settings, not current_setting(): the setting is superuser-only, hidden from others.
            (select setting from pg_catalog.pg_settings where name = 'cron.database_name') as cron_database,
            pg_catalog.current_database() as database,
            -- Other roles' backends show no backend_type without pg_read_all_stats: then unknown.
            case when pg_catalog.pg_has_role('pg_read_all_stats', 'usage') then
              exists (select from pg_catalog.pg_stat_activity where backend_type = 'pg_cron launcher') end as launcher`,
  );
  if (!ext?.version) {
    return [
      fail(
        "schedule.pg_cron",
        "pg_cron is not installed: nothing purges expired sessions on a schedule",
        "create extension if not exists pg_cron with schema pg_catalog;",
        ...jobs.map((j) => j.statement),
      ),
    ];
  }
  const checks: Check[] = [];
  if (ext.cron_database && ext.cron_database !== ext.database) {
    checks.push(
      fail(
        "schedule.pg_cron",
        `pg_cron ${ext.version} runs the jobs of database ${ext.cron_database}, not of ${ext.database}`,
        `alter system set cron.database_name = '${ext.database}'; -- then restart PostgreSQL`,
      ),
    );
  } else if (ext.launcher === false) {
    checks.push(
      warn("schedule.pg_cron", `pg_cron ${ext.version} is installed but its scheduler is not running`, SCHEDULER_FIX),
    );
  } else {
    checks.push(pass(
      "schedule.pg_cron",
      `pg_cron ${ext.version} installed` +
        (ext.launcher ? ", its scheduler is running" : ""),
    ));
  }

  let cleanupJobId: unknown;
  for (const job of jobs) {
    // The command as the migration writes it, evaluated (the package's own SQL: a string expression).
    const [row] = await ctx.sql(
      `select jobid, schedule, active, database, command = (${job.commandSql}) as same_command
         from cron.job where jobname = $1 order by jobid desc limit 1`,
      [job.name],
    );
    checks.push(jobCheck(ctx, job, row, String(ext.database)));
    if (job.cleanup && row) cleanupJobId = row.jobid;
  }
  const cleanup = jobs.find((j) => j.cleanup);
  if (cleanup && cleanupJobId !== undefined) checks.push(await cleanupRuns(ctx, cleanup, cleanupJobId));
  return checks;
}

function jobCheck(ctx: Context, job: CronJob, row: Row | undefined, database: string): Check {
  const id = `schedule.job.${job.name}`;
  if (!row) {
    // pg_cron shows a role its own jobs only.
    return fail(
      id,
      `job ${job.name} is not scheduled (for ${ctx.user}: pg_cron lists each role's own jobs)`,
      job.statement,
    );
  }
  if (row.schedule !== job.schedule) {
    return fail(id, `job ${job.name} runs at '${row.schedule}', expected '${job.schedule}'`, job.statement);
  }
  if (!row.same_command) {
    return fail(id, `job ${job.name} runs another command than the migration's`, job.statement);
  }
  if (!row.active) {
    return fail(id, `job ${job.name} is inactive`, `select cron.alter_job(${row.jobid}, active := true);`);
  }
  if (row.database !== database) {
    return fail(id, `job ${job.name} runs in database ${row.database}, not ${database}`, job.statement);
  }
  return pass(id, `job ${job.name} scheduled '${job.schedule}', active`);
}

async function cleanupRuns(ctx: Context, job: CronJob, jobId: unknown): Promise<Check> {
  const id = "schedule.runs";
  const runs = await ctx.sql(
    `select status, pg_catalog.left(pg_catalog.split_part(coalesce(return_message, ''), E'\\n', 1), 200) as message,
            start_time, round(extract(epoch from now() - start_time) / 60) as minutes_ago
       from cron.job_run_details where jobid = $1 order by start_time desc nulls last limit 5`,
    [jobId],
  );
  const last = runs[0];
  const reproduce = `select ${
    quoteIdent(ctx.schema)
  }.dispatch_session_cleanup(); -- runs the job's body now (it purges) and shows any error`;
  if (!last) {
    return warn(
      id,
      `${job.name} has never run (no row in cron.job_run_details; a job scheduled within the hour ` +
        `waits for its first '${job.schedule}')`,
      SCHEDULER_FIX,
    );
  }
  const ago = `${last.minutes_ago} min ago`;
  const succeeded = runs.filter((r) => r.status === "succeeded").length;
  const recent = `${succeeded}/${runs.length} recent runs succeeded`;
  if (last.status === "failed") {
    return fail(id, `${job.name} last run (${ago}) failed: ${last.message}; ${recent}`, reproduce);
  }
  if (count(last.minutes_ago) > THRESHOLDS.cleanupRunHours * 60) {
    return warn(
      id,
      `${job.name} has not run in the last ${THRESHOLDS.cleanupRunHours} hours ` +
        `(last: ${ago}, ${last.status})`,
      SCHEDULER_FIX,
    );
  }
  return pass(id, `${job.name} last ran ${ago}: ${last.status}; ${recent}`);
}

async function httpBranch(ctx: Context): Promise<Check[]> {
  const id = "schedule.http";
  const names = ctx.expected.vaultSecrets;
  const direct = "the cleanup job takes the in-database branch (it purges directly, within a 5 s budget per run)";
  const [found] = await ctx.sql(
    `select exists (select from pg_catalog.pg_proc p join pg_catalog.pg_namespace s on s.oid = p.pronamespace
                     where s.nspname = 'net' and p.proname = 'http_post') as pg_net,
            pg_catalog.to_regclass('vault.decrypted_secrets') is not null as vault,
            pg_catalog.to_regclass('net._http_response') is not null as responses`,
  );
  const checks: Check[] = [];
  if (!found?.pg_net) {
    checks.push(
      warn(
        id,
        `pg_net is not installed: ${direct}`,
        "create extension if not exists pg_net; -- on Supabase: Dashboard → Database → Extensions → pg_net",
      ),
    );
  } else if (!found.vault) {
    checks.push(warn(id, `Vault is not installed: ${direct}`, "create extension if not exists supabase_vault;"));
  } else {
    // Whether each secret is set, never its value.
    const secrets = await ctx.sql(
      `select name from vault.decrypted_secrets
        where name = any ($1) and coalesce(decrypted_secret, '') <> '' group by name`,
      [names],
    );
    const set = new Set(secrets.map((r) => String(r.name)));
    const missing = names.filter((n) => !set.has(n));
    checks.push(
      missing.length
        ? warn(
          id,
          `Vault secret${missing.length > 1 ? "s" : ""} ${missing.join(", ")} not set: ${direct}`,
          ...missing.map((n) =>
            `select vault.create_secret('${
              n.endsWith("_url") ? "https://<project-ref>.supabase.co" : "<an sb_secret_... key>"
            }', '${n}');`
          ),
        )
        : pass(id, `pg_net and the Vault secrets ${names.join(", ")} are present: the cleanup job calls the function`),
    );
  }
  if (found?.responses) checks.push(...await httpAnswers(ctx));
  return checks;
}

/** The function's latest answers to the job (pg_net keeps them about 6 hours), when there are any. */
async function httpAnswers(ctx: Context): Promise<Check[]> {
  const id = "schedule.http-answers";
  // net._http_response holds every pg_net caller's answers; the function's are told by
  // their body (matched as text: content is not always JSON, and `is json` needs PostgreSQL 16).
  const answers = await ctx.sql(
    `select r.status_code, round(extract(epoch from now() - r.created) / 60) as minutes_ago,
            pg_catalog.substring(r.content, '"error" *: *"([^"]*)"') as error,
            pg_catalog.substring(r.content, '"deleted" *: *(\\d+)') as deleted
       from net._http_response r
      where r.created > now() - interval '6 hours'
        and (r.content ~ '"deleted" *:' or r.content like '%a valid secret key is required in the apikey header%')
      order by r.created desc limit 10`,
  );
  const last = answers[0];
  if (!last) return [];
  const ago = `${last.minutes_ago} min ago`;
  if (count(last.status_code) === 401) {
    return [fail(
      id,
      `the function answered 401 to the job (${ago}): the Vault secret session_cleanup_secret_key is ` +
        "not a key the function accepts (wrong or rotated key)",
      "select vault.update_secret((select id from vault.secrets where name = 'session_cleanup_secret_key'), " +
        "'<an sb_secret_... key>');",
    )];
  }
  if (count(last.status_code) !== 200) {
    return [
      fail(
        id,
        `the function answered ${last.status_code} to the job (${ago})${last.error ? `: ${last.error}` : ""}`,
        "read the function's logs: Dashboard → Edge Functions → cleanup-sessions → Logs",
      ),
    ];
  }
  return [pass(
    id,
    `the function answered 200 to the job ${ago} (deleted ${last.deleted}); ` +
      `${answers.filter((a) => count(a.status_code) === 200).length} of its last ${answers.length} answers were 200`,
  )];
}

async function housekeeping(ctx: Context): Promise<Check[]> {
  const table = ctx.expected.tables.keys().next().value;
  if (!table) return [];
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
