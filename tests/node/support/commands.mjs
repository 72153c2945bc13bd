// Runs a command the way a user's shell would and collects what it printed: for the tests
// that drive the package's command line, the Supabase CLI and npm in a user's project.
import { spawn } from "node:child_process";

/**
 * Runs `cmd` with `args` and resolves (never rejects) with its exit code, its stdout, its
 * stderr and both interleaved as `out`. A command that cannot start resolves with code 127
 * and the reason in `stderr`; one ended by a signal with code 1.
 */
export function runCommand(cmd, args, { cwd, env = process.env, input } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env, stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let out = "";
    child.stdout.on("data", (d) => {
      stdout += d;
      out += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
      out += d;
    });
    if (input !== undefined) child.stdin.end(input);
    child.on("error", (err) => resolve({ code: 127, stdout, stderr: `${stderr}${err.message}\n`, out }));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr, out }));
  });
}

/** Runs a bash script with `set -euo pipefail` in `cwd`. */
export function runScript(cwd, script, env) {
  return runCommand("bash", ["-euo", "pipefail", "-c", script], { cwd, env });
}
