// Failures: every callback called once, no unhandled rejection, and the `disconnect` /
// `connect` events express-session relies on (with the store's reconnect probe).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { RpcError, SupabaseSessionStore } from "../../dist/esm/index.js";
import { quietPool, supabaseClient } from "./support/backends.mjs";
import {
  closedPortUrl,
  DATABASE_URL,
  endPools,
  inMinutes,
  newSid,
  SERVICE_ROLE_KEY,
  sessionWith,
  settle,
  SUPABASE_URL,
  track,
  waitFor,
} from "./support/store-fixtures.mjs";

after(endPools);

describe("failures: callbacks once, no unhandled rejection, connect/disconnect", () => {
  const unhandled = [];
  const onUnhandled = (reason) => unhandled.push(reason);
  before(() => process.on("unhandledRejection", onUnhandled));
  after(() => process.off("unhandledRejection", onUnhandled));

  const everyOp = (store, sid) => [
    (cb) => store.get(sid, cb),
    (cb) => store.set(sid, sessionWith(inMinutes(30)), cb),
    (cb) => store.touch(sid, sessionWith(inMinutes(30)), cb),
    (cb) => store.destroy(sid, cb),
    (cb) => store.destroyUserSessions("u", cb),
    (cb) => store.all(cb),
    (cb) => store.ids(cb),
    (cb) => store.length(cb),
    (cb) => store.clear(cb),
  ];

  async function assertEachCallbackOnce(store, check) {
    for (const run of everyOp(store, newSid())) {
      const seen = [];
      run((...args) => seen.push(args)); // the promise is ignored, as express-session does
      await waitFor(() => seen.length > 0);
      await settle();
      assert.equal(seen.length, 1);
      check(seen[0][0]);
    }
    await settle();
    assert.deepEqual(unhandled, []);
  }

  test("a pool that rejects (or throws) reaches every callback exactly once", async () => {
    const rejecting = { query: () => Promise.reject(Object.assign(new Error("query failed"), { code: "XX000" })) };
    await assertEachCallbackOnce(
      new SupabaseSessionStore({ pool: rejecting }),
      (err) => assert.equal(err.code, "XX000"),
    );
    const throwing = {
      query: () => {
        throw new Error("sync failure");
      },
    };
    await assertEachCallbackOnce(
      new SupabaseSessionStore({ pool: throwing }),
      (err) => assert.match(err.message, /sync failure/),
    );
  });

  test("pg: disconnect on an unreachable database, connect when it answers again (probe)", async () => {
    const closedPort = await closedPortUrl();
    const bad = quietPool({ connectionString: closedPort, max: 1 });
    const good = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    track(bad, good);
    const switchable = {
      target: bad,
      query(...args) {
        return this.target.query(...args);
      },
    };
    const store = new SupabaseSessionStore({ pool: switchable });
    const events = [];
    store.on("disconnect", () => events.push("disconnect"));
    store.on("connect", () => events.push("connect"));
    await assertEachCallbackOnce(store, (err) => assert.equal(err.code, "ECONNREFUSED"));
    assert.deepEqual(events, ["disconnect"], "one disconnect however many calls fail");
    switchable.target = good;
    await waitFor(() => events.length === 2); // the store's own probe finds the database back
    assert.deepEqual(events, ["disconnect", "connect"]);
    await store.close();
  });

  test("supabase-js: disconnect when the API is unreachable, connect when a call succeeds", async () => {
    const closed = new URL(await closedPortUrl());
    let reachable = false;
    const fetchImpl = (input, init) => {
      const url = new URL(String(input));
      if (!reachable) url.port = closed.port;
      return fetch(url, init);
    };
    const store = new SupabaseSessionStore({ client: supabaseClient(SUPABASE_URL, SERVICE_ROLE_KEY, fetchImpl) });
    const events = [];
    store.on("disconnect", () => events.push("disconnect"));
    store.on("connect", () => events.push("connect"));
    await assertEachCallbackOnce(store, (err) => assert.ok(err instanceof RpcError && err.status === 0, String(err)));
    assert.deepEqual(events, ["disconnect"]);
    reachable = true;
    assert.equal(await store.get(newSid()), null);
    assert.deepEqual(events, ["disconnect", "connect"]);
    await store.close();
  });
});
