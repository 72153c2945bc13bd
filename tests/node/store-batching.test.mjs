// Batching, per backend: concurrent reads share a round trip, and so do concurrent writes
// of both kinds (saves and touches in one call, one commit), each with its own effect and
// its own failure; overlapping batches of two stores never deadlock.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callbackCalls } from "./support/backends.mjs";
import {
  admin,
  COUNTED_BACKENDS,
  endPools,
  inMinutes,
  newSid,
  row,
  sessionWith,
  settle,
} from "./support/store-fixtures.mjs";
import { keyOf } from "./support/keys.mjs";

after(endPools);

for (const [name, make] of Object.entries(COUNTED_BACKENDS)) {
  describe(`store batching: ${name} backend`, () => {
    let store, calls;
    before(() => ({ store, calls } = make()));

    test("concurrent gets: the first goes at once, the others of its turn share one call, each gets its own session", async () => {
      const sids = Array.from({ length: 5 }, () => newSid("batch"));
      await Promise.all(sids.map((sid, i) => store.set(sid, sessionWith(inMinutes(30), { i }))));
      const missing = newSid("batch-missing");
      // The saves' call answered five callers: until the turn ends, operations gather.
      await settle();
      calls.count = 0;
      const [a, b, c, d, e, none, again] = await Promise.all([
        ...sids.map((sid) => store.get(sid)),
        store.get(missing),
        store.get(sids[4]),
      ]);
      assert.equal(
        calls.count,
        2,
        "seven concurrent gets: the first alone (nothing else under way), the other six in one call",
      );
      assert.deepEqual([a, b, c, d, e].map((sess) => sess.i), [0, 1, 2, 3, 4], "no session answers for another");
      assert.equal(none, null);
      assert.deepEqual(again, e, "two gets of one session see the same data");
      again.i = "changed by request two";
      assert.equal(e.i, 4, "…in separate objects: one request's changes never leak into the other's");
    });

    test("a failing batched call fails every get, set and touch in it, each through its own callback once", async () => {
      const { store: closed } = make();
      await closed.close();
      const ops = [
        (sid, cb) => closed.get(sid, cb),
        (sid, cb) => closed.touch(sid, sessionWith(inMinutes(30)), cb),
        (sid, cb) => closed.set(sid, sessionWith(inMinutes(30)), cb),
      ];
      const outcomes = await Promise.all(
        ops.flatMap((op) => ["x", "y"].map((sid) => callbackCalls((cb) => op(newSid(sid), cb)))),
      );
      assert.equal(outcomes.length, 6);
      for (const calls of outcomes) {
        assert.match(String(calls[0][0]), /closed/);
        assert.equal(calls.length, 1);
      }
    });

    test("concurrent touches share a round trip, and each has its own effect", async () => {
      const base = inMinutes(30);
      const [due, fresh, destroyed, unknown] = ["due", "fresh", "destroyed", "unknown"].map(newSid);
      await Promise.all([due, fresh, destroyed].map((sid) => store.set(sid, sessionWith(base, { sid }))));
      await store.destroy(destroyed);
      const before = { fresh: await row(fresh), destroyed: await row(destroyed) };
      // A store that never saw these sessions: the database decides what is due.
      const { store: lazy, calls: lazyCalls } = make({ touchAfter: 60 });
      const moved = new Date(base.getTime() + 120_000);
      const callbacks = { due: 0, fresh: 0, destroyed: 0, unknown: 0 };
      const touch = (label, sid, expires) =>
        new Promise((resolve, reject) => {
          lazy.touch(sid, sessionWith(expires), (err) => {
            callbacks[label]++;
            if (err) reject(err);
            else resolve();
          });
        });
      await Promise.all([
        touch("due", due, moved),
        touch("fresh", fresh, new Date(base.getTime() + 10_000)),
        touch("destroyed", destroyed, moved),
        touch("unknown", unknown, moved),
      ]);
      await settle();
      assert.equal(lazyCalls.count, 2, "four concurrent touches: the first alone, the other three in one call");
      assert.deepEqual(callbacks, { due: 1, fresh: 1, destroyed: 1, unknown: 1 }, "each callback exactly once");
      assert.equal((await row(due)).expires_at.getTime(), moved.getTime(), "the due one moved");
      assert.equal((await row(fresh)).xmin, before.fresh.xmin, "the one within touchAfter got no new row version");
      const tomb = await row(destroyed);
      assert.equal(tomb.xmin, before.destroyed.xmin, "the tombstone is not written");
      assert.ok(tomb.destroyed_at && tomb.expires_at <= new Date(), "…nor revived");
      assert.equal(await row(unknown), undefined, "an unknown sid is not created");
      assert.deepEqual(
        await lazy.get(due),
        JSON.parse(JSON.stringify(sessionWith(base, { sid: due }))),
        "data untouched",
      );
    });

    test("concurrent sets: the first goes at once, the others of its turn share one call, each has its own effect", async () => {
      const [fresh, existing, destroyed, past, noExpiry, twice] = [
        "fresh",
        "existing",
        "destroyed",
        "past",
        "ttl",
        "twice",
      ].map(newSid);
      await Promise.all(
        [existing, destroyed, past].map((sid) => store.set(sid, sessionWith(inMinutes(30), { v: "old" }))),
      );
      await store.destroy(destroyed);
      const tomb = await row(destroyed);
      const expires = inMinutes(45);
      const later = inMinutes(50);
      const callbacks = [];
      const set = (sid, sess) =>
        new Promise((resolve, reject) => {
          store.set(sid, sess, (err) => {
            callbacks.push(sid);
            if (err) reject(err);
            else resolve();
          });
        });
      calls.count = 0;
      await Promise.all([
        set(fresh, sessionWith(expires, { v: "fresh" })),
        set(existing, sessionWith(expires, { v: "new" })),
        set(destroyed, sessionWith(expires, { v: "revived?" })),
        set(past, sessionWith(new Date(Date.now() - 1_000))),
        set(noExpiry, { cookie: { originalMaxAge: null, httpOnly: true, path: "/" }, v: "ttl" }),
        set(twice, sessionWith(expires, { v: "first" })),
        set(twice, sessionWith(later, { v: "second" })),
      ]);
      await settle();
      assert.equal(calls.count, 2, "seven concurrent sets: the first alone, the other six in one call");
      assert.equal(callbacks.length, 7, "each callback exactly once");
      for (const [sid, v] of [[fresh, "fresh"], [existing, "new"]]) {
        const stored = await row(sid);
        assert.equal(stored.data.v, v);
        assert.equal(stored.expires_at.getTime(), expires.getTime());
      }
      const after = await row(destroyed);
      assert.equal(after.xmin, tomb.xmin, "the tombstone is not written");
      assert.deepEqual(after.data, {}, "…nor revived");
      assert.equal(await row(past), undefined, "an expiry already past deletes the session");
      const { rows: [ttl] } = await admin.query(
        "select data->>'v' as v, extract(epoch from expires_at - updated_at)::int as secs from public.sessions where sid = $1",
        [keyOf(noExpiry)],
      );
      assert.deepEqual(ttl, { v: "ttl", secs: store.ttl }, "no cookie expiry: now() + ttl on the database clock");
      const last = await row(twice);
      assert.equal(last.data.v, "second", "one sid saved twice in one batch keeps the later save");
      assert.equal(last.expires_at.getTime(), later.getTime(), "…and its expiry");
      assert.deepEqual((await store.get(existing)).v, "new");
    });

    test("a save stores the session as it was when set was called, not when its batch went out", async () => {
      const sid = newSid("snapshot");
      const sess = sessionWith(inMinutes(30), { v: "at set", nested: { n: 1 } });
      const saved = store.set(sid, sess);
      sess.v = "changed in the same turn";
      sess.nested.n = 2;
      await saved;
      const { data } = await row(sid);
      assert.equal(data.v, "at set");
      assert.equal(data.nested.n, 1);
    });

    test("one sid touched three times at once: in issue order, the two that waited merge, the last expiry wins", async () => {
      const sid = newSid("twice");
      await store.set(sid, sessionWith(inMinutes(30)));
      for (
        const [first, middle, last] of [[inMinutes(40), inMinutes(45), inMinutes(50)], [
          inMinutes(70),
          inMinutes(80),
          inMinutes(60),
        ]]
      ) {
        calls.count = 0;
        await Promise.all([first, middle, last].map((at) => store.touch(sid, sessionWith(at))));
        assert.equal(calls.count, 2, "the first alone; the others wait for it (same session) and go as one entry");
        assert.equal((await row(sid)).expires_at.getTime(), last.getTime());
      }
    });

    test("concurrent saves and touches share one call and one commit, each with its own effect", async () => {
      const base = inMinutes(30);
      const [saved, touched, savedThenTouched, touchedThenSaved, destroyed, gone] = [
        "saved",
        "touched",
        "save-touch",
        "touch-save",
        "destroyed",
        "gone",
      ].map(newSid);
      await Promise.all(
        [touched, savedThenTouched, touchedThenSaved, destroyed].map((sid) =>
          store.set(sid, sessionWith(base, { v: "old" }))
        ),
      );
      await store.destroy(destroyed);
      const tomb = await row(destroyed);
      const later = inMinutes(50);
      const latest = inMinutes(55);
      calls.count = 0;
      // A read under way: the moment is not quiet, so the writes of this turn wait for its end
      // and go together.
      const read = store.get(newSid("busy"));
      await Promise.all([
        store.set(saved, sessionWith(later, { v: "saved" })),
        store.touch(touched, sessionWith(later)),
        store.set(savedThenTouched, sessionWith(later, { v: "new" })),
        store.touch(savedThenTouched, sessionWith(latest)),
        store.touch(touchedThenSaved, sessionWith(latest)),
        store.set(touchedThenSaved, sessionWith(later, { v: "new" })),
        store.touch(destroyed, sessionWith(later)),
        store.set(gone, sessionWith(new Date(Date.now() - 1_000))),
      ]);
      await read;
      assert.equal(calls.count, 2, "the read, and one call for eight concurrent writes of both kinds");
      const written = await admin.query(
        "select count(distinct xmin::text)::int as commits from public.sessions where sid = any($1)",
        [[saved, touched, savedThenTouched, touchedThenSaved].map(keyOf)],
      );
      assert.equal(written.rows[0].commits, 1, "…and one transaction wrote all four");
      assert.equal((await row(saved)).data.v, "saved");
      const t = await row(touched);
      assert.equal(t.data.v, "old", "a touch never changes the data");
      assert.equal(t.expires_at.getTime(), later.getTime(), "…only the expiry");
      const st = await row(savedThenTouched);
      assert.equal(st.data.v, "new", "a save, then a touch: the data saved…");
      assert.equal(st.expires_at.getTime(), latest.getTime(), "…with the touch's expiry");
      const ts = await row(touchedThenSaved);
      assert.equal(ts.data.v, "new", "a touch, then a save: the save, whole");
      assert.equal(ts.expires_at.getTime(), later.getTime());
      assert.equal((await row(destroyed)).xmin, tomb.xmin, "a destroyed session is not touched");
      assert.equal(await row(gone), undefined, "an expiry already past stores nothing");
    });

    test(
      "two stores saving and touching overlapping sessions in opposite orders never deadlock",
      { timeout: 120_000 },
      async () => {
        const sids = Array.from({ length: 20 }, (_, i) => newSid(`lock-${String(i).padStart(2, "0")}`));
        await Promise.all(sids.map((sid) => store.set(sid, sessionWith(inMinutes(30)))));
        const stores = [make().store, make().store];
        const writes = [];
        const start = Date.now();
        const expiry = (round) => new Date(start + (40 + round) * 60_000);
        for (let round = 0; round < 200; round++) {
          const expires = expiry(round);
          // Each round is its own batch per store and kind: the writes go out on the next turn,
          // while earlier rounds' calls may still hold row locks.
          const [first, second] = round % 2 ? [stores[0], stores[1]] : [stores[1], stores[0]];
          // One store saves the first half and touches the second, the other the reverse, in
          // opposite orders: each call holds both kinds, as under load (session_write).
          const [low, high] = [sids.slice(0, 10), sids.slice(10)];
          writes.push(...low.map((sid) => first.set(sid, sessionWith(expires, { round }))));
          writes.push(...high.map((sid) => first.touch(sid, sessionWith(expires))));
          writes.push(...[...high].reverse().map((sid) => second.set(sid, sessionWith(expires, { round }))));
          writes.push(...[...low].reverse().map((sid) => second.touch(sid, sessionWith(expires))));
          await settle();
        }
        const outcomes = await Promise.allSettled(writes);
        const failures = outcomes.filter((o) => o.status === "rejected").map((o) => o.reason);
        assert.deepEqual(failures.map((err) => err.code ?? String(err)), [], "no write failed (no 40P01 deadlock)");
        const { rows } = await admin.query("select expires_at from public.sessions where sid = any($1)", [
          sids.map(keyOf),
        ]);
        assert.equal(rows.length, sids.length);
        for (const { expires_at: at } of rows) {
          assert.ok(at >= expiry(0) && at <= expiry(199), "each holds a round's expiry");
        }
      },
    );
  });
}
