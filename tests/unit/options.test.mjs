// The store's options are checked when it is made, in JavaScript as in TypeScript:
// no database is needed (the pool is never queried).
import assert from "node:assert/strict";
import { test } from "node:test";
import { SupabaseSessionStore } from "../../dist/esm/index.js";

const pool = { query: () => Promise.reject(new Error("not called")) };

test("an unknown option (connect-pg-simple's tableName) is a TypeError naming it and the known options", () => {
  assert.throws(() => new SupabaseSessionStore({ pool, tableName: "sessions" }), (err) => {
    assert.ok(err instanceof TypeError);
    assert.match(err.message, /unknown option tableName;/);
    for (const known of ["client", "pool", "connectionString", "ttl", "touchAfter", "schema", "relaxedDurability"]) {
      assert.match(err.message, new RegExp(`\\b${known}\\b`));
    }
    return true;
  });
  assert.throws(
    () => new SupabaseSessionStore({ pool, ttl: 60, pruneSessionInterval: 60, createTableIfMissing: true }),
    /unknown options pruneSessionInterval, createTableIfMissing;/,
  );
});

test("every documented option is accepted", async () => {
  const store = new SupabaseSessionStore({
    pool,
    ttl: 60,
    touchAfter: 10,
    disableTouch: false,
    schema: "session_store",
    onError: () => {},
    maxDataBytes: 1024,
    relaxedDurability: true,
    preparedStatements: false,
  });
  assert.equal(store.relaxedDurability, true);
  await store.close();
});
