#!/usr/bin/env node
// `npm test`: every suite, from a clean test database, with one summary line.
// `npm run test:unit` (`--unit`): the unit tier alone, in seconds, with no database.
//
//   unit tier (Node and Deno unit tests, no database) · type check · lint · build · publint,
//   arethetypeswrong, npm publish --dry-run · Node runtimes (22, 24, 26 from npm) · local stack as a
//   new hosted project (fresh cluster, migrations pushed as postgres by the Supabase CLI)
//   · second push is a no-op · Supabase advisors · pgTAP (pg_prove) · Node suites on
//   each runtime (the e2e suite on Express 5 and 4) · the other Node tests once · Deno
//   tests (the edge runtime's Deno 2.1) · stop · the same database suites (advisors,
//   pgTAP, privilege probe) on a second cluster with the old default privileges · stop
//
// Each suite's own runner reports its tests; this script adds them up, prints a line
// per suite and per Node runtime, and ends with "N passed, N failed". The test clusters
// live in their own folders and ports so that a running `npm start` is never disturbed.
import fs from "node:fs";
import path from "node:path";
import * as db from "./db.mjs";
import { startStack } from "./stack.mjs";
import { onSupportedNode } from "./supported-node.mjs";
import {
  advisors,
  bin,
  check,
  denoTests,
  listFiles,
  nodeTests,
  packagingChecks,
  pgtap,
  recordOk,
  root,
  run,
  runtimes,
  summary,
  testDir,
  totals,
} from "./test-runners.mjs";

// Before anything starts: on an unsupported Node this runs again on a supported one.
await onSupportedNode("npm test");

const legacyDir = path.join(root, ".local/test-legacy");
// Below Linux's ephemeral port range (32768-60999), where an outgoing connection could
// already hold the port the test cluster wants to listen on.
const dbPort = Number(process.env.TEST_DB_PORT ?? 25432);
const apiPort = Number(process.env.TEST_API_PORT ?? 25431);
const legacyDbPort = Number(process.env.TEST_LEGACY_DB_PORT ?? dbPort + 2);
// The transaction pooler in front of the test cluster (6543 to its 5432, as hosted).
const poolerPort = Number(process.env.TEST_POOLER_PORT ?? dbPort + 111);

// What users run the store in, on every runtime: the store's contract and its limits,
// the app end to end, faults, and the published package. The other Node tests are about
// the database, the gateway and the tooling: once, on the newest runtime.
const RUNTIME_SUITES = [
  "store-contract.test.mjs",
  "store-batching.test.mjs",
  "store-backends.test.mjs",
  "store-connection-events.test.mjs",
  "hosted-limits.test.mjs",
  "e2e-express-passport.test.mjs",
  "faults.test.mjs",
  "package.test.mjs",
  "cjs-build.test.cjs",
  "fake-timers.test.mjs",
  "ecosystem.test.mjs",
  "write-budget.test.mjs",
  "user-sessions.test.mjs",
];
const E2E_SUITE = "e2e-express-passport.test.mjs";
const PRIVILEGE_SUITE = "privilege-probe.test.mjs";

/**
 * The unit tier: the store's modules (from a fresh ESM build) under node --test, and the
 * function's modules under deno test. No database, no server: it runs in seconds.
 */
async function unitTier() {
  fs.mkdirSync(testDir, { recursive: true });
  const { code } = await run(bin("tsc"), ["-p", "tsconfig.json"]);
  if (code !== 0) return recordOk("unit tier: ESM build (tsc)", false);
  await nodeTests({}, {
    node: process.execPath,
    version: process.versions.node,
    files: listFiles("tests/unit", /\.test\.mjs$/),
    label: "unit tier",
    byVersion: false,
  });
  await denoTests({}, { dir: "tests/unit", label: "Deno unit tier (deno test)" });
}

async function main() {
  await unitTier();
  if (process.argv.includes("--unit")) return summary();
  await check("type check (tsc --noEmit)", bin("tsc"), ["-p", "tsconfig.json", "--noEmit"]);
  await check("lint (deno lint)", "npm", ["run", "--silent", "lint"]);
  const built = await check("build (ESM + CJS)", process.execPath, [path.join(root, "scripts/build.mjs")]);
  if (built) await packagingChecks();
  const nodes = runtimes();
  const newest = nodes.at(-1);
  // The unit tier ran first on this machine's Node, for speed; it runs again on each
  // supported runtime, the ones users run.
  for (const runtime of nodes) {
    await nodeTests({}, { ...runtime, files: listFiles("tests/unit", /\.test\.mjs$/), label: "unit tier" });
  }
  const nodeFiles = listFiles("tests/node", /\.test\.(mjs|cjs)$/);
  const named = (names) => nodeFiles.filter((f) => names.includes(path.basename(f)));

  // A fresh cluster every run: the migrations are proven from scratch each time.
  const hosted = await freshStack("hosted", { dir: testDir, dbPort, apiPort, poolerPort });
  if (hosted) {
    try {
      const again = db.push({ dir: testDir, port: dbPort });
      const noop = /up to date/i.test(again) && !/Applying migration/.test(again);
      recordOk("second db push is a no-op", noop);
      await advisors(dbPort, "hosted");
      await pgtap(hosted.env, "hosted");
      if (built) {
        for (const runtime of nodes) {
          await nodeTests(hosted.env, {
            ...runtime,
            files: named(RUNTIME_SUITES),
            label: "store, limits, user sessions, e2e (Express 5), faults, package",
          });
        }
        if (nodes.length) {
          await nodeTests({ ...hosted.env, TEST_EXPRESS: "4" }, {
            ...nodes[0],
            files: named([E2E_SUITE]),
            label: "e2e on Express 4",
          });
          await nodeTests(hosted.env, {
            ...newest,
            files: nodeFiles.filter((f) => !RUNTIME_SUITES.includes(path.basename(f))),
            label: "database, gateway and tooling",
          });
        }
      }
      await denoTests(hosted.env);
    } finally {
      await hosted.stop();
    }
  }

  // The old regime (everything in public granted to the API roles by default): the
  // migrations' own revokes are what keeps the API roles out.
  const legacy = await freshStack("legacy", { dir: legacyDir, dbPort: legacyDbPort, functions: false });
  if (legacy) {
    try {
      await advisors(legacyDbPort, "legacy");
      await pgtap(legacy.env, "legacy");
      if (built && newest) {
        await nodeTests(legacy.env, {
          ...newest,
          files: named([PRIVILEGE_SUITE]),
          label: "privilege probe, legacy privileges",
        });
      }
    } finally {
      await legacy.stop();
    }
  }

  summary();
}

/** A stack on a fresh cluster with the given default privileges, or null (one failed check) if it cannot start. */
async function freshStack(privileges, { dir, dbPort: port, apiPort: api, poolerPort: pooler, functions = true }) {
  db.destroy({ dir, port });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const name = `local stack up (${privileges} default privileges), migrations pushed as postgres by supabase db push`;
  try {
    const stack = await startStack({ dir, dbPort: port, apiPort: api, poolerPort: pooler, functions, privileges });
    recordOk(name, true);
    return stack;
  } catch (err) {
    process.stderr.write(`${err.stack ?? err}\n`);
    recordOk(name, false);
    return null;
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.stdout.write(`\n${totals.passed} passed, ${totals.failed + 1} failed\n`);
  process.exitCode = 1;
});
