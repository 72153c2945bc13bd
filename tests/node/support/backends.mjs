// The two ways the store reaches the database, built from the local stack's
// environment, for tests that run the same checks on both backends.
import { createClient } from "@supabase/supabase-js";
import pg from "pg";
import { SupabaseSessionStore } from "../../../dist/esm/index.js";
import { requireEnv } from "./env.mjs";

/**
 * A supabase-js client for `key` on the stack's API, made as the README's app makes it (no `ws`: the
 * tests run on Node 22 and later, whose built-in WebSocket supabase-js uses), making its
 * requests with `fetchImpl` when one is given.
 */
export function supabaseClient(url, key, fetchImpl) {
  return createClient(url, key, {
    auth: { persistSession: false, autoRefreshToken: false },
    ...(fetchImpl && { global: { fetch: fetchImpl } }),
  });
}

/** A pg pool whose idle-connection errors are expected (the database may be restarted under it). */
export function quietPool(config) {
  const pool = new pg.Pool(config);
  pool.on("error", () => {});
  return pool;
}

/**
 * Store factories by backend name. Each returns { store, close } where close ends
 * whatever the factory created.
 */
export const BACKENDS = {
  pg(options = {}) {
    const { DATABASE_URL } = requireEnv("DATABASE_URL");
    const pool = quietPool({ connectionString: DATABASE_URL, max: 5 });
    const store = new SupabaseSessionStore({ pool, ...options });
    return {
      store,
      close: async () => {
        await store.close();
        await pool.end();
      },
    };
  },
  "supabase-js"(options = {}) {
    const { SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY } = requireEnv("SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY");
    const store = new SupabaseSessionStore({
      client: supabaseClient(SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY),
      ...options,
    });
    return { store, close: () => store.close() };
  },
};

/** express-session's shape of a session whose cookie expires `minutes` from now. */
export function sessionFor(minutes, extra = {}) {
  return {
    cookie: {
      originalMaxAge: minutes * 60_000,
      expires: new Date(Date.now() + minutes * 60_000),
      httpOnly: true,
      path: "/",
    },
    ...extra,
  };
}

/** Calls `run(callback)` and resolves once the callback came, with every call it received (after a settle). */
export async function callbackCalls(run) {
  const calls = [];
  let first;
  const came = new Promise((resolve) => {
    first = resolve;
  });
  const promise = run((...args) => {
    calls.push(args);
    first();
  });
  promise?.catch?.(() => {}); // the callback is what is under test, as express-session uses it
  await came;
  await new Promise((resolve) => setTimeout(resolve, 50));
  return calls;
}
