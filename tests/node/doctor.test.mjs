// `supabase-session-store doctor` as an operator runs it: a process reading the local
// stack's database and calling its cleanup-sessions function. Broken deployments are
// built in scratch databases (`create database`), dropped afterwards, so the shared
// test database is left as it was; the one exception is the missing cron job, because
// pg_cron lives only in the database it was configured for: that test removes a job
// and puts it back with the fix the doctor printed.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { freePort } from "../../scripts/stack.mjs";
import { runCommand } from "./support/commands.mjs";
import { requireEnv } from "./support/env.mjs";
import { databaseUrl, withScratchDatabase } from "./support/scratch-db.mjs";

const { DATABASE_URL, DATABASE_POOLER_URL, SUPABASE_URL, SUPABASE_SECRET_KEY: KEY } = requireEnv(
  "DATABASE_URL",
  "DATABASE_POOLER_URL",
  "SUPABASE_URL",
  "SUPABASE_SECRET_KEY",
);

const here = path.dirname(fileURLToPath(import.meta.url));
// The package's own command, as `npx supabase-session-store doctor` runs it.
const bin = path.join(here, "../../bin/supabase-session-store.mjs");
const migrationsDir = path.join(here, "../../supabase/migrations");
const MIGRATIONS = fs.readdirSync(migrationsDir).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
const WRONG_KEY = "sb_secret_doctor-test-wrong-key-0123456789";
// Local clusters trust loopback connections, so any password logs in: one that must never be printed.
const PASSWORD = "doctor-test-password-9f3a1c";

const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
after(() => admin.end());

/** The database URL with another database name and the test password. */
function urlOf(database, base = DATABASE_URL) {
  return databaseUrl(base, database, { password: PASSWORD });
}

/** Runs the doctor with only `env` (plus PATH); resolves with its exit code and output. */
function doctor(args, env = {}) {
  return runCommand(process.execPath, [bin, "doctor", ...args], { env: { PATH: process.env.PATH, ...env } });
}

/** The doctor's --json report, asserting its exit code. */
async function report(args, expectedCode, env) {
  const run = await doctor([...args, "--json"], env);
  assert.equal(run.code, expectedCode, `exit code\n${run.stdout}${run.stderr}`);
  assertNoSecret(run);
  const doc = JSON.parse(run.stdout);
  assert.equal(doc.exitCode, expectedCode);
  return { ...doc, byId: (id) => doc.checks.find((c) => c.id === id) };
}

function assertNoSecret({ stdout, stderr }) {
  for (const secret of [KEY, WRONG_KEY, PASSWORD]) {
    assert.ok(!stdout.includes(secret) && !stderr.includes(secret), "the output contains a key or the password");
  }
}

/** A scratch database for one broken deployment, dropped afterwards. */
function withScratch(name, fn) {
  return withScratchDatabase(admin, `doctor_scratch_${name}`, urlOf, fn);
}

/**
 * Applies the package's migrations to a scratch database, except the schedule's: pg_cron
 * can only be created in the database it serves.
 */
async function migrate(client) {
  for (const file of MIGRATIONS.filter((f) => !/schedule/.test(f))) {
    await client.query(fs.readFileSync(path.join(migrationsDir, file), "utf8"));
  }
}

describe("a healthy deployment (the migrated local stack)", () => {
  test("passes: exit 0, every check pass or warn, the schema, security and schedule checks pass", async () => {
    const doc = await report(["--db-url", urlOf("postgres"), "--url", SUPABASE_URL, "--key", KEY], 0);
    assert.deepEqual(doc.checks.filter((c) => c.status === "fail"), []);
    for (
      const id of [
        "migrations",
        "schema.tables",
        "schema.indexes",
        "schema.functions",
        "security.rls",
        "security.api-roles",
        "security.service-role",
        "security.functions",
        "schedule.pg_cron",
        "schedule.job.cleanup-expired-sessions",
        "schedule.job.trim-session-cleanup-history",
        "housekeeping.live",
        "housekeeping.size",
        "function.refuses-no-key",
        "function.accepts-key",
      ]
    ) {
      assert.equal(doc.byId(id)?.status, "pass", `${id}: ${JSON.stringify(doc.byId(id))}`);
    }
    assert.match(doc.byId("migrations").summary, new RegExp(`all ${MIGRATIONS.length} applied`));
    assert.match(doc.byId("function.accepts-key").summary, /dry run: \d+ expired sessions? waiting/);
    // Plain PostgreSQL here: no pg_net, so the job's in-database branch is a warning with its fix.
    assert.equal(doc.byId("schedule.http").status, "warn");
    assert.match(doc.byId("schedule.http").summary, /in-database branch/);
    assert.match(doc.byId("schedule.http").fixes[0], /create extension if not exists pg_net/);
    assert.match(doc.database, /^postgresql:\/\/postgres:\*\*\*@/);
  });

  test("reads its settings from DATABASE_URL, SUPABASE_URL and SUPABASE_SECRET_KEY, and prints one line per check", async () => {
    const run = await doctor([], { DATABASE_URL: urlOf("postgres"), SUPABASE_URL, SUPABASE_SECRET_KEY: KEY });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assertNoSecret(run);
    assert.match(run.stdout, /^pass {2}security\.api-roles +anon, authenticated, PUBLIC: no privilege/m);
    assert.match(run.stdout, /^pass {2}function\.accepts-key /m);
    assert.match(run.stdout, /^WARN {2}schedule\.http .*\n {6}fix: create extension if not exists pg_net;/m);
    assert.match(run.stdout, /^0 failed, \d+ warnings?, \d+ passed: exit 0$/m);
  });

  test("writes nothing: no row changed, no transaction id used, no job or migration touched", async () => {
    const snapshot = async () => {
      const { rows: [s] } = await admin.query(`
        select pg_snapshot_xmax(pg_current_snapshot())::text as next_xid,
               (select coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::text from pg_stat_all_tables
                 where schemaname not in ('pg_catalog', 'pg_toast', 'information_schema')) as tuples_written,
               (select count(*)::int from public.sessions) as sessions,
               (select json_agg(j order by jobid)::text from cron.job j) as jobs,
               (select count(*)::int from cron.job_run_details) as runs,
               (select count(*)::int from supabase_migrations.schema_migrations) as migrations,
               (select max(greatest(last_autovacuum, last_autoanalyze))::text from pg_stat_all_tables) as autovacuum`);
      return s;
    };
    // A cron run between the two snapshots writes too, and an autovacuum or autoanalyze (after the
    // earlier suites' writes) takes a transaction id for the statistics it stores: then measure again.
    for (let attempt = 1;; attempt++) {
      const before = await snapshot();
      const run = await doctor(["--db-url", urlOf("postgres"), "--url", SUPABASE_URL, "--key", KEY]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      await new Promise((resolve) => setTimeout(resolve, 700)); // the doctor's backend flushes its statistics on exit
      const afterRun = await snapshot();
      const background = afterRun.runs !== before.runs || afterRun.autovacuum !== before.autovacuum;
      if (background && attempt < 5) continue;
      assert.deepEqual(afterRun, before);
      break;
    }
  });

  test("--schema names where to look: an empty schema fails naming what is missing", async () => {
    const doc = await report(["--db-url", urlOf("postgres"), "--schema", "doctor_nowhere"], 1);
    assert.equal(doc.schema, "doctor_nowhere");
    assert.match(doc.byId("schema.tables").summary, /missing in schema doctor_nowhere: sessions/);
  });
});

describe("a broken deployment", () => {
  test("an unmigrated database fails, naming every missing migration and the command that applies them", async () => {
    await withScratch("unmigrated", async (_client, url) => {
      const doc = await report(["--db-url", url], 1);
      const check = doc.byId("migrations");
      assert.equal(check.status, "fail");
      for (const file of MIGRATIONS) assert.ok(check.summary.includes(file), `${file} named in: ${check.summary}`);
      assert.match(check.fixes[0], /npx supabase db push --db-url "\$DATABASE_URL"/);
      assert.equal(doc.byId("schema.tables").status, "fail");
      assert.match(doc.byId("schema.tables").summary, /sessions \(created by \d+_sessions_table\.sql\)/);
    });
  });

  test("a public.sessions of the app's own is not the package's: no fix alters it, the fix is another schema", async () => {
    await withScratch("own_table", async (client, url) => {
      // RLS off and granted to anon: the app's business, which the doctor must not take for the package's.
      await client.query(`create table public.sessions (id bigint primary key, athlete text not null);
        grant select on public.sessions to anon;`);
      const doc = await report(["--db-url", url], 1);
      const tables = doc.byId("schema.tables");
      assert.equal(tables.status, "fail");
      assert.match(
        tables.summary,
        /^public\.sessions is a table of your own, not this package's .*not installed in schema public$/,
      );
      const install =
        /^npx supabase-session-store init --schema session_store && npx supabase db push .*doctor --schema session_store$/;
      assert.match(tables.fixes[0], install);
      assert.match(
        doc.byId("migrations").fixes[0],
        install,
        "not an init into public, which would collide with the table",
      );
      const fixes = doc.checks.flatMap((c) => c.fixes).join("\n");
      assert.doesNotMatch(fixes, /alter table|revoke|public\.sessions/);
      assert.ok(!doc.checks.some((c) => /^(security|housekeeping)\./.test(c.id)), "the app's table is not checked");
    });
  });

  test("a leaked grant to anon fails, naming the role, the object and the revoke that fixes it", async () => {
    await withScratch("leaked_grant", async (client, url) => {
      await migrate(client);
      const clean = await report(["--db-url", url], 1); // no pg_cron here: the schedule fails regardless
      assert.equal(clean.byId("security.api-roles").status, "pass", JSON.stringify(clean.byId("security.api-roles")));

      await client.query("grant select on table public.sessions to anon");
      await client.query("grant execute on function public.session_get(text[]) to anon");
      const leaked = await report(["--db-url", url], 1);
      const check = leaked.byId("security.api-roles");
      assert.equal(check.status, "fail");
      assert.match(check.summary, /anon on public\.sessions/);
      assert.match(check.summary, /anon on public\.session_get\(text\[\]\)/);
      assert.ok(check.fixes.includes("revoke all on table public.sessions from anon;"), check.fixes.join("\n"));
      assert.ok(check.fixes.includes("revoke all on function public.session_get(text[]) from anon;"));

      // The printed fixes are the cure.
      for (const fix of check.fixes) await client.query(fix);
      assert.equal((await report(["--db-url", url], 1)).byId("security.api-roles").status, "pass");
    });
  });

  test("a switch from connect-pg-simple left behind: the guard, then the old table, each warned with the step that ends it", async () => {
    await withScratch("switch_left", async (client, url) => {
      await migrate(client);
      assert.equal((await report(["--db-url", url], 1)).byId("switch").status, "pass");
      // connect-pg-simple's own table.sql, under another schema and table name, holding a live plain id.
      const tableSql = fs.readFileSync(path.join(here, "../../node_modules/connect-pg-simple/table.sql"), "utf8");
      await client.query(`create schema legacy; ${tableSql.replaceAll('"session"', '"legacy"."app_sessions"')}`);
      await client.query(
        `insert into legacy.app_sessions (sid, sess, expire) values ('plain-id', '{"cookie": {}}', now() + interval '1 day')`,
      );
      const run = (fix) =>
        runCommand(process.execPath, [bin, ...fix.replace(/ +#.*$/, "").split(" ").slice(2)], {
          env: { PATH: process.env.PATH, DATABASE_URL: url },
        });
      const switchCli = (step) =>
        `npx supabase-session-store switch-from-connect-pg-simple ${step} --schema legacy --table app_sessions`;
      assert.equal((await run(switchCli("guard"))).code, 0);

      const guarded = (await report(["--db-url", url], 1)).byId("switch.guard");
      assert.equal(guarded?.status, "warn", JSON.stringify(guarded));
      assert.match(guarded.summary, /its guard is on "legacy"\."app_sessions", .* into "public"\.sessions/);
      assert.deepEqual(guarded.fixes.map((f) => f.replace(/ +#.*$/, "")), [
        switchCli("import --dry-run"),
        switchCli("unguard"),
      ]);
      for (const fix of guarded.fixes) assert.equal((await run(fix)).code, 0, fix);

      const left = await report(["--db-url", url], 1);
      assert.equal(left.byId("switch.guard"), undefined, "unguard, the printed fix, ended the guard");
      const old = left.byId("switch.old-table");
      assert.equal(old?.status, "warn", JSON.stringify(old));
      assert.match(
        old.summary,
        /^"legacy"\."app_sessions" .* holds 1 row, live sessions among them: session ids in plain text/,
      );
      await client.query(old.fixes[0]);
      const done = (await report(["--db-url", url], 1)).byId("switch");
      assert.equal(done?.status, "pass", JSON.stringify(done));
    });
  });

  test("a column grant to PUBLIC, RLS off and an unpinned search_path each fail with their fix", async () => {
    await withScratch("weak_security", async (client, url) => {
      await migrate(client);
      await client.query("grant select (sid) on table public.sessions to public");
      await client.query("alter table public.sessions disable row level security");
      await client.query("alter function public.session_count() reset search_path");
      const doc = await report(["--db-url", url], 1);
      assert.match(doc.byId("security.api-roles").summary, /PUBLIC on public\.sessions/);
      assert.ok(doc.byId("security.api-roles").fixes.includes("revoke all on table public.sessions from public;"));
      assert.deepEqual(doc.byId("security.rls").fixes, ["alter table public.sessions enable row level security;"]);
      assert.match(doc.byId("security.functions").summary, /search_path not pinned: public\.session_count\(\)/);
      assert.deepEqual(doc.byId("security.functions").fixes, [
        "alter function public.session_count() set search_path = '';",
      ]);
    });
  });

  test("a missing cron job fails, naming the job; the printed fix schedules it again", async () => {
    const { rows: [job] } = await admin.query(
      "select schedule, command from cron.job where jobname = 'trim-session-cleanup-history'",
    );
    assert.ok(job, "the migrations scheduled the job");
    await admin.query("select cron.unschedule('trim-session-cleanup-history')");
    let fix;
    try {
      const doc = await report(["--db-url", urlOf("postgres")], 1);
      const check = doc.byId("schedule.job.trim-session-cleanup-history");
      assert.equal(check.status, "fail");
      assert.match(check.summary, /job trim-session-cleanup-history is not scheduled/);
      assert.deepEqual(doc.checks.filter((c) => c.status === "fail").map((c) => c.id), [
        "schedule.job.trim-session-cleanup-history",
      ]);
      [fix] = check.fixes;
      assert.match(fix, /^select cron\.schedule\('trim-session-cleanup-history', '43 3 \* \* \*', /);
    } finally {
      await admin.query(
        fix ?? `select cron.schedule('trim-session-cleanup-history', $1, $2)`,
        fix ? [] : [job.schedule, job.command],
      );
    }
    const { rows: [again] } = await admin.query(
      "select schedule, command from cron.job where jobname = 'trim-session-cleanup-history'",
    );
    assert.deepEqual(again, job, "the printed fix recreates the job exactly");
    assert.equal(
      (await report(["--db-url", urlOf("postgres")], 0)).byId("schedule.job.trim-session-cleanup-history")
        .status,
      "pass",
    );
  });

  test("a cleanup job rescheduled with a failing command: its schedule, command and last run fail", async () => {
    const { rows: [job] } = await admin.query(
      "select jobid, schedule, command from cron.job where jobname = 'cleanup-expired-sessions'",
    );
    // Every minute (pg_cron's finest here), a command that raises: a real failed run within a minute.
    await admin.query("select cron.schedule('cleanup-expired-sessions', '* * * * *', $1)", [
      "select public.dispatch_session_cleanup(interval '-1 second')",
    ]);
    let fix;
    try {
      const wrong = await report(["--db-url", urlOf("postgres")], 1);
      assert.match(
        wrong.byId("schedule.job.cleanup-expired-sessions").summary,
        /runs at '\* \* \* \* \*', expected '17 \* \* \* \*'/,
      );
      [fix] = wrong.byId("schedule.job.cleanup-expired-sessions").fixes;

      const started = Date.now();
      while (
        !(await admin.query("select 1 from cron.job_run_details where jobid = $1 and status = 'failed'", [job.jobid]))
          .rowCount
      ) {
        assert.ok(Date.now() - started < 90_000, "pg_cron ran the job within 90 s");
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      // The schedule again, the command still wrong: the doctor compares that too.
      await admin.query("select cron.schedule('cleanup-expired-sessions', '17 * * * *', $1)", [
        "select public.dispatch_session_cleanup(interval '-1 second')",
      ]);
      const failed = await report(["--db-url", urlOf("postgres")], 1);
      assert.match(
        failed.byId("schedule.job.cleanup-expired-sessions").summary,
        /runs another command than the migration's/,
      );
      const runs = failed.byId("schedule.runs");
      assert.equal(runs.status, "fail");
      assert.match(
        runs.summary,
        /cleanup-expired-sessions last run \(\d+ min ago\) failed: ERROR: +time_budget must be a non-negative interval/,
      );
      assert.match(runs.fixes[0], /^select "public"\.dispatch_session_cleanup\(\);/);
    } finally {
      await admin.query(
        fix ?? "select cron.schedule('cleanup-expired-sessions', $1, $2)",
        fix ? [] : [job.schedule, job.command],
      );
      // Its failed runs are not this database's history.
      await admin.query("delete from cron.job_run_details where jobid = $1 and status = 'failed'", [job.jobid]);
    }
    const { rows: [again] } = await admin.query(
      "select jobid, schedule, command from cron.job where jobname = 'cleanup-expired-sessions'",
    );
    assert.deepEqual(again, job, "the printed fix restores the job exactly");
    assert.equal(
      (await report(["--db-url", urlOf("postgres")], 0)).byId("schedule.job.cleanup-expired-sessions").status,
      "pass",
    );
  });

  test("an unreachable function fails, naming the endpoint and the reason", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const doc = await report(["--db-url", urlOf("postgres"), "--url", url, "--key", KEY], 1);
    const check = doc.byId("function.refuses-no-key");
    assert.equal(check.status, "fail");
    assert.match(check.summary, new RegExp(`${url}/functions/v1/cleanup-sessions is unreachable \\(ECONNREFUSED\\)`));
    assert.match(check.fixes[0], /npx supabase functions deploy cleanup-sessions/);
  });

  test("a key the function refuses fails the key check, and the key is not printed", async () => {
    const doc = await report(["--db-url", urlOf("postgres"), "--url", SUPABASE_URL, "--key", WRONG_KEY], 1);
    assert.equal(doc.byId("function.refuses-no-key").status, "pass");
    assert.equal(doc.byId("function.accepts-key").status, "fail");
    assert.match(doc.byId("function.accepts-key").summary, /refuses the key given \(401\)/);
  });

  test("the job's HTTP branch answered 401: the Vault key is wrong, and the doctor says so", async () => {
    await withScratch("http_401", async (client, url) => {
      await migrate(client);
      // pg_net and Vault are not packaged for this machine: their objects the doctor reads, in
      // their real layout (pg_net's response table, Vault's decrypted view), stand in for them.
      await client.query(`
        create schema net;
        create table net._http_response (id bigint primary key, status_code integer, content_type text,
          headers jsonb, content text, timed_out boolean, error_msg text, created timestamptz not null default now());
        create function net.http_post(url text, body jsonb, headers jsonb, timeout_milliseconds integer)
          returns bigint language sql as 'select 1::bigint';
        create schema vault;
        create view vault.decrypted_secrets as
          select * from (values ('session_cleanup_project_url', 'http://127.0.0.1:1')) s(name, decrypted_secret);
        insert into net._http_response (id, status_code, content, created) values
          (1, 200, '{"deleted":3,"batches":1,"more":false,"durationMs":12,"dryRun":false}', now() - interval '2 hours'),
          (2, 404, '<html>another pg_net caller</html>', now() - interval '30 minutes'),
          (3, 401, '{"error":"a valid secret key is required in the apikey header"}', now() - interval '5 minutes');`);
      const doc = await report(["--db-url", url], 1);
      const secrets = doc.byId("schedule.http");
      assert.equal(secrets.status, "warn");
      assert.match(
        secrets.summary,
        /Vault secret session_cleanup_secret_key not set: the cleanup job takes the in-database branch/,
      );
      assert.deepEqual(secrets.fixes, [
        "select vault.create_secret('<an sb_secret_... key>', 'session_cleanup_secret_key');",
      ]);
      const answers = doc.byId("schedule.http-answers");
      assert.equal(answers.status, "fail");
      assert.match(
        answers.summary,
        /answered 401 .*the Vault secret session_cleanup_secret_key is not a key the function accepts/,
      );
      assert.match(answers.fixes[0], /vault\.update_secret\(/);

      await client.query("insert into net._http_response (id, status_code, content) values (4, 200, $1)", [
        JSON.stringify({ deleted: 7, batches: 1, more: false, durationMs: 9, dryRun: false }),
      ]);
      const fixed = await report(["--db-url", url], 1);
      assert.equal(fixed.byId("schedule.http-answers").status, "pass");
      assert.match(
        fixed.byId("schedule.http-answers").summary,
        /answered 200 .*deleted 7.*2 of its last 3 answers were 200/,
      );
    });
  });
});

describe("the pooler mode (the stack's PgBouncer in transaction mode, Supavisor's port 6543 stand-in)", () => {
  const pooler = async (url, ...args) => (await report(["--db-url", url, ...args], 0)).byId("pooler");
  // The pooler's URL as a dashboard would give it: no pgbouncer=true, and not on port 6543.
  const hidden = DATABASE_POOLER_URL.replace(/[?&]pgbouncer=true/, "");

  test("a direct connection is reported as such, with named statements", async () => {
    const check = await pooler(urlOf("postgres"));
    assert.equal(check.status, "pass");
    assert.match(check.summary, /^direct connection or session mode: the store uses named prepared statements$/);
  });

  test("through the pooler: seen in the URL and proved by the probe (two connections, one server process)", async () => {
    const check = await pooler(DATABASE_POOLER_URL);
    assert.equal(check.status, "pass", JSON.stringify(check));
    assert.match(
      check.summary,
      /^transaction pooler \(pgbouncer=true in the connection string; .*one server process\)/,
    );
    assert.match(check.summary, /the server listens on \d+, not \d+/);
  });

  test("a transaction pooler the URL hides is found by the probe, and the missing setting is the warning", async () => {
    const check = await pooler(hidden);
    assert.equal(check.status, "warn", JSON.stringify(check));
    assert.match(check.summary, /one server process\), but the connection string does not say so/);
    assert.match(check.fixes[0], /pgbouncer=true/);
  });

  test("preparedStatements that disagrees with the mode is a warning with its fix, either way", async () => {
    const pooled = await pooler(DATABASE_POOLER_URL, "--prepared-statements", "true");
    assert.equal(pooled.status, "warn");
    assert.match(pooled.summary, /preparedStatements: true, which cannot work through it/);
    assert.match(pooled.fixes[0], /^remove preparedStatements: true/);
    const direct = await pooler(urlOf("postgres"), "--prepared-statements", "false");
    assert.equal(direct.status, "warn");
    assert.match(direct.fixes[0], /^remove preparedStatements: false/);
    assert.equal((await pooler(DATABASE_POOLER_URL, "--prepared-statements", "false")).status, "pass");
    assert.equal((await pooler(urlOf("postgres"), "--prepared-statements", "true")).status, "pass");
  });
});

describe("could not run: exit 2, one line, no stack trace", () => {
  const assertOneLine = (run) => {
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.equal(run.stdout, "");
    assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
    assert.match(run.stderr, /^doctor: [^\n]+\n$/, "one line");
    assertNoSecret(run);
  };

  test("no database named", async () => {
    const run = await doctor([]);
    assertOneLine(run);
    assert.match(run.stderr, /^doctor: no database: pass --db-url or set DATABASE_URL \(see --help\)$/m);
  });

  test("an unknown option, or --url without a key", async () => {
    const unknown = await doctor(["--db-url", urlOf("postgres"), "--key", KEY, "--bogus"]);
    assertOneLine(unknown);
    assert.match(unknown.stderr, /Unknown option '--bogus'/);
    const noKey = await doctor(["--db-url", urlOf("postgres"), "--url", SUPABASE_URL]);
    assertOneLine(noKey);
    assert.match(noKey.stderr, /--url needs a key/);
    const badPrepared = await doctor(["--db-url", urlOf("postgres"), "--prepared-statements", "yes"]);
    assertOneLine(badPrepared);
    assert.match(badPrepared.stderr, /--prepared-statements must be true or false, got "yes"/);
  });

  test("an unreachable database, named with its password redacted", async () => {
    const port = await freePort();
    const run = await doctor(["--db-url", urlOf("postgres", `postgresql://postgres@127.0.0.1:${port}/postgres`)]);
    assertOneLine(run);
    assert.match(
      run.stderr,
      new RegExp(
        `^doctor: cannot connect to postgresql://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${port}/postgres: .*ECONNREFUSED`,
      ),
    );
  });
});
