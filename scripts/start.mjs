#!/usr/bin/env node
// `npm start`: the local stack (Postgres with the migrations pushed, the
// Supabase-compatible API with the cleanup function) and the example app on it.
//
//   node scripts/start.mjs [--no-app]
//   env: LOCAL_DB_DIR (.local/db), LOCAL_DB_PORT (54322), LOCAL_DB_POOLER_PORT (54329, the transaction
//        pooler), API_PORT (54321), PORT (3000, the app),
//        START_APP=false (same as --no-app), and the example app's own variables
//
// Ctrl-C (or SIGTERM) stops the app, then whatever part of the stack this run
// started. The database folder is kept: the next start reuses its data.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { DEFAULT_POOLER_PORT, defaults, root } from "./db.mjs";
import { portInUse, startProcess } from "./processes.mjs";
import { startStack } from "./stack.mjs";
import { onSupportedNode } from "./supported-node.mjs";

// Before anything starts: on an unsupported Node this runs again on a supported one.
await onSupportedNode("npm start");

const APP_STOP_TIMEOUT_MS = 15_000;
// The app builds nothing and only connects: a minute means it is stuck.
const APP_START_TIMEOUT_MS = 60_000;
const withApp = !process.argv.includes("--no-app") && process.env.START_APP !== "false";
const { dir, port: dbPort, poolerPort = DEFAULT_POOLER_PORT } = defaults();
const apiPort = Number(process.env.API_PORT || 54321);
const appPort = Number(process.env.PORT || 3000);

let stack;
let app;
let removeEnvFile = () => {};
let starting = true;
let signalled = false;
let stopping = false;

function say(line = "") {
  process.stdout.write(`${line}\n`);
}

function newestMtime(p) {
  if (!fs.existsSync(p)) return 0;
  const stat = fs.statSync(p);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...fs.readdirSync(p).map((f) => newestMtime(path.join(p, f))));
}

/** Builds the package when dist/ is missing or older than its sources. */
function buildIfStale() {
  const outputs = ["dist/esm/index.js", "dist/cjs/index.js"].map((f) => path.join(root, f));
  const built = Math.min(...outputs.map((f) => (fs.existsSync(f) ? fs.statSync(f).mtimeMs : 0)));
  const sources = Math.max(
    ...["src", "tsconfig.json", "tsconfig.cjs.json"].map((f) => newestMtime(path.join(root, f))),
  );
  if (built > 0 && built >= sources) return;
  say("Building the package (dist/ is missing or stale)...");
  const res = spawnSync(process.execPath, [path.join(root, "scripts/build.mjs")], { cwd: root, stdio: "inherit" });
  if (res.status !== 0) throw new Error("npm run build failed");
}

/**
 * The database URL with `sslmode=disable`: the local cluster has no TLS, and the Supabase CLI
 * (`supabase db push --db-url`) refuses a URL without it ("tls error"); psql and pg accept it too.
 */
function forEveryCommand(url) {
  const u = new URL(url);
  u.searchParams.set("sslmode", "disable");
  return u.href;
}

/** The stack's URLs and keys in a private file, for curl and psql in another terminal. */
function writeEnvFile(env, appUrl) {
  const file = path.join(dir, "stack.env");
  const lines = Object.entries({ ...env, ...(appUrl && { APP_URL: appUrl }) })
    .filter(([name]) => !name.startsWith("LOCAL_DB_"))
    .map(([name, value]) => `${name}=${value}`);
  const content = `# Written by npm start while it runs: local development keys only.\n${lines.join("\n")}\n`;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, content, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  // Removed on exit so that it never describes a stack that is gone; another start may have replaced it.
  removeEnvFile = () => {
    if (fs.existsSync(file) && fs.readFileSync(file, "utf8") === content) fs.rmSync(file);
  };
  return path.relative(process.cwd(), file) || file;
}

function startApp(env) {
  const proc = startProcess(process.execPath, [path.join(root, "examples/express-passport/server.mjs")], {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: process.env.NODE_ENV || "development",
      HOST: process.env.HOST || "127.0.0.1",
      PORT: String(appPort),
      SUPABASE_URL: env.SUPABASE_URL,
      SUPABASE_SECRET_KEY: env.SUPABASE_SECRET_KEY,
    },
    ready: /listening on (http:\/\/\S+)/,
    timeoutMs: APP_START_TIMEOUT_MS,
    stderr: "inherit",
    retain: false,
    onOutput: (chunk) => process.stdout.write(chunk),
  });
  // Its stderr went to the terminal already: the message adds what it printed on stdout, if anything.
  const ready = proc.match.then(([, url]) => url, (err) => {
    throw new Error(`the example app ${err.message}`);
  });
  ready.catch(() => {});
  return { proc, ready, exited: proc.exited };
}

function stopApp(app) {
  return app.proc.terminate(APP_STOP_TIMEOUT_MS);
}

function printReady(env, appUrl, envFile) {
  say();
  say(`Ready.${appUrl ? "" : " (stack only: --no-app)"}`);
  if (appUrl) say(`  Example app  ${appUrl}   users: alice / alice-demo-password, bob / bob-demo-password`);
  say(`  API          ${env.SUPABASE_URL}   (/rest/v1/rpc/*, /functions/v1/cleanup-sessions)`);
  say(`  Database     ${env.DATABASE_URL}`);
  say(`  Pooler       ${env.DATABASE_POOLER_URL}   (transaction mode, as port 6543)`);
  say(`  Keys         ${envFile}   (local development keys, private to you)`);
  say();
  say("Next, in another terminal:");
  say(`  set -a; . ${envFile}; set +a       # SUPABASE_URL, SUPABASE_SECRET_KEY, ... for the lines below`);
  if (appUrl) {
    say(`  open ${appUrl} in a browser                    # sign in, see and end your sessions`);
    // The JSON API: a JSON content type is what exempts these from the pages' CSRF token.
    say(`  curl -c cookies.txt -H 'content-type: application/json' \\`);
    say(`       -d '{"username":"alice","password":"alice-demo-password"}' ${appUrl}/login`);
    say(`  curl -b cookies.txt ${appUrl}/me                # or /sessions`);
    say(`  curl -b cookies.txt -H 'content-type: application/json' -X POST ${appUrl}/logout-all   # or /logout`);
  }
  say("  npm run purge                                  # delete expired sessions now, through the function");
  say('  curl -X POST -H "apikey: $SUPABASE_SECRET_KEY" $SUPABASE_URL/functions/v1/cleanup-sessions');
  say(`  psql '${env.DATABASE_URL}' -c 'select count(*) from sessions where expires_at > now();'`);
  say();
  say("Ctrl-C stops everything this command started; the data stays for the next start.");
}

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  if (app) await stopApp(app);
  if (stack) await stack.stop();
  removeEnvFile();
  process.exit(code);
}

// Installed before anything starts, so that Ctrl-C during start-up still cleans up.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    if (signalled) return say("Still stopping...");
    signalled = true;
    say(`\n${signal}: stopping.`);
    if (!starting) shutdown(0);
  });
}

/**
 * The API's and the app's ports, before anything starts: a port in use is named in a sentence with its
 * variable, instead of a process dying of EADDRINUSE part-way. The database's and the pooler's ports
 * may be this stack's own, still running; their servers' logs name a port in use (scripts/db.mjs).
 */
async function checkPorts() {
  const ports = [[apiPort, "API_PORT"], ...(withApp ? [[appPort, "PORT"]] : [])];
  for (const [port, variable] of ports) {
    if (await portInUse(port)) {
      throw new Error(
        `port ${port} (${variable}) is in use by another process: stop it, or start with ${variable}=<a free port>`,
      );
    }
  }
}

try {
  await checkPorts();
  if (withApp) buildIfStale();
  stack = await startStack({ dir, dbPort, apiPort, poolerPort });
  starting = false;
  if (signalled) await shutdown(0);
  let appUrl;
  if (withApp) {
    app = startApp(stack.env);
    appUrl = await app.ready;
    app.exited.then(({ code, signal }) => {
      if (stopping) return;
      process.stderr.write(`The example app exited unexpectedly (${signal ?? `code ${code}`}); stopping the stack.\n`);
      shutdown(1);
    });
  }
  const shown = { ...stack.env, DATABASE_URL: forEveryCommand(stack.env.DATABASE_URL) };
  printReady(shown, appUrl, writeEnvFile(shown, appUrl));
} catch (err) {
  // A Ctrl-C while the app starts makes its start-up fail too: that is no failure.
  if (!stopping) process.stderr.write(`npm start failed: ${err.message}\n`);
  await shutdown(1);
}
