// Fixtures of the store tests (tests/node/store-*.test.mjs): counted stores on each
// backend, sessions in express-session's shape, and a look at the stored row.
import { randomBytes } from "node:crypto";
import { SupabaseSessionStore } from "../../../dist/esm/index.js";
import { freePort } from "../../../scripts/stack.mjs";
import { quietPool, supabaseClient } from "./backends.mjs";
import { requireEnv } from "./env.mjs";
import { keyOf } from "./keys.mjs";

export const {
  DATABASE_URL,
  DATABASE_POOLER_URL,
  SUPABASE_URL,
  SUPABASE_SERVICE_ROLE_KEY: SERVICE_ROLE_KEY,
  SUPABASE_ANON_KEY: ANON_KEY,
} = requireEnv("DATABASE_URL", "DATABASE_POOLER_URL", "SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_ANON_KEY");

/** A pool for looking at the database behind the store's back. */
export const admin = quietPool({ connectionString: DATABASE_URL, max: 4 });
const pools = [];

/** Ends `pool` with the others when the file's tests are done (endPools). */
export function track(...created) {
  pools.push(...created);
  return created[0];
}

/** Ends every tracked pool and the admin pool: the file's `after` hook. */
export async function endPools() {
  await Promise.all(pools.map((p) => p.end()));
  await admin.end();
}

export const newSid = (label = "s") => `${label}-${randomBytes(12).toString("base64url")}`;
export const inMinutes = (m) => new Date(Date.now() + m * 60_000);
export const sessionWith = (expires, extra = {}) => ({
  cookie: { originalMaxAge: 3_600_000, expires, httpOnly: true, path: "/" },
  ...extra,
});

/** The stored row of session id `sid` (tombstones too), or undefined. */
export async function row(sid) {
  const { rows } = await admin.query(
    "select data, expires_at, updated_at, destroyed_at, xmin::text as xmin from public.sessions where sid = $1",
    [keyOf(sid)],
  );
  return rows[0];
}

/**
 * A store on a pg pool of `connectionString` whose round trips (pool.query() calls) are
 * counted. The counting wrapper shows the pool's configuration as the pool does, so that
 * the store sees through it where the pool connects (a transaction pooler or not).
 */
function countedPgStore(connectionString, options) {
  const pool = track(quietPool({ connectionString, max: 20 }));
  const calls = { count: 0 };
  const counted = {
    options: pool.options,
    query: (...args) => {
      calls.count++;
      return pool.query(...args);
    },
  };
  return { store: new SupabaseSessionStore({ pool: counted, ...options }), calls };
}

/**
 * Each backend builds a store whose database calls are counted: `calls.count` is the
 * number of round trips (pool.query() calls, or HTTP requests to the RPC endpoint).
 */
export const COUNTED_BACKENDS = {
  pg: (options = {}) => countedPgStore(DATABASE_URL, options),
  "supabase-js"(options = {}) {
    const calls = { count: 0 };
    const client = supabaseClient(SUPABASE_URL, SERVICE_ROLE_KEY, (input, init) => {
      calls.count++;
      return fetch(input, init);
    });
    return { store: new SupabaseSessionStore({ client, ...options }), calls };
  },
};

/**
 * The backends of the store's contract: those above, and pg through the stack's transaction
 * pooler (PgBouncer in transaction mode, Supavisor's port 6543 stand-in), given only the
 * pooler's URL: the store must see the pooler there by itself (named statements fail there,
 * "prepared statement ... already exists").
 */
export const CONTRACT_BACKENDS = {
  ...COUNTED_BACKENDS,
  "pg through a transaction pooler": (options = {}) => countedPgStore(DATABASE_POOLER_URL, options),
};

/** Lets pending callbacks (scheduled with process.nextTick) run. */
export const settle = () => new Promise((resolve) => setImmediate(resolve));

export async function waitFor(condition) {
  for (;;) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A connection URL on a local port nothing listens on. */
export async function closedPortUrl() {
  return `postgresql://postgres@127.0.0.1:${await freePort()}/postgres`;
}
