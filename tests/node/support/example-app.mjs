// Runs examples/express-passport/server.mjs as its own process, as a deployment would.
import path from "node:path";
import { root } from "../../../scripts/db.mjs";
import { startProcess } from "./processes.mjs";

const server = path.join(root, "examples/express-passport/server.mjs");

/**
 * The Express major the app runs on: 5 (the project's own), or 4 when TEST_EXPRESS=4 (the
 * `express4` alias, through a resolution hook, so the app itself is unchanged).
 */
export const EXPRESS_MAJOR = process.env.TEST_EXPRESS === "4" ? 4 : 5;
/** Node flags that make a process resolve "express" to the Express of EXPRESS_MAJOR. */
export const EXPRESS_FLAGS = EXPRESS_MAJOR === 4
  ? ["--import", path.join(root, "tests/node/support/express4.mjs")]
  : [];

// The app picks its backend and settings from these; a test states each one it wants.
const APP_SETTINGS = /^(SUPABASE_|DATABASE_URL$|SESSION_|LOGIN_|NODE_ENV$|TRUST_PROXY$|PORT$|HOST$)/;

const launched = new Set();

function launch(settings) {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !APP_SETTINGS.test(k)));
  const proc = startProcess(process.execPath, [...EXPRESS_FLAGS, server], {
    cwd: root,
    env: { ...inherited, HOST: "127.0.0.1", PORT: "0", ...settings },
    ready: /listening on (http:\/\/\S+)/,
  });
  launched.add(proc);
  proc.exited.then(() => launched.delete(proc));
  return proc;
}

/** Kills every app a test started and left running (for `after`, so a failed test leaves no process). */
export async function stopAllApps() {
  await Promise.all([...launched].map((proc) => proc.stop("SIGKILL")));
}

/** Starts the example app on a free port with exactly `settings` as its configuration. */
export async function startExampleApp(settings) {
  const proc = launch(settings);
  const [, url] = await proc.match;
  return { url, pid: proc.child.pid, stop: proc.stop, exited: proc.exited, output: proc.output };
}

/** Runs the app expecting it to refuse to start: resolves with its exit and output (throws if it listens). */
export async function startExampleAppExpectingFailure(settings) {
  const proc = launch(settings);
  const listened = await proc.match.then(() => true, () => false);
  if (listened) {
    await proc.stop();
    throw new Error(`the app started although it should have refused:\n${proc.output()}`);
  }
  return { ...(await proc.exited), output: proc.output() };
}
