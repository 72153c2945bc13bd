#!/usr/bin/env node
// Runs the Fastify example from environment variables:
//
//   DATABASE_URL                                                       pg backend
//   SUPABASE_URL + SUPABASE_SECRET_KEY (or SUPABASE_SERVICE_ROLE_KEY)  supabase-js backend (when set)
//   SESSION_SECRET (at least 32 characters), PORT (3000), HOST (127.0.0.1), SESSION_TOUCH_AFTER (seconds, 60)
//
// Logs one "listening on <url>" line when ready; SIGINT/SIGTERM stop it.
import { createClient } from "@supabase/supabase-js";
import { SupabaseSessionStore } from "supabase-session-store";
import WebSocket from "ws";
import { createApp } from "./app.mjs";

function fail(message) {
  console.error(`fastify example: ${message}`);
  process.exit(1);
}

function backend(env) {
  if (env.SUPABASE_URL) {
    const key = env.SUPABASE_SECRET_KEY || env.SUPABASE_SERVICE_ROLE_KEY;
    if (!key) fail("SUPABASE_URL needs SUPABASE_SECRET_KEY (or SUPABASE_SERVICE_ROLE_KEY)");
    const client = createClient(env.SUPABASE_URL, key, {
      auth: { persistSession: false, autoRefreshToken: false },
      realtime: { transport: WebSocket }, // Node 20 has no global WebSocket
    });
    return { client };
  }
  if (env.DATABASE_URL) return { connectionString: env.DATABASE_URL };
  fail("set DATABASE_URL (pg), or SUPABASE_URL and SUPABASE_SECRET_KEY (supabase-js)");
}

const env = process.env;
if (!env.SESSION_SECRET || env.SESSION_SECRET.length < 32) fail("SESSION_SECRET must be at least 32 characters");
const store = new SupabaseSessionStore({
  ...backend(env),
  // @fastify/session saves every request's session (rolling): with touchAfter, a request that
  // changes nothing writes nothing until its expiry has moved by this many seconds.
  touchAfter: Number(env.SESSION_TOUCH_AFTER ?? 60),
  onError: (err) => console.error(`session store: ${err.message}`),
});
const app = await createApp({ store, secret: env.SESSION_SECRET });
const url = await app.listen({ host: env.HOST || "127.0.0.1", port: Number(env.PORT ?? 3000) });
console.log(`fastify example listening on ${url}`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, async () => {
    await app.close();
    await store.close();
    process.exit(0);
  });
}
