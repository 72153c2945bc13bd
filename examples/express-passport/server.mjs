#!/usr/bin/env node
// Runs the example app from environment variables:
//
//   SUPABASE_URL + SUPABASE_SECRET_KEY (or SUPABASE_SERVICE_ROLE_KEY)  supabase-js backend
//   DATABASE_URL                                                        pg backend (used when SUPABASE_URL is unset)
//   PORT (3000), HOST (all interfaces), NODE_ENV=production, SESSION_SECRET (comma-separated: rotation),
//   TRUST_PROXY, SESSION_MAX_AGE (seconds, 86400), SESSION_TOUCH_AFTER (seconds, min(60, SESSION_MAX_AGE / 10)),
//   LOGIN_FAILURES_PER_ACCOUNT (5), LOGIN_FAILURES_PER_IP (50), LOGIN_FAILURE_WINDOW (seconds, 900)
//
// Logs one "listening" line when ready; SIGINT/SIGTERM stop it gracefully.
import { createClient } from "@supabase/supabase-js";
import { SupabaseSessionStore } from "supabase-session-store";
import WebSocket from "ws";
import { createApp } from "./app.mjs";
import { parseSecrets, parseTrustProxy } from "./settings.mjs";
import { createUserDirectory, DEMO_USERS } from "./users.mjs";

const SHUTDOWN_GRACE_MS = 10_000;

function fail(message) {
  console.error(`example app: ${message}`);
  process.exit(1);
}

/** A non-negative number of seconds from the environment, or undefined when unset. */
function seconds(env, name) {
  if (env[name] === undefined || env[name] === "") return undefined;
  const value = Number(env[name]);
  if (!Number.isFinite(value) || value < 0) fail(`${name} must be a number of seconds, got "${env[name]}"`);
  return value;
}

/** A positive whole number from the environment, or undefined when unset. */
function count(env, name) {
  if (env[name] === undefined || env[name] === "") return undefined;
  if (!/^[1-9]\d*$/.test(env[name])) fail(`${name} must be a whole number of at least 1, got "${env[name]}"`);
  return Number(env[name]);
}

function backendOptions(env) {
  if (env.SUPABASE_URL) {
    const key = env.SUPABASE_SECRET_KEY || env.SUPABASE_SERVICE_ROLE_KEY;
    if (!key) fail("SUPABASE_URL needs SUPABASE_SECRET_KEY (or SUPABASE_SERVICE_ROLE_KEY)");
    const client = createClient(env.SUPABASE_URL, key, {
      auth: { persistSession: false, autoRefreshToken: false },
      // Node 20 has no global WebSocket; supabase-js refuses to start without one.
      realtime: { transport: WebSocket },
    });
    return { name: "supabase-js", options: { client } };
  }
  if (env.DATABASE_URL) return { name: "pg", options: { connectionString: env.DATABASE_URL } };
  fail("set SUPABASE_URL and SUPABASE_SECRET_KEY (supabase-js), or DATABASE_URL (pg)");
}

const env = process.env;
const production = env.NODE_ENV === "production";
const backend = backendOptions(env);
const maxAge = seconds(env, "SESSION_MAX_AGE") ?? 24 * 60 * 60;
// A request within this many seconds of the last stored expiry move costs no write. Small next
// to maxAge, so a session never loses more than a tenth of its lifetime to throttling.
const touchAfter = seconds(env, "SESSION_TOUCH_AFTER") ?? Math.min(60, maxAge / 10);
const secrets = parseSecrets(env.SESSION_SECRET);
const loginWindow = seconds(env, "LOGIN_FAILURE_WINDOW");
const loginLimits = {
  perAccount: count(env, "LOGIN_FAILURES_PER_ACCOUNT"),
  perIp: count(env, "LOGIN_FAILURES_PER_IP"),
  windowMs: loginWindow === undefined ? undefined : loginWindow * 1000,
};

const store = new SupabaseSessionStore({
  ...backend.options,
  touchAfter,
  // Only the message: errors can quote the statement, never worth leaking a session id.
  onError: (err) => console.error(`session store: ${err.message}`),
});

let app;
try {
  app = createApp({
    store,
    secrets,
    production,
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    users: await createUserDirectory(DEMO_USERS),
    maxAgeMs: maxAge * 1000,
    loginLimits,
  });
} catch (err) {
  await store.close();
  fail(err.message);
}
if (!production && secrets.length === 0) {
  console.warn("example app: SESSION_SECRET is unset; using the development secret (refused in production)");
}

const server = app.listen(Number(env.PORT ?? 3000), env.HOST || undefined);
server.on("error", async (err) => {
  await store.close();
  fail(`cannot listen: ${err.message}`);
});
server.on("listening", () => {
  const { port } = server.address();
  const host = env.HOST || "localhost";
  console.log(
    `example app listening on http://${host}:${port} (${backend.name} backend, ${
      production ? "production" : "development"
    })`,
  );
});

let stopping = false;
async function shutdown(signal) {
  // Ctrl-C reaches both `npm start` and this process, which then also gets its SIGTERM.
  if (stopping) return;
  stopping = true;
  console.log(`example app: ${signal}, shutting down`);
  const force = setTimeout(() => {
    console.error("example app: connections still open, exiting anyway");
    process.exit(1);
  }, SHUTDOWN_GRACE_MS);
  force.unref();
  const closed = new Promise((resolve) => server.close(resolve));
  // Idle keep-alive connections would hold server.close() open until they time out.
  server.closeIdleConnections();
  await closed;
  await store.close();
  process.exit(0);
}
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGTERM", () => shutdown("SIGTERM"));
