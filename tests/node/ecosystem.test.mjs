// What other stores' test suites expect of a store, checked here on both backends: other
// clients' query results, a session without a cookie, and saves after destroy or clear.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import { SupabaseSessionStore } from "../../dist/esm/index.js";
import { BACKENDS, quietPool, sessionFor } from "./support/backends.mjs";
import { requireEnv } from "./support/env.mjs";
import { keyOf } from "./support/keys.mjs";

const { DATABASE_URL } = requireEnv("DATABASE_URL");
const admin = quietPool({ connectionString: DATABASE_URL, max: 2 });
const closers = [];
after(async () => {
  for (const close of closers) await close();
  await admin.end();
});

const newSid = (label = "eco") => `${label}-${randomBytes(9).toString("base64url")}`;
const open = (backend, options) => {
  const made = BACKENDS[backend](options);
  closers.push(made.close);
  return made.store;
};
async function row(sid) {
  const { rows } = await admin.query(
    "select data, extract(epoch from expires_at - updated_at)::float8 as ttl, destroyed_at from public.sessions where sid = $1",
    [keyOf(sid)],
  );
  return rows[0];
}

describe("query results: node-postgres's { rows } and pg-promise's array", () => {
  test("a pool whose query resolves with the array of rows (pg-promise's db.query) serves every operation", async () => {
    const pool = quietPool({ connectionString: DATABASE_URL, max: 2 });
    closers.push(() => pool.end());
    const arrays = { query: async (...args) => (await pool.query(...args)).rows };
    const store = new SupabaseSessionStore({ pool: arrays });
    const sid = newSid();
    await store.set(sid, sessionFor(30, { n: 1 }));
    assert.equal((await store.get(sid)).n, 1);
    await Promise.all([
      store.set(newSid(), sessionFor(30)),
      store.set(newSid(), sessionFor(30)),
      store.set(newSid(), sessionFor(30)),
    ]);
    await store.touch(sid, sessionFor(45));
    assert.ok((await store.ids()).includes(store.sessionHandle(sid)), "ids() are handles");
    assert.ok((await store.length()) >= 1);
    await store.destroy(sid);
    assert.equal(await store.get(sid), null);
  });

  test("any other shape fails with an error that says what query() must resolve with", async () => {
    for (const wrong of [{}, null, "rows", { rows: "no" }]) {
      const store = new SupabaseSessionStore({ pool: { query: () => Promise.resolve(wrong) } });
      await assert.rejects(store.get(newSid()), {
        name: "TypeError",
        message: /must resolve with \{ rows: \[\.\.\.\] \} \(node-postgres\) or an array/,
      });
    }
  });
});

for (const backend of Object.keys(BACKENDS)) {
  describe(`${backend} backend: sessions as other stores' suites use them`, () => {
    test("a session without a cookie is stored with the ttl expiry and read back exactly as stored", async () => {
      const store = open(backend, { ttl: 777 });
      const plain = newSid();
      await store.set(plain, { foo: "bar" });
      assert.deepEqual(await store.get(plain), { foo: "bar" }, "get returns what set stored");
      assert.equal((await row(plain)).ttl, 777, "expiry: the database's now() + ttl");
      // @fastify/session style: an expiry outside `cookie` is data, not the expiry.
      const fastify = newSid();
      const expires = new Date(Date.now() + 60_000).toISOString();
      await store.set(fastify, { expires, user: 1 });
      assert.deepEqual(await store.get(fastify), { expires, user: 1 });
      await store.touch(plain, { foo: "bar" });
      assert.equal((await row(plain)).ttl, 777, "touch without a cookie moves it to now() + ttl");
      assert.ok((await store.all())[keyOf(plain)], "all() lists it too, by its handle");
    });

    test("set after destroy or clear: succeeds, stores nothing, and emits destroyedSave (no session id)", async () => {
      const store = open(backend);
      const events = [];
      store.on("destroyedSave", (...args) => events.push(args));
      const sid = newSid();
      await store.set(sid, sessionFor(30, { user: "ada" }));
      assert.equal(events.length, 0, "an ordinary save emits nothing");
      await store.destroy(sid);
      const late = await new Promise((resolve) =>
        store.set(sid, sessionFor(30, { user: "ada", late: true }), (err) => resolve(err))
      );
      assert.equal(late, null, "express-session's late save does not fail");
      assert.deepEqual(events, [[]], "one event, with no argument (no session id)");
      assert.equal(await store.get(sid), null);
      assert.deepEqual((await row(sid)).data, {}, "the tombstone stays");

      // Batched saves report it too, and only for the destroyed one.
      const others = [newSid(), newSid(), newSid()];
      await Promise.all([sid, ...others].map((s) => store.set(s, sessionFor(30))));
      assert.equal(events.length, 2);
      for (const other of others) assert.ok(await store.get(other));

      // An expiry already past deletes; that is not a destroyed session.
      await store.set(others[0], sessionFor(-1));
      assert.equal(events.length, 2);
    });
  });
}

describe("clear then set", () => {
  test("a session saved after clear() stays cleared and is reported like one saved after destroy", async () => {
    const store = open("pg");
    const sid = newSid("cleared");
    await store.set(sid, sessionFor(30));
    let events = 0;
    store.on("destroyedSave", () => events++);
    await store.clear();
    await store.set(sid, sessionFor(30));
    assert.equal(await store.get(sid), null);
    assert.equal(events, 1);
  });
});
