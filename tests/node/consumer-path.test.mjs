// The docs followed literally by a new user: a fresh project (`npm init`, then the docs'
// own commands, extracted from README.md and docs/production.md so that they cannot drift),
// the package installed from the tarball `npm pack` makes of this checkout, the migrations
// pushed by the pinned Supabase CLI into a fresh database set up as a new hosted project
// is, the README's "Using the store" app compiled under strict + nodenext and run, and a
// purge through the copied Edge Function. Then the same for a project that already has a
// `public.sessions` table of its own, installing into another schema.
// Commands that need the hosted project (login, link, deploy, Vault) cannot run here:
// the test lists them. npm installs fetch from the registry as a user's would.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import * as db from "../../scripts/db.mjs";
import { startGateway } from "../../scripts/gateway/index.mjs";
import { localKeys } from "../../scripts/keys.mjs";
import { startFunctions } from "../../scripts/serve-functions.mjs";
import { freePort } from "../../scripts/stack.mjs";
import { SupabaseSessionStore } from "../../dist/esm/index.js";
import { sessionFor, supabaseClient } from "./support/backends.mjs";
import { runScript } from "./support/commands.mjs";
import { keyOf, keySql } from "./support/keys.mjs";
import { blocksFor, fencedBlocks, readme } from "./support/readme.mjs";
import { scratchCluster } from "./support/scratch-db.mjs";

const root = db.root;
const keys = localKeys();
const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
const work = fs.mkdtempSync(path.join(os.tmpdir(), "session-store-consumer-"));
let tarball;

/** The environment of a new shell: none of this process's stack, npm or Supabase settings. */
function shellEnv(extra) {
  const clean = Object.fromEntries(
    Object.entries(process.env)
      .filter(([k]) => !/^(npm_|SUPABASE_|DATABASE_URL$|PG|LOCAL_DB_|CLEANUP_SECRET$|NODE_OPTIONS$)/i.test(k)),
  );
  return { ...clean, ...extra };
}

function psql(url, sql) {
  const res = spawnSync("psql", [url, "-X", "-v", "ON_ERROR_STOP=1", "-At"], { input: sql, encoding: "utf8" });
  return { code: res.status, out: `${res.stdout}${res.stderr}` };
}

/** The last lines of a command's output, for the transcript. */
const tail = (out, n = 4) => out.trim().split("\n").slice(-n).map((l) => `    ${l}`).join("\n");

/**
 * A fresh project folder and a fresh database bootstrapped as a new Supabase project
 * (roles, default privileges, pg_cron available) with nothing migrated.
 */
async function consumer(name) {
  const project = path.join(work, name);
  fs.mkdirSync(project);
  assert.equal((await runScript(project, "npm init -y >/dev/null && npm pkg set type=module", shellEnv())).code, 0);
  fs.copyFileSync(path.join(work, tarball), path.join(project, tarball));
  const cluster = await scratchCluster(`consumer-${name}`);
  const stops = [() => cluster.destroy()];
  return {
    project,
    url: cluster.url,
    cliUrl: cluster.cliUrl,
    stops,
    async stop() {
      for (const s of stops.reverse()) await s();
    },
  };
}

/**
 * Runs the docs' blocks marked `tag`, in reading order, in `c.project`; `hooks.afterRun` runs
 * after each shell block. Returns { transcript, notRun, outputs }.
 */
async function followDocs(tag, c, env, hooks = {}) {
  const transcript = [];
  const notRun = [];
  const outputs = [];
  for (const block of blocksFor(tag)) {
    const { action, arg } = block.marker;
    const { where } = block;
    if (action === "skip") {
      notRun.push(`${where} (${arg}): ${block.code.trim().split("\n").join(" ; ")}`);
      continue;
    }
    if (action === "file" || action === "append") {
      const target = path.join(c.project, arg);
      (action === "file" ? fs.writeFileSync : fs.appendFileSync)(
        target,
        action === "append" ? `\n${block.code}` : block.code,
      );
      transcript.push(`${action === "file" ? "wrote" : "appended to"} ${arg} (${where})`);
      continue;
    }
    const res = action === "sql" ? psql(c.url, block.code) : await runScript(c.project, block.code, env);
    transcript.push(`$ ${block.code.trim().split("\n").join("\n$ ")}\n${tail(res.out)}`);
    assert.equal(res.code, 0, `${where} failed:\n${block.code}\n${res.out}`);
    outputs.push({ block, out: res.out });
    if (action === "run") await hooks.afterRun?.();
  }
  return { transcript, notRun, outputs };
}

/** Serves the project's copy of the function once step 0 has put it there. */
function functionServer(c, port, env) {
  let started;
  return async () => {
    const entry = path.join(c.project, "supabase/functions/cleanup-sessions/index.ts");
    if (started || !fs.existsSync(entry)) return;
    started = await startFunctions({
      port,
      entry,
      env: {
        SUPABASE_URL: env.SUPABASE_URL,
        SUPABASE_SECRET_KEYS: JSON.stringify({ default: keys.secretKey }),
        SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey,
        ...env.functionEnv,
      },
    });
    c.stops.push(() => started.close());
  };
}

/** Starts the project's API (the gateway in front of its database and function). */
async function api(c, exposedSchemas) {
  const fnPort = await freePort();
  const gateway = await startGateway({
    databaseUrl: c.url,
    keys,
    functionsUrl: `http://127.0.0.1:${fnPort}`,
    exposedSchemas,
  });
  c.stops.push(() => gateway.close());
  return { url: gateway.url, fnPort };
}

function report(t, transcript, notRun) {
  t.diagnostic("consumer transcript:");
  for (const line of transcript.join("\n").split("\n")) t.diagnostic(line);
  t.diagnostic("not run here, with the reason:");
  for (const line of notRun) t.diagnostic(`  ${line}`);
}

before(() => {
  // --ignore-scripts: the suite has just built dist/; prepack would only rebuild it.
  const [packed] = JSON.parse(
    spawnSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], {
      cwd: root,
      encoding: "utf8",
    }).stdout,
  );
  tarball = packed.filename;
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

test("every command block of the README's Install and Using the store, and of docs/production.md, is marked for the consumer-path test", () => {
  const commandBlocks = [
    ...fencedBlocks("README.md").filter((b) => ["Install", "Using the store"].includes(b.section)),
    ...fencedBlocks("docs/production.md"),
  ].filter((b) => ["sh", "sql", "toml", "ts", "json"].includes(b.lang));
  assert.ok(commandBlocks.length > 10, "the sections this test names still exist");
  assert.deepEqual(commandBlocks.filter((b) => !b.marker).map((b) => b.where), []);
  // The version a user installs is the one this checkout packs.
  assert.match(readme(), new RegExp(`npm i \\./${tarball.replace(/\./g, "\\.")}\\n`));
  assert.equal(tarball, `${manifest.name}-${manifest.version}.tgz`);
});

describe("a fresh supabase init project, following the README and docs/production.md", () => {
  let c;
  let app;
  let apiUrl;
  let projectEnv;
  before(async () => {
    c = await consumer("public");
  });
  after(async () => {
    app?.kill("SIGTERM");
    await c?.stop();
  });

  test("the docs' commands run in order: install the tarball, compile the app, copy, push, verify, purge", async (t) => {
    const { url, fnPort } = await api(c);
    const env = shellEnv({ SUPABASE_DB_URL: c.cliUrl, SUPABASE_URL: url, SUPABASE_SECRET_KEY: keys.secretKey });
    [apiUrl, projectEnv] = [url, env];
    const { transcript, notRun, outputs } = await followDocs("consumer", c, env, {
      afterRun: functionServer(c, fnPort, { SUPABASE_URL: url }),
    });
    report(t, transcript, notRun);

    assert.ok(fs.existsSync(path.join(c.project, "dist/app.js")), "the app compiled");
    const pushed = outputs.find((o) => /db push/.test(o.block.code));
    assert.match(
      pushed.out,
      /Applying migration \d{14}_sessions_table\.sql/,
      "init wrote it, under a version of its own",
    );
    const purged = outputs.find((o) => /supabase-session-store purge/.test(o.block.code));
    assert.equal(JSON.parse(purged.out.slice(purged.out.indexOf("{"))).more, false);
    assert.ok(!purged.out.includes(keys.secretKey), "purge never prints the key");
    const cliVersion = await runScript(c.project, "npx supabase --version", env);
    assert.equal(cliVersion.out.trim(), "2.117.0");
    assert.ok(notRun.some((h) => /functions deploy/.test(h)) && notRun.some((h) => /link/.test(h)));

    // The README's app, as compiled, keeps one session across requests over http://localhost.
    const port = await freePort();
    // Node < 22 needs --experimental-websocket for supabase-js, as docs/store.md says.
    app = spawn(process.execPath, ["--experimental-websocket", "dist/app.js"], {
      cwd: c.project,
      env: { ...env, PORT: String(port), SESSION_SECRET: "a-test-secret-of-at-least-32-characters" },
      stdio: "ignore",
    });
    let first;
    for (let i = 0; i < 100 && !first; i++) {
      first = await fetch(`http://127.0.0.1:${port}/`).catch(() => new Promise((r) => setTimeout(r, 100)));
    }
    assert.ok(first, "the app answers");
    assert.deepEqual(await first.json(), { views: 1 });
    const cookie = first.headers.get("set-cookie");
    assert.match(cookie, /^connect\.sid=/);
    assert.doesNotMatch(cookie, /Secure/i, "no secure cookie over http://localhost outside production");
    const second = await fetch(`http://127.0.0.1:${port}/`, { headers: { cookie: cookie.split(";")[0] } });
    assert.deepEqual(await second.json(), { views: 2 });
    const sessions = new pg.Client({ connectionString: c.url });
    await sessions.connect();
    try {
      const { rows } = await sessions.query(
        "select data->'views' as views from public.sessions where expires_at > now()",
      );
      assert.deepEqual(rows, [{ views: 2 }], "one session row, saved by the app through supabase-js");
    } finally {
      await sessions.end();
    }

    // Run as a newcomer runs it: a variable missing, a publishable key, a wrong URL.
    const secret = { SESSION_SECRET: "a-test-secret-of-at-least-32-characters" };
    const unset = await runApp(c.project, { ...env, SESSION_SECRET: "" });
    assert.equal(unset.code, 1);
    assert.equal(
      unset.stderr.trim(),
      "Set SESSION_SECRET: the app needs SUPABASE_URL, SUPABASE_SECRET_KEY and SESSION_SECRET.",
      "a missing variable is named in a sentence, no stack trace",
    );
    const publishable = await answersOf(c.project, { ...env, ...secret, SUPABASE_SECRET_KEY: keys.publishableKey });
    assert.deepEqual(
      publishable[0],
      { status: 500, body: { error: "internal error" } },
      "the failed save fails the request",
    );
    const wrongUrl = await answersOf(c.project, {
      ...env,
      ...secret,
      SUPABASE_URL: `http://127.0.0.1:${await freePort()}`,
    });
    assert.ok(wrongUrl.every((a) => a.status >= 500 && a.body?.error), `JSON errors only: ${JSON.stringify(wrongUrl)}`);
    assert.deepEqual(wrongUrl.at(-1), { status: 503, body: { error: "session store unavailable" } });

    const doctored = outputs.find((o) => /supabase-session-store doctor/.test(o.block.code));
    assert.match(
      doctored.out,
      /\n0 failed, \d+ warnings?, \d+ passed: exit 0\n/,
      "the installed doctor finds nothing wrong",
    );
  });

  test("the installed doctor (npx) fails a Vault project URL whose function answers 404, and prints the fix", async () => {
    assert.ok(projectEnv, "the docs' commands ran");
    // pg_net and Vault are not packaged for this machine: the objects the doctor reads, in their
    // real layout (pg_net's http_post and response table, Vault's secrets and decrypted view), stand in.
    const vault = (projectUrl) =>
      `create or replace view vault.decrypted_secrets as select s.id, s.name, v.secret as decrypted_secret
         from vault.secrets s join (values ('session_cleanup_project_url', '${projectUrl}'),
           ('session_cleanup_secret_key', '${keys.secretKey}')) v(name, secret) using (name);`;
    const standIns = psql(
      c.url,
      `create schema net;
      create table net._http_response (id bigint primary key, status_code integer, content_type text,
        headers jsonb, content text, timed_out boolean, error_msg text, created timestamptz not null default now());
      create function net.http_post(url text, body jsonb, headers jsonb, timeout_milliseconds integer)
        returns bigint language sql as 'select 1::bigint';
      create schema vault;
      create table vault.secrets (id uuid primary key default gen_random_uuid(), name text unique);
      insert into vault.secrets (name) values ('session_cleanup_project_url'), ('session_cleanup_secret_key');
      ${vault(`${apiUrl}/dashboard/project/abcdefghijklmnopqrst`)}`,
    );
    assert.equal(standIns.code, 0, standIns.out);
    const doctor = async () => {
      const run = await runScript(
        c.project,
        'npx supabase-session-store doctor --db-url "$SUPABASE_DB_URL" --json',
        projectEnv,
      );
      const doc = JSON.parse(run.stdout.slice(run.stdout.indexOf("{")));
      return { code: run.code, doc, check: doc.checks.find((x) => x.id === "schedule.vault-url") };
    };

    const typo = await doctor();
    assert.equal(typo.code, 1, JSON.stringify(typo.doc.checks));
    assert.equal(typo.check.status, "fail");
    const endpoint = `${apiUrl}/dashboard/project/abcdefghijklmnopqrst/functions/v1/cleanup-sessions`;
    assert.match(
      typo.check.summary,
      new RegExp(`session_cleanup_project_url sends the cleanup job to ${endpoint}, which answers 404`),
    );
    assert.match(
      typo.check.fixes[0],
      /^select vault\.update_secret\(\(select id from vault\.secrets where name = 'session_cleanup_project_url'\), 'https:\/\/<project-ref>\.supabase\.co'\);/,
    );
    assert.ok(!JSON.stringify(typo.doc).includes(keys.secretKey), "the doctor never prints the key");

    // The fix, with the project's URL: the check passes, and nothing else fails.
    assert.equal(psql(c.url, vault(apiUrl)).code, 0);
    const fixed = await doctor();
    assert.equal(fixed.check.status, "pass", fixed.check.summary);
    assert.equal(fixed.code, 0, JSON.stringify(fixed.doc.checks.filter((x) => x.status === "fail")));
  });
});

/** Runs the README's compiled app to its exit (it is expected to refuse to start). */
function runApp(project, env) {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ["--experimental-websocket", "dist/app.js"], { cwd: project, env });
    let stderr = "";
    proc.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
    proc.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** Starts the README's compiled app with `env` and returns its answers to three requests for "/", in order. */
async function answersOf(project, env) {
  const port = await freePort();
  const proc = spawn(process.execPath, ["--experimental-websocket", "dist/app.js"], {
    cwd: project,
    env: { ...env, PORT: String(port) },
    stdio: "ignore",
  });
  try {
    const answers = [];
    for (let i = 0; i < 100 && answers.length < 3; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/`).catch(() => null);
      if (!res) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const text = await res.text();
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      answers.push({ status: res.status, body });
    }
    return answers;
  } finally {
    proc.kill("SIGTERM");
  }
}

describe("a project with a public.sessions table of its own, installing into another schema", () => {
  const SCHEMA = "session_store";
  let c;
  let pool;
  before(async () => {
    c = await consumer("schema");
    // The app's own sessions (workouts, say): nothing of the package may touch it.
    const own = psql(
      c.url,
      `create table public.sessions (id bigint generated always as identity primary key,
      athlete text not null, started_at timestamptz not null default now());
      alter table public.sessions enable row level security;
      insert into public.sessions (athlete) values ('ada'), ('grace');`,
    );
    assert.equal(own.code, 0, own.out);
    pool = new pg.Pool({ connectionString: c.url, max: 3 });
    c.stops.push(() => pool.end());
  });
  after(() => c?.stop());

  test("migrations --schema, push, both store backends, the function's purge and the cron job use that schema", async (t) => {
    const { url, fnPort } = await api(c, ["public", SCHEMA]);
    const env = shellEnv({ SUPABASE_DB_URL: c.cliUrl, SUPABASE_URL: url, SUPABASE_SECRET_KEY: keys.secretKey });
    const { transcript, notRun } = await followDocs("schema", c, env);
    report(t, transcript, notRun);

    // The app's table is as it was.
    const own = await pool.query(`select (select array_agg(column_name::text order by ordinal_position)
      from information_schema.columns where table_schema = 'public' and table_name = 'sessions') as columns,
      (select array_agg(athlete order by id) from public.sessions) as athletes`);
    assert.deepEqual(own.rows[0], { columns: ["id", "athlete", "started_at"], athletes: ["ada", "grace"] });
    const fns = await pool.query(`select count(*)::int as n from pg_proc where pronamespace = 'public'::regnamespace
      and proname like 'session%'`);
    assert.equal(fns.rows[0].n, 0, "no session function in public");
    const privileges = await pool.query(
      `select has_schema_privilege('anon', $1, 'usage') as anon,
      has_schema_privilege('authenticated', $1, 'usage') as authenticated,
      has_schema_privilege('service_role', $1, 'usage') as service_role`,
      [SCHEMA],
    );
    assert.deepEqual(privileges.rows[0], { anon: false, authenticated: false, service_role: true });

    // Both backends, with the store's schema option.
    const viaPg = new SupabaseSessionStore({ pool, schema: SCHEMA });
    await viaPg.set("schema-pg", sessionFor(30, { via: "pg" }));
    assert.equal((await viaPg.get("schema-pg")).via, "pg");
    const viaApi = new SupabaseSessionStore({ client: supabaseClient(url, keys.secretKey), schema: SCHEMA });
    await viaApi.set("schema-api", sessionFor(30, { via: "supabase-js" }));
    assert.equal((await viaApi.get("schema-pg")).via, "pg");
    assert.equal(await viaApi.length(), 2);
    const stored = await pool.query(`select sid from ${SCHEMA}.sessions order by sid`);
    assert.deepEqual(stored.rows.map((r) => r.sid), ["schema-api", "schema-pg"].map(keyOf).sort());

    // An API that does not expose the schema refuses, as PostgREST does: hence docs/production.md's "exposed schemas".
    const narrow = await api(c);
    await assert.rejects(
      new SupabaseSessionStore({ client: supabaseClient(narrow.url, keys.secretKey), schema: SCHEMA })
        .get("schema-pg"),
      /Invalid schema: session_store/,
    );

    // The function, told the schema, purges there.
    await functionServer(c, fnPort, { SUPABASE_URL: url, functionEnv: { SESSIONS_SCHEMA: SCHEMA } })();
    await pool.query(`insert into ${SCHEMA}.sessions (sid, data, expires_at)
      select ${keySql("'expired-' || n")}, '{}', now() - interval '1 minute' from generate_series(1, 3) n`);
    const purge = await runScript(c.project, "npx supabase-session-store purge", env);
    assert.equal(purge.code, 0, purge.out);
    assert.equal(JSON.parse(purge.out.slice(purge.out.indexOf("{"))).deleted, 3);
    for (const line of `$ npx supabase-session-store purge\n${tail(purge.out, 8)}`.split("\n")) t.diagnostic(line);

    // The cron job calls the schema's dispatch, which purges there.
    const job = await pool.query("select command from cron.job where jobname = 'cleanup-expired-sessions'");
    assert.deepEqual(job.rows, [{ command: `select ${SCHEMA}.dispatch_session_cleanup()` }]);
    await pool.query(
      `insert into ${SCHEMA}.sessions (sid, data, expires_at) values ($1, '{}', now() - interval '1 minute')`,
      [keyOf("expired-4")],
    );
    const dispatched = await pool.query(`select ${SCHEMA}.dispatch_session_cleanup() as outcome`);
    assert.equal(dispatched.rows[0].outcome.deleted, 1);
    assert.equal((await pool.query("select count(*)::int as n from public.sessions")).rows[0].n, 2);

    // Supabase's linter finds nothing above INFO in the schema either.
    const advisors = await runScript(
      c.project,
      `npx supabase db advisors --db-url "$SUPABASE_DB_URL" --type all --level info -o json`,
      env,
    );
    assert.equal(advisors.code, 0, advisors.out);
    const findings = JSON.parse(
      advisors.out.slice(advisors.out.indexOf("["), advisors.out.lastIndexOf("]") + 1) || "[]",
    );
    assert.deepEqual(findings.filter((f) => f.level !== "INFO").map((f) => `${f.name}: ${f.detail}`), []);

    // The installed doctor, told the schema, finds the install healthy, the cron job included.
    assert.equal((await runScript(c.project, "npm i -D pg", env)).code, 0);
    const doctor = async (args) => {
      const run = await runScript(
        c.project,
        `npx supabase-session-store doctor --db-url "$SUPABASE_DB_URL" ${args} --json`,
        env,
      );
      const doc = JSON.parse(run.stdout.slice(run.stdout.indexOf("{")));
      return { code: run.code, doc, byId: (id) => doc.checks.find((x) => x.id === id) };
    };
    const there = await doctor(`--schema ${SCHEMA}`);
    assert.deepEqual(there.doc.checks.filter((x) => x.status === "fail"), []);
    assert.equal(there.code, 0);
    assert.equal(there.byId("schedule.job.cleanup-expired-sessions").status, "pass");

    // Without --schema it looks in public, beside the app's own table: it says so, and alters nothing of the app's.
    const publicOnly = await doctor("");
    assert.equal(publicOnly.code, 1);
    const tables = publicOnly.byId("schema.tables");
    assert.equal(tables.status, "fail");
    assert.match(tables.summary, /public\.sessions is a table of your own, not this package's/);
    assert.match(tables.summary, /not installed in schema public; its functions are in schema session_store/);
    assert.deepEqual(tables.fixes, [`npx supabase-session-store doctor --schema ${SCHEMA}  # installed there`]);
    const otherJob = publicOnly.byId("schedule.job.cleanup-expired-sessions");
    assert.match(otherJob.summary, /runs schema session_store's cleanup/);
    assert.deepEqual(otherJob.fixes, [
      `npx supabase-session-store doctor --schema ${SCHEMA}  # the schema the job cleans`,
    ]);
    const fixes = publicOnly.doc.checks.flatMap((x) => x.fixes).join("\n");
    assert.doesNotMatch(fixes, /alter table|revoke|grant|public\.dispatch_session_cleanup|cron\.schedule/);
    assert.ok(
      !publicOnly.doc.checks.some((x) => /^(security|housekeeping)\./.test(x.id)),
      "nothing of the app's table is checked",
    );
  });
});
