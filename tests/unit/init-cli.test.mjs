// `supabase-session-store init` in a project folder: what it writes, under which versions,
// what a second run and a run after an upgrade do, and what it refuses. (Pushing what it
// writes with the real Supabase CLI is tests/node/init.test.mjs.)
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { root } from "../../scripts/db.mjs";
import { runCommand } from "../node/support/commands.mjs";
import { nextVersions, runInit } from "../../dist/esm/cli/init.js";

const bin = path.join(root, "bin/supabase-session-store.mjs");
const shipped = fs.readdirSync(path.join(root, "supabase/migrations")).filter((f) => f.endsWith(".sql")).sort();
const work = fs.mkdtempSync(path.join(os.tmpdir(), "session-store-init-"));
after(() => fs.rmSync(work, { recursive: true, force: true }));

/** A folder laid out as `supabase init` leaves it (a config.toml), with `migrations` of its own. */
function project(name, migrations = {}) {
  const dir = path.join(work, name);
  fs.mkdirSync(path.join(dir, "supabase/migrations"), { recursive: true });
  fs.writeFileSync(path.join(dir, "supabase/config.toml"), 'project_id = "app"\n\n[api]\nenabled = true\n');
  for (const [file, text] of Object.entries(migrations)) {
    fs.writeFileSync(path.join(dir, "supabase/migrations", file), text);
  }
  return dir;
}

const init = (dir, args = []) => runCommand(process.execPath, [bin, "init", ...args], { cwd: dir });
const migrationsOf = (dir) => fs.readdirSync(path.join(dir, "supabase/migrations")).sort();

/** Every file below `dir` with its text: what a run changed, if anything. */
function snapshot(dir) {
  return fs.readdirSync(dir, { recursive: true }).sort()
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]);
}

test("init writes the migrations after the project's newest one, the function and the config.toml block", async () => {
  const own = "29990101000000_app_tables.sql";
  const dir = project("fresh", { [own]: "create table public.app_items (id bigint primary key);\n" });
  const run = await init(dir);
  assert.equal(run.code, 0, run.stderr);

  const files = migrationsOf(dir);
  assert.equal(files[0], own, "the project's own migration is untouched, and first");
  const written = files.slice(1);
  assert.deepEqual(written.map((f) => f.replace(/^\d+_/, "")), shipped.map((f) => f.replace(/^\d+_/, "")));
  assert.deepEqual(
    written.map((f) => f.slice(0, 14)),
    shipped.map((_, i) => String(29990101000001n + BigInt(i))),
    "one second after the project's newest, then one second apart",
  );
  for (const [i, f] of written.entries()) {
    assert.equal(
      fs.readFileSync(path.join(dir, "supabase/migrations", f), "utf8"),
      fs.readFileSync(path.join(root, "supabase/migrations", shipped[i]), "utf8"),
      `${f} is the shipped ${shipped[i]}`,
    );
  }
  for (const f of fs.readdirSync(path.join(root, "functions/cleanup-sessions"))) {
    assert.equal(
      fs.readFileSync(path.join(dir, "supabase/functions/cleanup-sessions", f), "utf8"),
      fs.readFileSync(path.join(root, "functions/cleanup-sessions", f), "utf8"),
    );
  }
  const config = fs.readFileSync(path.join(dir, "supabase/config.toml"), "utf8");
  assert.match(config, /^\[api\]\nenabled = true\n/m, "the project's config is kept");
  assert.match(config, /\n\[functions\.cleanup-sessions\]\n(#.*\n)*verify_jwt = false\n$/);
  assert.match(run.stdout, /npx supabase db push --yes/);
});

test("a second run changes nothing and says so", async () => {
  const dir = project("twice");
  assert.equal((await init(dir)).code, 0);
  const before = snapshot(dir);
  const again = await init(dir);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /^nothing to do: /);
  assert.deepEqual(snapshot(dir), before);
});

test("--dry-run lists what it would write and writes nothing", async () => {
  const dir = project("dry");
  const before = snapshot(dir);
  const run = await init(dir, ["--dry-run"]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.match(/^would write supabase\/migrations\/\d{14}_\w+\.sql /gm)?.length, shipped.length);
  assert.match(run.stdout, /^would write supabase\/functions\/cleanup-sessions\/index\.ts$/m);
  assert.match(run.stdout, /^would append to supabase\/config\.toml /m);
  assert.match(run.stdout, /dry run: nothing written\n$/);
  assert.deepEqual(snapshot(dir), before);
});

test("after an upgrade only the package's new migration is added, after the project's newest", () => {
  const dir = project("upgrade");
  const now = new Date("2026-12-03T10:00:00Z");
  const io = { stdout: () => {}, stderr: (s) => assert.fail(s), env: {} };
  const sources = {
    migrations: path.join(root, "supabase/migrations"),
    functionDir: path.join(root, "functions/cleanup-sessions"),
  };
  assert.equal(runInit([`--dir=${dir}`], io, sources, now), 0);
  const first = migrationsOf(dir);
  assert.equal(first[0], "20261203100000_sessions_table.sql", "a new project's migrations take the time of the run");

  // The next release of the package: the same five files and one more.
  const next = path.join(work, "next-release-migrations");
  fs.cpSync(sources.migrations, next, { recursive: true });
  fs.writeFileSync(path.join(next, "20270101000000_session_notes.sql"), "select 1;\n");
  fs.writeFileSync(path.join(dir, "supabase/migrations/20261203120000_app_later.sql"), "select 2;\n");
  const out = [];
  const later = new Date("2026-12-03T11:00:00Z");
  assert.equal(
    runInit([`--dir=${dir}`], { ...io, stdout: (s) => out.push(s) }, { ...sources, migrations: next }, later),
    0,
  );
  assert.deepEqual(
    migrationsOf(dir),
    [...first, "20261203120000_app_later.sql", "20261203120001_session_notes.sql"].sort(),
  );
  assert.match(
    out[0],
    /^wrote supabase\/migrations\/20261203120001_session_notes\.sql \(20270101000000_session_notes\.sql\)\n$/,
  );
  assert.equal(out.length, 2, "the new migration, then the next steps: nothing else");
});

test("--schema writes the migrations for that schema; a project holding them for another schema is refused, nothing written", async () => {
  const dir = project("schema");
  const run = await init(dir, ["--schema", "session_store"]);
  assert.equal(run.code, 0, run.stderr);
  const text = migrationsOf(dir).map((f) => fs.readFileSync(path.join(dir, "supabase/migrations", f), "utf8")).join(
    "\n",
  );
  assert.match(text, /create schema if not exists session_store;/);
  assert.doesNotMatch(text, /\bpublic\./);
  assert.match(run.stdout, /npx supabase secrets set SESSIONS_SCHEMA=session_store/);
  assert.equal((await init(dir, ["--schema", "session_store"])).stdout.startsWith("nothing to do"), true);

  const before = snapshot(dir);
  const other = await init(dir, ["--schema", "other_sessions"]);
  assert.equal(other.code, 1);
  assert.match(
    other.stderr,
    /is not this package's sessions_table migration for schema other_sessions.*nothing written/,
  );
  assert.deepEqual(snapshot(dir), before);
  assert.equal((await init(dir, ["--schema", "auth"])).code, 2, "a reserved schema is a usage error");
});

test("outside a Supabase project init refuses with exit 2 and names what to do", async () => {
  const dir = path.join(work, "not-a-project");
  fs.mkdirSync(dir);
  const run = await init(dir);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /is not a Supabase project \(it has no supabase\/config\.toml\).*npx supabase init/);
  assert.deepEqual(fs.readdirSync(dir), [], "nothing written");
});

test("a config.toml declaring the function without verify_jwt = false is kept, with a warning", async () => {
  const dir = project("jwt");
  fs.appendFileSync(
    path.join(dir, "supabase/config.toml"),
    "\n[functions.cleanup-sessions]\nenabled = true\n\n[db]\nport = 1\n",
  );
  const before = fs.readFileSync(path.join(dir, "supabase/config.toml"), "utf8");
  const run = await init(dir);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(fs.readFileSync(path.join(dir, "supabase/config.toml"), "utf8"), before);
  assert.match(run.stderr, /declares \[functions\.cleanup-sessions\] without verify_jwt = false/);
});

test("versions: after the newest, never before now, one second apart across minutes and days", () => {
  const now = new Date("2026-12-31T23:59:58Z");
  assert.deepEqual(nextVersions([], 3, now), ["20261231235958", "20261231235959", "20270101000000"]);
  assert.deepEqual(nextVersions(["20261231235959", "20200101000000"], 2, now), ["20270101000000", "20270101000001"]);
  assert.deepEqual(nextVersions(["1", "0002"], 1, now), ["20261231235958"]);
  assert.deepEqual(nextVersions(["99999999999999"], 1, now), ["100000000000000"]);
});
