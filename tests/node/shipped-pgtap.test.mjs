// The pgTAP tests this package ships (supabase/tests/database/) run in users' projects,
// under `supabase test db`, beside the project's own objects in public. They must test
// only what the package installs: here a project's own function and table that break
// every rule the package keeps for its own (no pinned search_path, SECURITY DEFINER, no
// comment, callable and readable by the API roles, a name with "session" in it) sit in
// the test database while pg_prove runs the shipped files, and every test still passes.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { requireEnv } from "./support/env.mjs";

const { DATABASE_URL } = requireEnv("DATABASE_URL");
const testsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../supabase/tests/database");
const files = fs.readdirSync(testsDir).filter((f) => f.endsWith(".test.sql")).sort().map((f) => path.join(testsDir, f));

const PROJECT_OBJECTS = `
  create function public.session_summary_of_mine() returns integer
    language sql stable security definer as 'select 1';
  grant execute on function public.session_summary_of_mine() to anon, authenticated;
  create table public.sessions_report_of_mine (id integer);
  grant select, insert on public.sessions_report_of_mine to anon, authenticated;`;
const DROP_PROJECT_OBJECTS = `
  drop function if exists public.session_summary_of_mine();
  drop table if exists public.sessions_report_of_mine;`;

function pgProve() {
  return new Promise((resolve) => {
    execFile(
      "pg_prove",
      ["-d", DATABASE_URL, ...files],
      (error, stdout, stderr) => resolve({ code: error ? error.code : 0, out: `${stdout}${stderr}` }),
    );
  });
}

test("the shipped pgTAP tests pass in a project with functions and tables of its own in public", async () => {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(PROJECT_OBJECTS);
    const run = await pgProve();
    assert.equal(run.code, 0, run.out);
    assert.match(run.out, /All tests successful/);
  } finally {
    await client.query(DROP_PROJECT_OBJECTS);
    await client.end();
  }
});
