// The Node clients under test, each behind the same promise interface
// (get / set / touch / close) and each with its own pg Pool of size C:
// our store (pg backend, prepared statements on and off, relaxed durability;
// supabase-js backend through the local gateway) and connect-pg-simple.
// Every call goes through the store's callback API, as express-session makes it.
import { createRequire } from "node:module";
import session from "express-session";
import pg from "pg";
import { SupabaseSessionStore } from "../../dist/esm/index.js";

const require = createRequire(import.meta.url);
const connectPgSimple = require("connect-pg-simple");

/** connect-pg-simple's own table, written from its documented schema (sid, sess json, expire). */
export const CPS_TABLE_DDL = `
create table if not exists public."session" (
  sid    varchar      not null primary key,
  sess   json         not null,
  expire timestamp(6) not null
);
create index if not exists "IDX_session_expire" on public."session" (expire);
`;

function callback(store, method, ...args) {
  return new Promise((resolve, reject) => {
    store[method](...args, (err, value) => (err ? reject(err) : resolve(value)));
  });
}

/** A pool of `size` connections whose round trips are counted (every client here calls pool.query). */
function countedPool(dbUrl, size) {
  const pool = new pg.Pool({ connectionString: dbUrl, max: size });
  const query = pool.query.bind(pool);
  const counted = Object.assign(pool, { roundTrips: 0 });
  counted.query = (...args) => {
    counted.roundTrips++;
    return query(...args);
  };
  return counted;
}

function storeClient(store, close, pool) {
  return {
    get: (sid) => callback(store, "get", sid),
    set: (sid, sess) => callback(store, "set", sid, sess),
    touch: (sid, sess) => callback(store, "touch", sid, sess),
    roundTrips: () => pool?.roundTrips,
    close,
  };
}

/** A factory for the store's pg backend with `options`, on a counted pool of C connections. */
function storeOnPool(options) {
  return ({ dbUrl, concurrency, touchAfter }) => {
    const pool = countedPool(dbUrl, concurrency);
    const store = new SupabaseSessionStore({ pool, touchAfter, ...options });
    return storeClient(store, async () => {
      await store.close();
      await pool.end();
    }, pool);
  };
}

/**
 * Each factory takes { dbUrl, concurrency, touchAfter, api } and resolves with a client.
 * `pgbench` names the pgbench script family that sends the same SQL (see pgbench.mjs).
 */
export const CLIENTS = {
  "store-pg": {
    label: "supabase-session-store, pg, prepared",
    pgbench: "store",
    create: storeOnPool({ preparedStatements: true }),
  },
  "store-pg-unprepared": {
    label: "supabase-session-store, pg, unprepared (poolers)",
    pgbench: "store",
    create: storeOnPool({ preparedStatements: false }),
  },
  "store-pg-relaxed": {
    label: "supabase-session-store, pg, prepared, relaxedDurability",
    pgbench: "store",
    create: storeOnPool({ preparedStatements: true, relaxedDurability: true }),
  },
  "store-supabase-js": {
    label: "supabase-session-store, supabase-js via gateway (reference)",
    pgbench: "store",
    async create({ touchAfter, api }) {
      const { createClient } = await import("@supabase/supabase-js");
      const { default: WebSocket } = await import("ws");
      const client = createClient(api.url, api.serviceRoleKey, {
        auth: { persistSession: false, autoRefreshToken: false },
        realtime: { transport: WebSocket },
      });
      const store = new SupabaseSessionStore({ client, touchAfter });
      return storeClient(store, () => store.close());
    },
  },
  "connect-pg-simple": {
    label: "connect-pg-simple 10",
    pgbench: "cps",
    create({ dbUrl, concurrency }) {
      const PgStore = connectPgSimple(session);
      const pool = countedPool(dbUrl, concurrency);
      const store = new PgStore({ pool, tableName: "session", pruneSessionInterval: false });
      return storeClient(store, async () => {
        await store.close();
        await pool.end();
      }, pool);
    },
  },
};
