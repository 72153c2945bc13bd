// Child processes for end-to-end tests: start one, wait for a line announcing it is
// ready, stop it, and list process trees (to prove nothing is left behind).
import { execFileSync, spawn } from "node:child_process";

/**
 * Spawns `command` and resolves once a line of its output matches `ready`
 * (resolving with the match), or rejects with everything it printed when it
 * exits first or takes longer than `timeoutMs`.
 */
export function startProcess(command, args, { env, cwd, ready, timeoutMs = 60_000 }) {
  const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const match = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const scan = (chunk) => {
      output += chunk;
      const m = output.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout.on("data", scan);
    child.stderr.on("data", scan);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`exited (${signal ?? `code ${code}`}) before it was ready:\n${output}`));
    });
  });
  match.catch(() => {}); // awaited by the caller; the exit also settles it
  return {
    child,
    match,
    exited,
    output: () => output,
    /** Sends `signal` (if still running) and resolves with how it exited. */
    stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Every process now running whose ancestry includes `pid` (not `pid` itself). */
export function descendants(pid) {
  const table = execFileSync("ps", ["-e", "-o", "pid=,ppid="], { encoding: "utf8" })
    .trim().split("\n").map((line) => line.trim().split(/\s+/).map(Number));
  const found = [];
  let frontier = [pid];
  while (frontier.length) {
    const children = table.filter(([, ppid]) => frontier.includes(ppid)).map(([p]) => p);
    found.push(...children);
    frontier = children;
  }
  return found;
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
