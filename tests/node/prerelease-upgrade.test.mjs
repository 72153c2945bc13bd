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
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { catalogFingerprint } from "./support/catalog.mjs";
import { runCommand } from "./support/commands.mjs";
import { requireEnv } from "./support/env.mjs";
import { createDatabase, databaseUrl, dropDatabase, withClient as withDatabaseClient } from "./support/scratch-db.mjs";

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

const oldDir = project(PRERELEASE);
const newDir = project(BASELINE);

before(async () => {
  for (const db of ["prerelease_upgrade_old", "prerelease_upgrade_new"]) {
    await createDatabase(admin, db);
  }
  const built = await push(oldDir, "prerelease_upgrade_old");
  assert.equal(built.code, 0, built.out);
  await withClient(
    "prerelease_upgrade_old",
    (client) =>
      client.query(`insert into public.sessions (sid, data, expires_at)
      values ('prerelease-live', '{"cookie": {}, "n": 1}', now() + interval '1 hour')`),
  );
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
  const { rows } = await withClient(
    "prerelease_upgrade_old",
    (client) => client.query("select data->>'n' as n from public.session_get_one('prerelease-live')"),
  );
  assert.deepEqual(rows, [{ n: "1" }]);
  // The doctor now finds only the schedule missing, which these scratch databases leave out.
  const check = await doctorMigrations("prerelease_upgrade_old");
  assert.doesNotMatch(check.summary, /pre-release/);
  assert.match(check.summary, /4 of 5 applied; missing: 20261201000400_schedule_cleanup\.sql$/);
});
