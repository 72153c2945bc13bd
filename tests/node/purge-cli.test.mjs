// `npx supabase-session-store purge` (and `npm run purge`, which runs the same bin) as
// an operator runs it: a real process calling the stack's cleanup-sessions function at
// SUPABASE_URL/functions/v1. Also the command's dispatcher: help and exit codes.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { freePort } from "../../scripts/stack.mjs";
import { requireEnv } from "./support/env.mjs";
import { keySql } from "./support/keys.mjs";

const { DATABASE_URL, SUPABASE_URL, SUPABASE_SECRET_KEY: SECRET_KEY, SUPABASE_SERVICE_ROLE_KEY: SERVICE_ROLE_KEY } =
  requireEnv("DATABASE_URL", "SUPABASE_URL", "SUPABASE_SECRET_KEY", "SUPABASE_SERVICE_ROLE_KEY");

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/supabase-session-store.mjs");
const PREFIX = "purge-cli-test-";
const db = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
after(() => db.end());

/** Runs the command with only the given environment (plus PATH); resolves with its exit code and output. */
function cli(args, env = {}) {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { PATH: process.env.PATH, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }),
    );
  });
}

const purge = (args, env) => cli(["purge", ...args], env);

function assertNoKey({ stdout, stderr }) {
  for (const key of [SECRET_KEY, SERVICE_ROLE_KEY, "sb_secret_wrong-key-0123456789"]) {
    assert.ok(!stdout.includes(key) && !stderr.includes(key), "the output contains a key");
  }
}

/**
 * Exactly `expired` purgeable sessions of this file (everything else expired is purged
 * first) and `live` live ones. Each row's sid is a key, as the store writes it; its name
 * and this file's prefix are in its data, where `remaining()` finds them.
 */
async function seed(expired, live) {
  await db.query("delete from public.sessions where data->>'test' = $1", [PREFIX]);
  while ((await db.query("select public.cleanup_expired_sessions(100000) as n")).rows[0].n === 100000);
  await db.query(
    `insert into public.sessions (sid, data, expires_at)
     select ${keySql("$1 || name")}, jsonb_build_object('test', $1::text, 'name', name), expires_at
       from (select 'expired-' || n, now() - interval '1 minute' from generate_series(1, $2::int) n
             union all
             select 'live-' || n, now() + interval '1 hour' from generate_series(1, $3::int) n) r(name, expires_at)`,
    [PREFIX, expired, live],
  );
}

/** The names of this file's sessions still in the table, in order. */
async function remaining() {
  const { rows } = await db.query(
    "select data->>'name' as name from public.sessions where data->>'test' = $1 order by 1",
    [
      PREFIX,
    ],
  );
  return rows.map((r) => r.name);
}

test("purges expired sessions with URL and key from the environment and prints the JSON result", async () => {
  await seed(6, 2);
  const run = await purge(["--batch-size", "4"], { SUPABASE_URL, SUPABASE_SECRET_KEY: SECRET_KEY });
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout);
  assert.equal(result.deleted, 6);
  assert.equal(result.batches, 2);
  assert.equal(result.more, false);
  assert.equal(result.dryRun, false);
  assert.deepEqual(await remaining(), ["live-1", "live-2"]);
  assertNoKey(run);
});

test("--dry-run counts and deletes nothing; --url and --key work without any environment", async () => {
  await seed(3, 1);
  const run = await purge(["--url", `${SUPABASE_URL}/`, "--key", SERVICE_ROLE_KEY, "--dry-run"]);
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout);
  assert.equal(result.dryRun, true);
  assert.equal(result.expired, 3);
  assert.equal(result.deleted, 0);
  assert.equal((await remaining()).length, 4);
  assertNoKey(run);
});

test("the legacy service role key from the environment is used when there is no secret key", async () => {
  await seed(2, 0);
  const run = await purge([], { SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY: SERVICE_ROLE_KEY });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(JSON.parse(run.stdout).deleted, 2);
});

test("a rejected key exits 1 with the HTTP status, and never prints the key", async () => {
  await seed(2, 0);
  const run = await purge([], { SUPABASE_URL, SUPABASE_SECRET_KEY: "sb_secret_wrong-key-0123456789" });
  assert.equal(run.code, 1);
  assert.equal(run.stdout, "");
  assert.match(run.stderr, /401/);
  assertNoKey(run);
  assert.equal((await remaining()).length, 2);
});

test("the bounds the function accepts are the command's: the largest values pass, one past them is exit 2", async () => {
  const run = await purge(["--batch-size", "100000", "--time-budget-ms", "120000", "--dry-run"], {
    SUPABASE_URL,
    SUPABASE_SECRET_KEY: SECRET_KEY,
  });
  assert.equal(run.code, 0, run.stderr);
  assert.equal((await remaining()).length, 2, "a dry run deletes nothing");
  for (const args of [["--batch-size", "100001"], ["--time-budget-ms", "120001"]]) {
    const over = await purge(args, { SUPABASE_URL, SUPABASE_SECRET_KEY: SECRET_KEY });
    assert.equal(over.code, 2, `${args}: ${over.stderr}`);
    assert.match(over.stderr, new RegExp(`${args[0]} must be an integer from \\d+ to \\d+`));
  }
});

test("an unreachable URL exits 1 and never prints the key", async () => {
  const port = await freePort();
  const run = await purge([], { SUPABASE_URL: `http://127.0.0.1:${port}`, SUPABASE_SECRET_KEY: SECRET_KEY });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /could not reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  assertNoKey(run);
});

test("missing URL or key, or a bad flag: usage error, exit 2, nothing sent", async () => {
  for (
    const [args, env, reason] of [
      [[], { SUPABASE_SECRET_KEY: SECRET_KEY }, /no project URL/],
      [[], { SUPABASE_URL }, /no key/],
      [["--batch-size", "ten"], { SUPABASE_URL, SUPABASE_SECRET_KEY: SECRET_KEY }, /--batch-size must be/],
      // --help promises 2 for usage errors: 0 rows per batch is one, not the function's 400 (exit 1).
      [
        ["--batch-size", "0"],
        { SUPABASE_URL, SUPABASE_SECRET_KEY: SECRET_KEY },
        /--batch-size must be an integer from 1/,
      ],
      [["--bogus"], { SUPABASE_URL, SUPABASE_SECRET_KEY: SECRET_KEY }, /Unknown option/],
    ]
  ) {
    const run = await purge(args, env);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, reason);
  }
});

test("--help lists the commands and exits 0; no command or an unknown one is a usage error, exit 2", async () => {
  const help = await cli(["--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^usage: supabase-session-store <command>/);
  for (const command of ["purge", "migrations"]) assert.match(help.stdout, new RegExp(`^  ${command} `, "m"));
  const purgeHelp = await purge(["--help"]);
  assert.equal(purgeHelp.code, 0);
  assert.match(purgeHelp.stdout, /--dry-run/);
  const none = await cli([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^usage:/);
  const unknown = await cli(["purg"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "purg"/);
});

test("npm run purge runs the same command", async () => {
  await seed(1, 0);
  const run = await new Promise((resolve) => {
    execFile("npm", ["run", "--silent", "purge", "--", "--dry-run"], {
      cwd: path.dirname(path.dirname(bin)),
      env: { PATH: process.env.PATH, SUPABASE_URL, SUPABASE_SECRET_KEY: SECRET_KEY },
    }, (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
  });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(JSON.parse(run.stdout).expired, 1);
  assertNoKey(run);
});
