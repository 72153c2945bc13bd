// `supabase-session-store migrations`: what it writes for public and for another
// schema, and what it refuses. (Pushing what it writes, beside an app's own
// public.sessions, is tests/node/consumer-path.test.mjs.)
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { root } from "../../scripts/db.mjs";

const bin = path.join(root, "bin/supabase-session-store.mjs");
const source = path.join(root, "supabase/migrations");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "session-store-migrations-"));
after(() => fs.rmSync(work, { recursive: true, force: true }));

function cli(args) {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: work },
      (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }),
    );
  });
}

test("without --schema it writes the shipped migrations unchanged, into a folder it creates", async () => {
  const run = await cli(["migrations", "--out", "a/supabase/migrations"]);
  assert.equal(run.code, 0, run.stderr);
  // The README's push needs --yes (it asks otherwise): the line a user copies must have it.
  assert.match(run.stdout, /apply them with: npx supabase db push --yes$/m);
  const written = fs.readdirSync(path.join(work, "a/supabase/migrations"));
  assert.deepEqual(written, fs.readdirSync(source).filter((f) => f.endsWith(".sql")).sort());
  for (const f of written) {
    assert.equal(
      fs.readFileSync(path.join(work, "a/supabase/migrations", f), "utf8"),
      fs.readFileSync(path.join(source, f), "utf8"),
    );
  }
  const again = await cli(["migrations", "--out", "a/supabase/migrations"]);
  assert.equal(again.code, 0, "identical files are left alone");
  assert.match(again.stdout, /unchanged/);
});

test("--schema qualifies every object with that schema and creates it first", async () => {
  const run = await cli(["migrations", "--schema", "session_store", "--out", "b"]);
  assert.equal(run.code, 0, run.stderr);
  const files = fs.readdirSync(path.join(work, "b")).sort();
  const all = files.map((f) => fs.readFileSync(path.join(work, "b", f), "utf8")).join("\n");
  assert.doesNotMatch(all, /\bpublic\./, "nothing left in public");
  assert.match(all, /create table session_store\.sessions/);
  assert.match(all, /'select session_store\.dispatch_session_cleanup\(\)'/);
  const first = fs.readFileSync(path.join(work, "b", files[0]), "utf8");
  assert.ok(first.indexOf("create schema if not exists session_store;") < first.indexOf("create table"));
  assert.match(first, /grant usage on schema session_store to service_role;/);
});

test("a bad or reserved schema name is a usage error (2); a differing existing file is a failure (1), nothing written", async () => {
  for (const name of ["Sessions", "a-b", "auth", "pg_sessions", "x; drop table y"]) {
    const run = await cli(["migrations", "--schema", name, "--out", "c"]);
    assert.equal(run.code, 2, name);
    assert.match(run.stderr, /--schema/);
  }
  assert.equal((await cli(["migrations"])).code, 2, "--out is required");
  const run = await cli(["migrations", "--schema", "other_schema", "--out", "b"]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /already exist with other content/);
  assert.doesNotMatch(
    fs.readFileSync(path.join(work, "b", fs.readdirSync(path.join(work, "b")).sort()[0]), "utf8"),
    /other_schema/,
  );
});
