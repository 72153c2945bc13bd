// What the doctor expects of an install, read from the shipped migrations (src/cli/doctor-expectations.ts),
// in schema public and, as `init --schema` writes them, in another schema. tests/node/consumer-path.test.mjs
// runs the doctor on a real install into another schema.
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { readExpectations } from "../../dist/esm/cli/doctor-expectations.js";

const migrations = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../supabase/migrations");

test("in another schema the same objects are expected, and the jobs' commands and fixes name that schema", () => {
  const inPublic = readExpectations(migrations);
  const inOther = readExpectations(migrations, "session_store");
  for (const kind of ["tables", "indexes", "functions", "serviceRoleExecute", "serviceRoleTable", "columns"]) {
    assert.deepEqual([...inOther[kind]], [...inPublic[kind]], kind);
  }
  assert.ok(inPublic.functions.size > 10 && inPublic.serviceRoleExecute.size > 10, "the functions were read");
  const cleanup = (e) => e.jobs.find((j) => j.cleanup);
  assert.equal(cleanup(inPublic).commandSql, "'select public.dispatch_session_cleanup()'");
  assert.equal(cleanup(inOther).commandSql, "'select session_store.dispatch_session_cleanup()'");
  assert.match(cleanup(inOther).statement, /^select cron\.schedule\('cleanup-expired-sessions', '17 \* \* \* \*', /);
  assert.doesNotMatch(JSON.stringify(inOther.jobs), /public\./, "no fix of another schema's install names public");
});

test("the table's columns are read from its create table, so that a table of the user's own is told apart", () => {
  assert.deepEqual(readExpectations(migrations).columns.get("sessions"), [
    "sid",
    "data",
    "expires_at",
    "created_at",
    "updated_at",
    "destroyed_at",
  ]);
});
