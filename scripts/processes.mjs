// Child processes of the local stack, `npm start` and the end-to-end tests: start one
// and wait for the line announcing it is ready, stop it, pick a free port.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";

/**
 * Spawns `command` and watches its output for `ready` (a RegExp). Returns at once with
 * `match`, a promise of the match that rejects with everything the process printed
 * when it exits first or takes longer than `timeoutMs`.
 *
 * - `stderr: "inherit"` passes stderr straight through (only stdout is watched);
 * - `onOutput(chunk, ready)` sees every chunk (ready: whether `ready` has matched yet);
 * - `retain: false` stops keeping the output once ready (for long-lived servers).
 */
export function startProcess(
  command,
  args,
  { env, cwd, ready, timeoutMs = 60_000, stderr = "pipe", onOutput, retain = true },
) {
  const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", stderr] });
  let output = "";
  let isReady = false;
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const match = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const scan = (chunk) => {
      onOutput?.(chunk, isReady);
      if (isReady) {
        if (retain) output += chunk;
        return;
      }
      output += chunk;
      const m = output.match(ready);
      if (m) {
        isReady = true;
        clearTimeout(timer);
        if (!retain) output = "";
        resolve(m);
      }
    };
    child.stdout.on("data", scan);
    child.stderr?.on("data", scan);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      const said = output.trim() ? `:\n${output}` : ", printing nothing on its standard output";
      reject(new Error(`exited (${signal ?? `code ${code}`}) before it was ready${said}`));
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
    /** Asks it to stop (SIGTERM), kills it (SIGKILL) after `graceMs`, resolves once it has exited. */
    terminate(graceMs) {
      return terminate(child, exited, graceMs);
    },
  };
}

/**
 * Asks `child` to stop (SIGTERM), kills it (SIGKILL) if it has not exited after
 * `graceMs`, and resolves once it has exited. Nothing to do when it already has.
 */
export async function terminate(child, exited, graceMs) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A port nobody listens on right now (the kernel's choice). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Whether something already listens on 127.0.0.1:`port` (binding it fails with EADDRINUSE). */
export function portInUse(port) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", (err) => (err.code === "EADDRINUSE" ? resolve(true) : reject(err)));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(false)));
  });
}

export const sizeOf = (file) => (fs.existsSync(file) ? fs.statSync(file).size : 0);

/** The last lines a log file gained after it was `from` bytes long: what a server that failed to start said. */
export function logSince(file, from, lines = 12) {
  const text = fs.existsSync(file) ? fs.readFileSync(file).subarray(from).toString("utf8").trimEnd() : "";
  return text ? text.split("\n").slice(-lines).join("\n") : `(nothing in ${file})`;
}

/**
 * Runs `command` to its end with its stdout and stderr both written to `logFile`, as a terminal
 * shows them: in the order it wrote them (the Supabase CLI says what it applies on stderr and that
 * it finished on stdout; two pipes read one after the other put "Finished" first). { status, out }.
 */
export function runInOrder(command, args, { cwd, logFile }) {
  const fd = fs.openSync(logFile, "w");
  let res;
  try {
    res = spawnSync(command, args, { cwd, stdio: ["ignore", fd, fd] });
  } finally {
    fs.closeSync(fd);
  }
  if (res.error) throw res.error;
  return { status: res.status, out: fs.readFileSync(logFile, "utf8").trim() };
}
