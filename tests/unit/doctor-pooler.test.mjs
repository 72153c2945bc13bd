// The doctor's pooler verdict (src/cli/doctor-pooler.ts) for what a probe cannot show against the
// local stack: Supavisor's own URLs, session mode behind a proxy, a probe that could not run.
// tests/node/doctor.test.mjs runs the real probe through the stack's PgBouncer.
import assert from "node:assert/strict";
import { test } from "node:test";
import { poolerCheck, urlPort } from "../../dist/esm/cli/doctor-pooler.js";

const TRANSACTION = "postgresql://postgres.ref:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres";
const SESSION = "postgresql://postgres.ref:pw@aws-0-eu-central-1.pooler.supabase.com:5432/postgres";

test("Supavisor's port 6543 is a transaction pooler from the URL alone, probed or not", () => {
  for (const probe of [null, { clientPort: 6543, serverPort: 5432, sharedBackend: false }]) {
    const check = poolerCheck(TRANSACTION, probe);
    assert.equal(check.status, "pass");
    assert.match(check.summary, /^transaction pooler \(port 6543 .*\): the store sends unnamed statements$/);
  }
});

test("session mode behind a proxy is told apart from a direct connection, and keeps named statements", () => {
  const check = poolerCheck(SESSION, { clientPort: 5432, serverPort: 6000, sharedBackend: false });
  assert.equal(check.status, "pass");
  assert.match(check.summary, /^session mode or a proxy \(the server listens on 6000, not 5432/);
  assert.match(poolerCheck(SESSION, null).summary, /\(not probed\)/);
});

test("a shared server process is a transaction pooler whatever the URL says, unless the app turned named statements off", () => {
  const probe = { clientPort: 5432, serverPort: 5432, sharedBackend: true };
  assert.equal(poolerCheck(SESSION, probe).status, "warn");
  assert.equal(poolerCheck(SESSION, probe, false).status, "pass");
  assert.equal(poolerCheck(SESSION, probe, true).status, "warn");
});

test("the summary never repeats the URL (it holds the password)", () => {
  for (const url of [TRANSACTION, SESSION]) assert.doesNotMatch(poolerCheck(url, null).summary, /pw|postgres\.ref/);
  assert.equal(urlPort("postgresql://h/db"), 5432);
  assert.equal(urlPort("not a url"), null);
});
