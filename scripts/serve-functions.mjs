// Serves the cleanup-sessions Edge Function locally with the real Deno, as
// `supabase functions serve` would without Docker: `deno run` on its entry point
// (through scripts/serve-function.ts, which gives Deno.serve its address), with only
// the environment it is given (as on the platform). `npm:` imports resolve from
// node_modules (BYONM).
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { root } from "./db.mjs";
import { startProcess } from "./processes.mjs";

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
  // Deno announces the bound address ("Listening on http://127.0.0.1:PORT/"); the
  // function's own log lines follow on stdout and are passed through.
  const proc = startProcess(deno, [
    "run",
    "--allow-net",
    "--allow-env",
    "--allow-read",
    launcher,
    pathToFileURL(entry).href,
  ], {
    cwd: entry === defaultEntry ? root : path.dirname(entry),
    env: { ...inherited, NO_COLOR: "1", ...env, FUNCTION_ADDRESS: `127.0.0.1:${port}` },
    ready: /Listening on (http:\/\/[^\s/]+)/,
    timeoutMs: STARTUP_TIMEOUT_MS,
    retain: false,
    onOutput: (chunk, ready) => ready && process.stderr.write(`[functions] ${chunk}`),
  });

  let base;
  try {
    [, base] = await proc.match;
    // Listening is not answering: one request proves the entry's handler is serving. The launcher
    // answers it (the probe header) so that the function never logs a refusal of it as a warning.
    const probe = await fetch(`${base}/`, { headers: { "x-local-stack-probe": "ready" } });
    await probe.body?.cancel();
    if (probe.status !== 204) throw new Error(`the readiness probe was answered ${probe.status}, not 204`);
  } catch (err) {
    await proc.stop("SIGKILL");
    throw new Error(`the function did not start: ${err.message}`);
  }

  let closing;
  return {
    /** The server's origin; it answers on any path, as the function does behind `/functions/v1/<name>`. */
    url: base,
    close() {
      closing ??= proc.terminate(5_000);
      return closing;
    },
  };
}
