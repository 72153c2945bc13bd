// A `set` of unchanged data (what @fastify/session's rolling sessions send on every
// request) costs no write while its expiry moves by less than touchAfter; every other set
// writes. Round trips counted by SQL function, on both backends.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import { sessionFor } from "./support/backends.mjs";
import { COUNTING_BACKENDS, writesIn } from "./support/counting-backends.mjs";

const MINUTE = 60_000;
const made = [];
after(async () => {
  for (const m of made) await m.close();
});

/** A session as the app would save it `minutes` after `base`, with the cookie's expiry 30 minutes on. */
const at = (base, minutes, extra) => {
  const sess = sessionFor(30, extra);
  sess.cookie.expires = new Date(base + (minutes + 30) * MINUTE);
  return sess;
};

for (const backend of Object.keys(COUNTING_BACKENDS)) {
  describe(`unchanged saves (${backend} backend, touchAfter 600)`, () => {
    const open = () => {
      const m = COUNTING_BACKENDS[backend]({ touchAfter: 600 });
      made.push(m);
      return m;
    };
    const sid = () => `unchanged-${randomBytes(8).toString("hex")}`;

    test("an unchanged save within touchAfter makes no round trip; moved by more, or changed, it writes", async () => {
      const { store, calls } = open();
      const id = sid();
      const base = Date.now();
      await store.set(id, at(base, 0, { user: "ann" }));
      assert.equal(writesIn(calls).length, 1);
      calls.length = 0;
      await store.set(id, at(base, 1, { user: "ann" }));
      await store.set(id, at(base, 9, { user: "ann" }));
      assert.deepEqual(calls, [], "no round trip");
      await store.set(id, at(base, 10, { user: "ann" }));
      assert.equal(writesIn(calls).length, 1, "moved by touchAfter: written");
      await store.set(id, at(base, 10, { user: "bob" }));
      assert.equal(writesIn(calls).length, 2, "changed: written");
      assert.equal((await store.get(id)).user, "bob");
    });

    test("data read counts as saved: an unchanged save after a get makes no round trip", async () => {
      const first = open();
      const id = sid();
      const base = Date.now();
      await first.store.set(id, at(base, 0, { user: "ann", cart: { b: 1, a: [2] } }));
      const { store, calls } = open(); // another instance: it knows the session only from its read
      const read = await store.get(id);
      calls.length = 0;
      await store.set(id, { ...read, cookie: at(base, 1).cookie });
      assert.deepEqual(calls, [], "no round trip");
      await store.set(id, { ...read, cookie: at(base, 1).cookie, cart: { ...read.cart, b: 2 } });
      assert.equal(writesIn(calls).length, 1, "a nested change is written");
      assert.equal((await store.get(id)).cart.b, 2);
    });

    test("an unchanged save whose expiry is already past still deletes the session", async () => {
      const { store, calls } = open();
      const id = sid();
      const base = Date.now();
      await store.set(id, at(base, -29.9, { user: "ann" })); // expires in 6 s: within touchAfter of what follows
      calls.length = 0;
      await store.set(id, at(base, -31, { user: "ann" })); // expired a minute ago
      assert.equal(writesIn(calls).length, 1, "written");
      assert.equal(await store.get(id), null);
    });

    test("a destroyed session stays destroyed: the same data saved again writes and is refused", async () => {
      const { store, calls } = open();
      const id = sid();
      const base = Date.now();
      await store.set(id, at(base, 0, { user: "ann" }));
      await store.get(id);
      await store.destroy(id);
      calls.length = 0;
      let refused = 0;
      store.on("destroyedSave", () => refused++);
      await store.set(id, at(base, 1, { user: "ann" }));
      assert.equal(writesIn(calls).length, 1, "not skipped: the store forgot the session");
      assert.equal(refused, 1, "refused by the database");
      assert.equal(await store.get(id), null);
    });
  });
}

describe("unchanged saves with touchAfter 0 (pg backend)", () => {
  test("every save writes", async () => {
    const m = COUNTING_BACKENDS.pg({ touchAfter: 0 });
    made.push(m);
    const id = `unchanged-${randomBytes(8).toString("hex")}`;
    const base = Date.now();
    for (let i = 0; i < 3; i++) await m.store.set(id, at(base, i, { user: "ann" }));
    assert.equal(writesIn(m.calls).length, 3);
  });
});
