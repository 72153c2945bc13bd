// Serves the cleanup-sessions Edge Function locally with the real Deno, as
// `supabase functions serve` would without Docker: `deno run` on its entry point
// (through scripts/serve-function.ts, which gives Deno.serve its address), with only
// the environment it is given (as on the platform). `npm:` imports resolve from
// node_modules (BYONM).
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { root } from "./db.mjs";
import { terminate } from "./processes.mjs";

const defaultEntry = path.join(root, "functions/cleanup-sessions/index.ts");
const launcher = path.join(root, "scripts/serve-function.ts");
// The binary the `deno` package ships, not its .bin launcher: npm may skip the package's
// install script that swaps the launcher for the binary, and a launcher (a Node process
// spawning deno) would outlive its own termination's signal, leaving deno behind.
const shipped = path.join(root, "node_modules/deno", process.platform === "win32" ? "deno.exe" : "deno");
const deno = fs.existsSync(shipped) ? shipped : path.join(root, "node_modules/.bin/deno");
const STARTUP_TIMEOUT_MS = 60_000;

/** Variables of this process that must not leak into the function's environment. */
const PRIVATE = /^(SUPABASE_|CLEANUP_SECRET$|DATABASE_URL$|PG)/;

/**
 * Starts the function and resolves once it answers HTTP.
 * `port` 0 lets the system choose; `env` is the function's configuration
 * (SUPABASE_URL, keys, CLEANUP_SECRET...); `entry` another project's copy of the
 * function, whose `npm:` imports resolve from that project's node_modules.
 */
export async function startFunctions({ port = 0, env = {}, entry = defaultEntry } = {}) {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !PRIVATE.test(k)));
  const child = spawn(deno, ["run", "--allow-net", "--allow-env", "--allow-read", launcher, pathToFileURL(entry).href], {
    cwd: entry === defaultEntry ? root : path.dirname(entry),
    env: { ...inherited, NO_COLOR: "1", ...env, FUNCTION_ADDRESS: `127.0.0.1:${port}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));

  // Deno announces the bound address ("Listening on http://127.0.0.1:PORT/"); the
  // function's own log lines follow on stdout and are passed through.
  let output = "";
  const listening = new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the function did not start within ${STARTUP_TIMEOUT_MS} ms`)),
      STARTUP_TIMEOUT_MS,
    );
    const watch = (chunk) => {
      output += chunk;
      const m = output.match(/Listening on (http:\/\/[^\s/]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on("data", watch);
    child.stderr.on("data", watch);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the function exited (${signal ?? code}) before listening:\n${output}`));
    });
  });

  let base;
  try {
    base = await listening;
    // Listening is not answering: one request proves the module graph loaded.
    await fetch(`${base}/`, { method: "OPTIONS" }).then((res) => res.body?.cancel());
  } catch (err) {
    child.kill("SIGKILL");
    await exited;
    throw err;
  }
  child.stdout.removeAllListeners("data");
  child.stderr.removeAllListeners("data");
  child.stdout.on("data", (d) => process.stderr.write(`[functions] ${d}`));
  child.stderr.on("data", (d) => process.stderr.write(`[functions] ${d}`));

  let closing;
  return {
    /** The server's origin; it answers on any path, as the function does behind `/functions/v1/<name>`. */
    url: base,
    close() {
      closing ??= terminate(child, exited, 5_000);
      return closing;
    },
  };
}
