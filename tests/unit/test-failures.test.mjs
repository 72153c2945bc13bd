// npm test's summary names what failed: the failing tests read back from each runner's own
// report (node --test's TAP, pg_prove --verbose, deno test), since a CI log may keep only
// its last lines.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { root } from "../../scripts/db.mjs";
import { denoFailures, nodeTapFailures, pgProveFailures } from "../../scripts/test-failures.mjs";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "session-store-failures-"));
after(() => fs.rmSync(work, { recursive: true, force: true }));

function runIn(cmd, args, env = {}) {
  // Without the parent's NODE_TEST_CONTEXT, a child node --test reports as it would in CI.
  const { NODE_TEST_CONTEXT: _, ...parent } = process.env;
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: work, env: { ...parent, ...env } }, (_error, stdout) => resolve(stdout));
  });
}

test("a node --test TAP report: each failing leaf, under its suites, with its file and first error lines", async () => {
  fs.writeFileSync(
    path.join(work, "sample.test.mjs"),
    `import assert from "node:assert/strict";
import { describe, test } from "node:test";
describe("outer", () => {
  test("passes", () => {});
  test("has a failing step", async (t) => {
    await t.test("inner", () => assert.equal(1, 2, "one is not two"));
  });
});
test("throws", () => { throw new Error("boom\\nsecond line"); });
test("fine", () => {});
`,
  );
  const tap = await runIn(process.execPath, ["--test", "--test-reporter=tap", "sample.test.mjs"]);
  const failures = nodeTapFailures(tap, work);
  assert.deepEqual(failures.map((f) => f.name), ["outer › has a failing step › inner", "throws"]);
  assert.match(failures[0].where, /^sample\.test\.mjs:6:\d+$/);
  assert.equal(failures[0].error[0], "one is not two");
  assert.deepEqual(failures[1].error, ["boom", "second line"]);
});

test("a passing TAP report names nothing", async () => {
  fs.writeFileSync(path.join(work, "ok.test.mjs"), `import { test } from "node:test";\ntest("ok", () => {});\n`);
  const tap = await runIn(process.execPath, ["--test", "--test-reporter=tap", "ok.test.mjs"]);
  assert.match(tap, /^# pass 1$/m);
  assert.deepEqual(nodeTapFailures(tap, work), []);
});

test("pg_prove --verbose output: each not ok with its file", () => {
  const out = [
    "supabase/tests/database/a.test.sql .. ",
    "1..2",
    "ok 1 - first",
    "not ok 2 - second",
    '# Failed test 2: "second"',
    "supabase/tests/database/b.test.sql ...... ",
    "1..1",
    "not ok 1 - third",
  ].join("\n");
  assert.deepEqual(pgProveFailures(out), [
    { name: "second", where: "supabase/tests/database/a.test.sql", error: [] },
    { name: "third", where: "supabase/tests/database/b.test.sql", error: [] },
  ]);
});

test("deno test output: the names in its FAILURES section, steps included", async () => {
  fs.writeFileSync(
    path.join(work, "sample_test.ts"),
    `Deno.test("good", () => {});
Deno.test("bad", () => { throw new Error("nope"); });
Deno.test("with steps", async (t) => { await t.step("inner", () => { throw new Error("x"); }); });
`,
  );
  const out = await runIn(path.join(root, "node_modules/.bin/deno"), ["test", "-A", "sample_test.ts"], {
    NO_COLOR: "1",
  });
  assert.deepEqual(
    denoFailures(out).map((f) => f.name),
    ["bad", "with steps ... inner"],
  );
  assert.deepEqual(denoFailures("ok | 3 passed | 0 failed"), []);
});
