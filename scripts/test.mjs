#!/usr/bin/env node
// `npm test`: every suite, from a clean test database, with one summary line.
//
//   type check · lint · build · local stack (fresh cluster, migrations pushed by the
//   Supabase CLI) · second push is a no-op · Supabase advisors · pgTAP (pg_prove) ·
//   Node tests · Deno tests · stop
//
// Each suite's own runner reports its tests; this script adds them up and ends
// with "N passed, N failed". The test cluster lives in its own folder and port so
// that a running `npm start` is never disturbed.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import * as db from "./db.mjs";
import { startStack } from "./stack.mjs";

const root = db.root;
const bin = (name) => path.join(root, "node_modules/.bin", name);
const testDir = path.join(root, ".local/test");
// Below Linux's ephemeral port range (32768-60999), where an outgoing connection could
// already hold the port the test cluster wants to listen on.
const dbPort = Number(process.env.TEST_DB_PORT ?? 25432);
const apiPort = Number(process.env.TEST_API_PORT ?? 25431);

const totals = { passed: 0, failed: 0 };
const suites = [];

function record(name, passed, failed, note = "") {
  totals.passed += passed;
  totals.failed += failed;
  suites.push({ name, passed, failed, note });
  process.stdout.write(`\n=== ${name}: ${passed} passed, ${failed} failed${note ? ` (${note})` : ""}\n\n`);
}

/** A step that is one check: 1 passed or 1 failed. */
function recordOk(name, ok, note) {
  record(name, ok ? 1 : 0, ok ? 0 : 1, note);
}

/** A test runner's counts; a runner that exited non-zero without a failing test (a bad plan, a crash) counts one failure. */
function recordRun(name, code, passed, failed) {
  record(name, passed, failed + (code !== 0 && failed === 0 ? 1 : 0));
}

/** Runs a command, echoing its output, and resolves with its exit code and output. */
function run(cmd, args, { env = {}, echo = true } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const take = (stream, sink) => stream.on("data", (d) => {
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

async function advisors() {
  const url = db.dbUrl({ port: dbPort }, { forCli: true });
  const { code, out } = await run(bin("supabase"), ["db", "advisors", "--db-url", url, "--type", "all",
    "--level", "info", "-o", "json"], { echo: false });
  const json = out.slice(out.indexOf("["), out.lastIndexOf("]") + 1);
  let findings;
  try {
    findings = code === 0 ? JSON.parse(json || "[]") : null;
  } catch {
    findings = null;
  }
  if (!findings) {
    process.stdout.write(out);
    return recordOk("supabase db advisors", false, "could not run or parse");
  }
  for (const f of findings) process.stdout.write(`advisor ${f.level} ${f.name}: ${f.detail}\n`);
  const serious = findings.filter((f) => f.level !== "INFO");
  recordOk("supabase db advisors (nothing above INFO)", serious.length === 0,
    `${findings.length - serious.length} INFO`);
}

async function pgtap(env) {
  const files = listFiles("supabase/tests/database", /\.test\.sql$/);
  if (!files.length) return recordOk("pgTAP", false, "no test files");
  const { code, out } = await run("pg_prove", ["--verbose", "-d", env.DATABASE_URL, ...files], { echo: true });
  const passed = (out.match(/^ok \d+/gm) ?? []).length;
  const failed = (out.match(/^not ok \d+/gm) ?? []).length;
  recordRun("pgTAP (pg_prove)", code, passed, failed);
}

async function nodeTests(env) {
  const files = listFiles("tests/node", /\.test\.(mjs|cjs)$/);
  if (!files.length) return recordOk("Node tests", false, "no test files");
  const tap = path.join(testDir, "node-tests.tap");
  const { code } = await run(process.execPath, ["--test", "--test-concurrency=1",
    "--test-reporter=spec", "--test-reporter-destination=stdout",
    "--test-reporter=tap", `--test-reporter-destination=${tap}`, ...files], { env });
  const report = fs.existsSync(tap) ? fs.readFileSync(tap, "utf8") : "";
  const passed = Number(report.match(/^# pass (\d+)/m)?.[1] ?? 0);
  const failed = Number(report.match(/^# fail (\d+)/m)?.[1] ?? 0);
  recordRun("Node tests (node --test)", code, passed, failed);
}

async function denoTests(env) {
  const files = listFiles("tests/deno", /_test\.ts$/);
  if (!files.length) return recordOk("Deno tests", false, "no test files");
  const { code, out } = await run(bin("deno"), ["test", "-A", ...files], { env: { ...env, NO_COLOR: "1" } });
  const m = out.match(/(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/);
  const passed = Number(m?.[1] ?? 0);
  const failed = Number(m?.[2] ?? 0);
  recordRun("Deno tests (deno test)", code, passed, failed);
}

async function main() {
  await check("type check (tsc --noEmit)", bin("tsc"), ["-p", "tsconfig.json", "--noEmit"]);
  await check("lint (deno lint)", bin("deno"), ["lint"]);
  const built = await check("build (ESM + CJS)", process.execPath, [path.join(root, "scripts/build.mjs")]);

  // A fresh cluster every run: the migrations are proven from scratch each time.
  db.destroy({ dir: testDir, port: dbPort });
  fs.rmSync(testDir, { recursive: true, force: true });
  fs.mkdirSync(testDir, { recursive: true });
  let stack;
  try {
    stack = await startStack({ dir: testDir, dbPort, apiPort });
    recordOk("local stack up, migrations pushed by supabase db push", true);
  } catch (err) {
    process.stderr.write(`${err.stack ?? err}\n`);
    recordOk("local stack up, migrations pushed by supabase db push", false);
  }

  if (stack) {
    try {
      const again = db.push({ dir: testDir, port: dbPort });
      const noop = /up to date/i.test(again) && !/Applying migration/.test(again);
      recordOk("second db push is a no-op", noop);
      await advisors();
      await pgtap(stack.env);
      if (built) await nodeTests(stack.env);
      await denoTests(stack.env);
    } finally {
      await stack.stop();
    }
  }

  process.stdout.write("\nSummary by suite:\n");
  for (const s of suites) process.stdout.write(`  ${s.name}: ${s.passed} passed, ${s.failed} failed\n`);
  process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed\n`);
  process.exitCode = totals.failed === 0 && totals.passed > 0 ? 0 : 1;
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.stdout.write(`\n${totals.passed} passed, ${totals.failed + 1} failed\n`);
  process.exitCode = 1;
});
