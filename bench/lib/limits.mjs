// The store's table-wide operations at scale, through supabase-js and the local API
// with hosted Supabase's limits (max rows 1000, service_role under authenticator's 8 s
// statement_timeout): clear(), destroyUserSessions(), length(), one page of all() and one
// purge batch, timed per HTTP round trip, so that each call's distance from the 8 s
// timeout is what is reported.
import { performance } from "node:perf_hooks";
import { SupabaseSessionStore } from "../../dist/esm/index.js";
import { keySql } from "./session.mjs";

export const API_TIMEOUT_MS = 8_000;

/** A supabase-js client whose every request's duration is recorded in `calls`. */
async function timedClient(api, calls) {
  const { createClient } = await import("@supabase/supabase-js");
  const { default: WebSocket } = await import("ws");
  const timedFetch = async (...args) => {
    const t0 = performance.now();
    try {
      return await fetch(...args);
    } finally {
      calls.push(performance.now() - t0);
    }
  };
  return createClient(api.url, api.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false },
    realtime: { transport: WebSocket },
    global: { fetch: timedFetch },
  });
}

/** `sessions` rows: 90% live, 10% expired, spread over `users` Passport users, keyed as the store keys them. */
async function load(admin, sessions, users) {
  await admin.query("truncate public.sessions");
  await admin.query(
    `insert into public.sessions (sid, data, expires_at)
     select ${keySql("'scale-' || lpad(g::text, 8, '0')")},
            jsonb_build_object('cookie', jsonb_build_object('originalMaxAge', 86400000, 'httpOnly', true, 'path', '/'),
                               'passport', jsonb_build_object('user', 'u' || (g % $2)), 'cart', jsonb_build_array(g, g + 1)),
            case when g % 10 = 0 then now() - interval '1 hour' else now() + interval '1 day' end
       from generate_series(1, $1::int) g`,
    [sessions, users],
  );
  await admin.query("vacuum analyze public.sessions");
}

/** Runs `op`, returning its result, its wall time and its HTTP round trips' count and slowest duration. */
async function timed(calls, op) {
  const from = calls.length;
  const t0 = performance.now();
  let value;
  let error;
  try {
    value = await op();
  } catch (err) {
    error = err;
  }
  const ms = performance.now() - t0;
  const trips = calls.slice(from);
  return { value, error: error?.message, ms, roundTrips: trips.length, slowestMs: Math.max(0, ...trips) };
}

export async function limitsAtScale({ admin, api, sessions = 1_000_000 }) {
  const users = sessions / 10; // ~10 sessions per user
  const t = performance.now();
  await load(admin, sessions, users);
  const loadSeconds = (performance.now() - t) / 1000;
  const calls = [];
  const client = await timedClient(api, calls);
  const store = new SupabaseSessionStore({ client });
  const rows = [];
  const measure = async (name, op, check) => {
    const r = await timed(calls, op);
    r.ok = check(r);
    rows.push({ name, ...r });
  };
  const liveBefore = sessions - sessions / 10;
  // Keys are uniformly spread hex: the middle of the key space is the middle of the listing.
  const middle = "8".padEnd(64, "0");
  try {
    await measure("length()", () => store.length(), (r) => r.value === liveBefore);
    await measure(
      "destroyUserSessions() of a user with ~10 sessions",
      () => store.destroyUserSessions(`u${4242 % users}`),
      (r) => r.value === 9 || r.value === 10,
    );
    await measure(
      "one page of all() (1000 sessions, from the middle)",
      () => client.rpc("session_all_page", { p_after: middle, p_limit: 1000 }),
      (r) => r.value?.data?.length === 1000,
    );
    await measure(
      "one purge batch: cleanup_expired_sessions() (default 10,000)",
      () => client.rpc("cleanup_expired_sessions"),
      (r) => r.value?.data === Math.min(10_000, sessions / 10),
    );
    const live = await store.length();
    await measure("clear()", () => store.clear(), (r) => r.value === live);
  } finally {
    await store.close();
  }
  for (const r of rows) {
    if (r.value?.error) r.error = `${r.value.error.code}: ${r.value.error.message}`;
    delete r.value;
  }
  await admin.query("truncate public.sessions");
  return { sessions, users, loadSeconds, timeoutMs: API_TIMEOUT_MS, rows };
}
