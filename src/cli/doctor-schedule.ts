// The doctor's schedule checks: pg_cron installed and running for this database, the
// migration's jobs scheduled as it writes them, the cleanup job's recent runs, and the
// HTTP branch (pg_net, the Vault secrets, the function's answers to the job).
import { quoteIdent } from "../pg-backend.js";
import { type Check, fail, pass, warn } from "./doctor-check.js";
import { type Context, count, type Row, THRESHOLDS } from "./doctor-context.js";
import type { CronJob } from "./doctor-expectations.js";
import { vaultUrlCheck } from "./doctor-function.js";

const SCHEDULER_FIX = "pg_cron runs jobs only with shared_preload_libraries = 'pg_cron' and cron.database_name " +
  "set to this database (on Supabase: Integrations → Cron); its server log says why a run did not start";

export async function schedule(ctx: Context): Promise<Check[]> {
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
      `select jobid, schedule, active, database, command, command = (${job.commandSql}) as same_command
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
    // The package installed into another schema (init --schema): rescheduling it here would break the job.
    const other = String(row.command).match(/^select (\w+)\.dispatch_session_cleanup\(\)$/)?.[1];
    if (other && other !== ctx.schema) {
      return fail(
        id,
        `job ${job.name} runs schema ${other}'s cleanup (${row.command}), not schema ${ctx.schema}'s`,
        `npx supabase-session-store doctor --schema ${other}  # the schema the job cleans`,
      );
    }
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

export async function httpBranch(ctx: Context): Promise<Check[]> {
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
    // The project URL is no secret (the key's value is never read): where the job's request goes.
    const urlSecret = names.find((n) => n.endsWith("_url"));
    if (urlSecret && set.has(urlSecret)) {
      const [row] = await ctx.sql(
        "select decrypted_secret as url from vault.decrypted_secrets where name = $1 order by 1 limit 1",
        [urlSecret],
      );
      checks.push(await vaultUrlCheck(urlSecret, String(row?.url)));
    }
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
