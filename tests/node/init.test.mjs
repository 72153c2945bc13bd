// `supabase-session-store init` in a project made by the real `supabase init`, pushed by the
// real `supabase db push` to a new database that already holds the project's own, newer
// migration: what init wrote is accepted (a copy under the shipped versions is refused),
// the doctor finds every migration applied, a second run and push change nothing, and an
// upgrade adds only its new migration.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { root } from "../../scripts/db.mjs";
import { FUNCTION_DIR, MIGRATIONS_DIR } from "../../dist/esm/cli/package-files.js";
import { runInit } from "../../dist/esm/cli/init.js";
import { runCommand } from "./support/commands.mjs";
import { scratchCluster } from "./support/scratch-db.mjs";

const supabase = path.join(root, "node_modules/.bin/supabase");
const bin = path.join(root, "bin/supabase-session-store.mjs");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "session-store-init-push-"));
const project = path.join(work, "app");
const env = { ...process.env, SUPABASE_TELEMETRY_DISABLED: "1" };
// The project's own migration, newer than every version this package ships.
const OWN = "20990101000000_app_items.sql";
let cluster;

const cli = (cwd, args) => runCommand(supabase, args, { cwd, env });
const push = (cwd = project) => cli(cwd, ["db", "push", "--db-url", cluster.cliUrl, "--yes"]);
const applied = (out) => [...out.matchAll(/Applying migration (\S+\.sql)/g)].map((m) => m[1]);

before(async () => {
  cluster = await scratchCluster("init-push");
  fs.mkdirSync(project);
  const made = await cli(project, ["init"]);
  assert.equal(made.code, 0, made.out);
  fs.mkdirSync(path.join(project, "supabase/migrations"), { recursive: true });
  fs.writeFileSync(
    path.join(project, "supabase/migrations", OWN),
    "create table public.app_items (id bigint primary key);\nalter table public.app_items enable row level security;\n",
  );
  const own = await push();
  assert.equal(own.code, 0, own.out);
  assert.deepEqual(applied(own.out), [OWN]);
});
after(() => {
  cluster?.destroy();
  fs.rmSync(work, { recursive: true, force: true });
});

test("the shipped files under their own versions are refused by db push: they are older than the project's newest", async () => {
  const copy = path.join(work, "copied");
  fs.cpSync(path.join(project, "supabase"), path.join(copy, "supabase"), { recursive: true });
  fs.cpSync(MIGRATIONS_DIR, path.join(copy, "supabase/migrations"), { recursive: true });
  const refused = await push(copy);
  assert.notEqual(refused.code, 0, refused.out);
  assert.match(refused.out, /before the last migration on remote database/);
});

test("init, then db push: every migration applied after the project's own, and the doctor agrees", async () => {
  const run = await runCommand(process.execPath, [bin, "init"], { cwd: project, env });
  assert.equal(run.code, 0, run.stderr);
  const pushed = await push();
  assert.equal(pushed.code, 0, pushed.out);
  const names = applied(pushed.out);
  assert.deepEqual(
    names.map((f) => f.replace(/^\d+_/, "")),
    fs.readdirSync(MIGRATIONS_DIR).sort().map((f) => f.replace(/^\d+_/, "")),
  );
  assert.ok(names.every((f) => f > OWN), `${names.join(", ")} all come after ${OWN}`);

  const doctor = await runCommand(process.execPath, [bin, "doctor", "--db-url", cluster.url, "--json"], { env });
  const checks = JSON.parse(doctor.stdout).checks;
  assert.equal(checks.find((c) => c.id === "migrations").status, "pass", doctor.stdout);
  assert.deepEqual(checks.filter((c) => c.id.startsWith("schema") && c.status !== "pass"), []);
});

test("a second init has nothing to do and the next push is a no-op", async () => {
  const again = await runCommand(process.execPath, [bin, "init"], { cwd: project, env });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /^nothing to do: /);
  const noop = await push();
  assert.equal(noop.code, 0, noop.out);
  assert.match(noop.out, /up to date/i);
  assert.deepEqual(applied(noop.out), []);
});

test("init of a newer release adds only its new migration, and db push applies only that one", async () => {
  const next = path.join(work, "next-release-migrations");
  fs.cpSync(MIGRATIONS_DIR, next, { recursive: true });
  fs.writeFileSync(
    path.join(next, "20270101000000_release_probe.sql"),
    "create function public.session_release_probe() returns integer language sql set search_path = '' as 'select 1';\n" +
      "revoke all on function public.session_release_probe() from public, anon, authenticated;\n",
  );
  const out = [];
  const io = { stdout: (s) => out.push(s), stderr: (s) => assert.fail(s), env: {} };
  assert.equal(runInit([`--dir=${project}`], io, { migrations: next, functionDir: FUNCTION_DIR }), 0);
  assert.match(out[0], /^wrote supabase\/migrations\/\d{14}_release_probe\.sql /);
  const pushed = await push();
  assert.equal(pushed.code, 0, pushed.out);
  assert.deepEqual(applied(pushed.out).map((f) => f.replace(/^\d+_/, "")), ["release_probe.sql"]);
});
