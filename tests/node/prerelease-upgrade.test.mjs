// A database provisioned from this repository before the 0.1.0 baseline was squashed (nine
// migration files; tests/fixtures/prerelease-0.1.0-migrations holds them as they were)
// meets the five baseline files, which keep the first five versions' names. `supabase db
// push` refuses it, naming the versions the baseline folded in; after the repair that the
// CLI's message suggests (and the operating docs give), the push accepts the baseline and
// the database defines exactly what a database built from the baseline does, its sessions
// kept. Each side is a scratch database on the test cluster; both leave out the schedule
// migration, because pg_cron lives only in the stack's own database (the baseline's
// schedule file differs from the pre-release one only by dispatch_session_cleanup's comment,
// which 20261203000200 added there).
//
// Pre-release databases also hold session ids in plain text: the push then runs the
// conversion (20261203100000), after which every cookie issued before still finds its
// session through the store, a logged-out session stays logged out, the account page's
// handles and last-active times are what they were, and no row holds an id.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { SupabaseSessionStore } from "../../dist/esm/index.js";
import { catalogFingerprint } from "./support/catalog.mjs";
import { runCommand } from "./support/commands.mjs";
import { requireEnv } from "./support/env.mjs";
import { createDatabase, databaseUrl, dropDatabase, withClient as withDatabaseClient } from "./support/scratch-db.mjs";
import { keyOf } from "./support/keys.mjs";

const { DATABASE_URL } = requireEnv("DATABASE_URL");
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "../..");
const supabase = path.join(root, "node_modules/.bin/supabase");
const PRERELEASE = path.join(root, "tests/fixtures/prerelease-0.1.0-migrations");
const BASELINE = path.join(root, "supabase/migrations");
const SCHEDULE = /_schedule_cleanup(_comment)?\.sql$/;
/** The pre-release versions the baseline folded in (the schedule's comment one aside, see above). */
const FOLDED = ["20261202000000", "20261203000000", "20261203000100"];

const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
const projects = [];
after(async () => {
  for (const db of ["prerelease_upgrade_old", "prerelease_upgrade_new"]) {
    await dropDatabase(admin, db);
  }
  await admin.end();
  for (const dir of projects) fs.rmSync(dir, { recursive: true, force: true });
});

function urlOf(database, { forCli = false } = {}) {
  return databaseUrl(DATABASE_URL, database, { forCli });
}

/** A Supabase project folder whose migrations are `from`'s, the schedule left out. */
function project(from) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prerelease-upgrade-"));
  projects.push(dir);
  setMigrations(dir, from);
  return dir;
}

function setMigrations(dir, from) {
  const target = path.join(dir, "supabase/migrations");
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(target, { recursive: true });
  for (const f of fs.readdirSync(from).filter((f) => f.endsWith(".sql") && !SCHEDULE.test(f))) {
    fs.copyFileSync(path.join(from, f), path.join(target, f));
  }
}

function cli(dir, args) {
  return runCommand(supabase, args, { cwd: dir, env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: "1" } });
}

const push = (dir, database) => cli(dir, ["db", "push", "--db-url", urlOf(database, { forCli: true }), "--yes"]);

function withClient(database, fn) {
  return withDatabaseClient(urlOf(database), fn);
}

/** Sessions as the pre-release store wrote them: plain ids (one as express-session makes them). */
const LIVE = ["prerelease-live", "Yq3vXoN5x8m_4T2cLp9aB0rKd6eWzJ1s"];
const ENDED = "prerelease-ended";
const USER = "prerelease-user";

/** What the pre-release database listed and held before the push (set by the upgrade test). */
let prerelease;

const oldDir = project(PRERELEASE);
const newDir = project(BASELINE);

before(async () => {
  for (const db of ["prerelease_upgrade_old", "prerelease_upgrade_new"]) {
    await createDatabase(admin, db);
  }
  const built = await push(oldDir, "prerelease_upgrade_old");
  assert.equal(built.code, 0, built.out);
  await withClient("prerelease_upgrade_old", async (client) => {
    await client.query(
      `insert into public.sessions (sid, data, expires_at, created_at, updated_at)
       select sid, jsonb_build_object('cookie', '{}'::jsonb, 'n', n, 'passport', jsonb_build_object('user', $2::text)),
              now() + interval '1 hour', now() - interval '2 days', now() - make_interval(hours => n::int)
         from unnest($1::text[]) with ordinality u(sid, n)`,
      [LIVE, USER],
    );
    // A logged-out session: the tombstone session_destroy leaves.
    await client.query(
      `insert into public.sessions (sid, data, expires_at) values ($1, '{"cookie": {}, "passport": {"user": "x"}}', now() + interval '1 hour')`,
      [ENDED],
    );
    await client.query("select public.session_destroy($1)", [ENDED]);
  });
  const fresh = await push(newDir, "prerelease_upgrade_new");
  assert.equal(fresh.code, 0, fresh.out);
});

/** The doctor's migrations check of `database`. */
async function doctorMigrations(database) {
  const { stdout } = await runCommand(process.execPath, [
    path.join(root, "bin/supabase-session-store.mjs"),
    "doctor",
    "--db-url",
    urlOf(database),
    "--json",
  ], { env: { PATH: process.env.PATH } });
  return JSON.parse(stdout).checks.find((c) => c.id === "migrations");
}

test("db push of the baseline to a pre-release database refuses, naming the versions to repair; so does the doctor", async () => {
  setMigrations(oldDir, BASELINE);
  const refused = await push(oldDir, "prerelease_upgrade_old");
  assert.notEqual(refused.code, 0, refused.out);
  assert.match(refused.out, /Remote migration versions not found in local migrations directory/);
  assert.match(refused.out, new RegExp(`migration repair --status reverted ${FOLDED.join(" ")}`));
  const check = await doctorMigrations("prerelease_upgrade_old");
  assert.equal(check.status, "fail", JSON.stringify(check));
  assert.match(check.fixes.join("\n"), new RegExp(`supabase migration repair --status reverted ${FOLDED.join(" ")}`));
});

test("after the repair the baseline is accepted and the pre-release database defines what a new one does, sessions kept", async () => {
  setMigrations(oldDir, BASELINE);
  prerelease = await withClient("prerelease_upgrade_old", async (client) => ({
    listed: (await client.query("select handle, updated_at from public.session_list_user($1) order by handle", [USER]))
      .rows,
    ended: (await client.query("select destroyed_at from public.sessions where sid = $1", [ENDED])).rows[0],
  }));
  assert.equal(prerelease.listed.length, LIVE.length);
  const repaired = await cli(oldDir, [
    "migration",
    "repair",
    "--status",
    "reverted",
    ...FOLDED,
    "--db-url",
    urlOf("prerelease_upgrade_old", { forCli: true }),
  ]);
  assert.equal(repaired.code, 0, repaired.out);
  const pushed = await push(oldDir, "prerelease_upgrade_old");
  assert.equal(pushed.code, 0, pushed.out);
  const upgraded = await withClient("prerelease_upgrade_old", catalogFingerprint);
  const fresh = await withClient("prerelease_upgrade_new", catalogFingerprint);
  assert.ok(fresh.length > 30, `a fingerprint of ${fresh.length} lines is too short to prove anything`);
  assert.deepEqual(upgraded, fresh);
  // The doctor now finds only the schedule missing, which these scratch databases leave out.
  const check = await doctorMigrations("prerelease_upgrade_old");
  assert.doesNotMatch(check.summary, /pre-release/);
  const shipped = fs.readdirSync(BASELINE).filter((f) => f.endsWith(".sql")).length;
  assert.equal(check.summary, `${shipped - 1} of ${shipped} applied; missing: 20261201000400_schedule_cleanup.sql`);
});

test("the conversion keeps every pre-release session: old cookies log in, logouts stick, handles and activity stay", async () => {
  const pool = new pg.Pool({ connectionString: urlOf("prerelease_upgrade_old"), max: 2 });
  const store = new SupabaseSessionStore({ pool });
  try {
    for (const [i, sid] of LIVE.entries()) {
      assert.equal((await store.get(sid))?.n, i + 1, `the cookie of ${sid}, issued before the upgrade, still finds it`);
    }
    assert.equal(await store.get(ENDED), null, "a logged-out session is still logged out");
    await store.set(ENDED, { cookie: {}, passport: { user: "x" }, revived: true });
    assert.equal(
      await store.get(ENDED),
      null,
      "…and a late write cannot bring it back: its tombstone kept its finality",
    );

    const converted = await withClient("prerelease_upgrade_old", async (client) => ({
      listed:
        (await client.query("select handle, updated_at from public.session_list_user($1) order by handle", [USER]))
          .rows,
      plain: (await client.query("select sid from public.sessions where sid = any($1)", [[...LIVE, ENDED]])).rows,
      keyed: (await client.query("select count(*)::int as n from public.sessions where sid = any($1)", [
        [...LIVE, ENDED].map(keyOf),
      ])).rows[0].n,
    }));
    assert.deepEqual(
      converted.listed,
      prerelease.listed,
      "the account page lists the same handles, last active as before",
    );
    assert.deepEqual(converted.listed.map((s) => s.handle).sort(), LIVE.map((sid) => store.sessionHandle(sid)).sort());
    assert.deepEqual(converted.plain, [], "no row holds a session id any more");
    assert.equal(converted.keyed, LIVE.length + 1, "each is stored under its key, the tombstone too");
    assert.ok(prerelease.ended.destroyed_at, "the logged-out session was a tombstone before");

    // Idempotent: the conversion run a second time (a replayed migration) changes nothing.
    const conversion = fs.readFileSync(path.join(BASELINE, "20261203100000_hash_prerelease_session_ids.sql"), "utf8");
    const rows = (client) =>
      client.query("select sid, data, updated_at, destroyed_at from public.sessions order by sid");
    const once = await withClient("prerelease_upgrade_old", rows);
    await withClient("prerelease_upgrade_old", (client) => client.query(conversion));
    assert.deepEqual((await withClient("prerelease_upgrade_old", rows)).rows, once.rows);
  } finally {
    await store.close();
    await pool.end();
  }
});
