// The store's contract, run once per backend (node-postgres pool; supabase-js through the
// local PostgREST-compatible gateway) against the real migrated database.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { CorruptSessionError, MAX_IN_FLIGHT, RpcError, SupabaseSessionStore } from "../../dist/esm/index.js";
import { freePort } from "../../scripts/stack.mjs";
import { callbackCalls, quietPool, supabaseClient } from "./support/backends.mjs";
import { requireEnv } from "./support/env.mjs";

const { DATABASE_URL, SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY: SERVICE_ROLE_KEY, SUPABASE_ANON_KEY: ANON_KEY } =
  requireEnv("DATABASE_URL", "SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_ANON_KEY");

const admin = quietPool({ connectionString: DATABASE_URL, max: 4 });
const pools = [];

const newSid = (label = "s") => `${label}-${randomBytes(12).toString("base64url")}`;
const inMinutes = (m) => new Date(Date.now() + m * 60_000);
const sessionWith = (expires, extra = {}) => ({ cookie: { originalMaxAge: 3_600_000, expires, httpOnly: true, path: "/" }, ...extra });

async function row(sid) {
  const { rows } = await admin.query(
    "select data, expires_at, updated_at, destroyed_at, xmin::text as xmin from public.sessions where sid = $1", [sid]);
  return rows[0];
}

/**
 * Each backend builds a store whose database calls are counted: `calls.count` is the
 * number of round trips (pool.query() calls, or HTTP requests to the RPC endpoint).
 */
const backends = {
  pg(options = {}) {
    const pool = quietPool({ connectionString: DATABASE_URL, max: 20 });
    pools.push(pool);
    const calls = { count: 0 };
    const counted = { query: (...args) => { calls.count++; return pool.query(...args); } };
    return { store: new SupabaseSessionStore({ pool: counted, ...options }), calls };
  },
  "supabase-js"(options = {}) {
    const calls = { count: 0 };
    const client = supabaseClient(SUPABASE_URL, SERVICE_ROLE_KEY, (input, init) => { calls.count++; return fetch(input, init); });
    return { store: new SupabaseSessionStore({ client, ...options }), calls };
  },
};

after(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await admin.end();
});

for (const [name, make] of Object.entries(backends)) {
  describe(`store contract: ${name} backend`, () => {
    let store, calls;
    before(() => ({ store, calls } = make()));

    test("set then get returns the data, one round trip each", async () => {
      const sid = newSid();
      const expires = inMinutes(30);
      const sess = sessionWith(expires, { user: "ada", nested: { n: 1, list: [1, "two"] } });
      calls.count = 0;
      await store.set(sid, sess);
      assert.equal(calls.count, 1);
      const got = await store.get(sid);
      assert.equal(calls.count, 2);
      assert.deepEqual(got, JSON.parse(JSON.stringify(sess)));
      assert.equal(got.cookie.expires, expires.toISOString(), "only express-session revives cookie.expires");
    });

    test("every operation is exactly one round trip", async () => {
      const sid = newSid();
      const sess = sessionWith(inMinutes(30), { passport: { user: `one-trip-${sid}` } });
      const ops = {
        set: () => store.set(sid, sess),
        get: () => store.get(sid),
        touch: () => store.touch(sid, sessionWith(inMinutes(31))),
        all: () => store.all(),
        ids: () => store.ids(),
        length: () => store.length(),
        destroyUserSessions: () => store.destroyUserSessions(`one-trip-${sid}`),
        destroy: () => store.destroy(sid),
      };
      for (const [op, run] of Object.entries(ops)) {
        calls.count = 0;
        await run();
        assert.equal(calls.count, 1, `${op} made ${calls.count} round trips`);
      }
    });

    test("concurrent gets: the first go out at once, those arriving meanwhile share one call, each gets its own session", async () => {
      assert.equal(MAX_IN_FLIGHT, 2, "this test counts calls for two in flight");
      const sids = Array.from({ length: 5 }, () => newSid("batch"));
      await Promise.all(sids.map((sid, i) => store.set(sid, sessionWith(inMinutes(30), { i }))));
      const missing = newSid("batch-missing");
      calls.count = 0;
      const [a, b, c, d, e, none, again] = await Promise.all([...sids.map((sid) => store.get(sid)), store.get(missing),
        store.get(sids[4])]);
      assert.equal(calls.count, MAX_IN_FLIGHT + 1, "seven concurrent gets: two alone, the five that waited in one call");
      assert.deepEqual([a, b, c, d, e].map((sess) => sess.i), [0, 1, 2, 3, 4], "no session answers for another");
      assert.equal(none, null);
      assert.deepEqual(again, e, "two gets of one session see the same data");
      again.i = "changed by request two";
      assert.equal(e.i, 4, "…in separate objects: one request's changes never leak into the other's");
    });

    test("a failing batched call fails every get, set and touch in it, each through its own callback once", async () => {
      const { store: closed } = make();
      await closed.close();
      const ops = [(sid, cb) => closed.get(sid, cb), (sid, cb) => closed.touch(sid, sessionWith(inMinutes(30)), cb),
        (sid, cb) => closed.set(sid, sessionWith(inMinutes(30)), cb)];
      const outcomes = await Promise.all(ops.flatMap((op) => ["x", "y"].map((sid) =>
        callbackCalls((cb) => op(newSid(sid), cb)))));
      assert.equal(outcomes.length, 6);
      for (const calls of outcomes) {
        assert.match(String(calls[0][0]), /closed/);
        assert.equal(calls.length, 1);
      }
    });

    test("relaxedDurability commits set and touch asynchronously; destroy stays durable", async () => {
      const seen = [];
      const { store: relaxed } = make({ relaxedDurability: true });
      assert.equal(relaxed.relaxedDurability, true);
      // What the functions do with the flag: synchronous_commit off for that transaction only.
      const client = await admin.connect();
      try {
        await client.query("begin");
        await client.query("select public.session_save_one($1, '{\"cookie\": {}}', now() + interval '1 hour', null, false)", [newSid("relaxed")]);
        seen.push((await client.query("show synchronous_commit")).rows[0].synchronous_commit);
        await client.query("rollback");
        await client.query("begin");
        await client.query("select public.session_save_one($1, '{\"cookie\": {}}', now() + interval '1 hour')", [newSid("durable")]);
        seen.push((await client.query("show synchronous_commit")).rows[0].synchronous_commit);
        await client.query("rollback");
      } finally {
        client.release();
      }
      assert.deepEqual(seen, ["off", "on"]);
      // And the store really stores through it.
      const sid = newSid("relaxed-store");
      await relaxed.set(sid, sessionWith(inMinutes(30), { n: 1 }));
      await relaxed.touch(sid, sessionWith(inMinutes(45), { n: 1 }));
      assert.equal((await row(sid)).expires_at.getTime() > inMinutes(44).getTime(), true);
      await relaxed.destroy(sid);
      assert.equal(await relaxed.get(sid), null);
    });

    test("expiry is cookie.expires (Date or ISO string) exactly", async () => {
      const sid = newSid();
      const expires = new Date(Date.now() + 90 * 60_000);
      await store.set(sid, sessionWith(expires));
      assert.equal((await row(sid)).expires_at.getTime(), expires.getTime());
      const later = inMinutes(120);
      await store.set(sid, sessionWith(later.toISOString()));
      assert.equal((await row(sid)).expires_at.getTime(), later.getTime());
    });

    test("without cookie.expires the expiry is the database's now() + ttl", async () => {
      const { store: ttlStore } = make({ ttl: 1234 });
      const sid = newSid();
      await ttlStore.set(sid, { cookie: { originalMaxAge: null, httpOnly: true, path: "/" }, n: 1 });
      // Inserted in one transaction, so created_at is that transaction's now().
      const { rows: [r] } = await admin.query(
        "select extract(epoch from expires_at - created_at)::float8 as ttl from public.sessions where sid = $1", [sid]);
      assert.equal(r.ttl, 1234);
      await admin.query("update public.sessions set expires_at = now() + interval '5 seconds' where sid = $1", [sid]);
      await ttlStore.touch(sid, { cookie: { originalMaxAge: null } });
      const { rows: [t] } = await admin.query(
        "select extract(epoch from expires_at - updated_at)::float8 as ttl from public.sessions where sid = $1", [sid]);
      assert.equal(t.ttl, 1234, "touch without cookie expiry moves the expiry to the database's now() + ttl");
    });

    test("set with an expiry already past deletes the session", async () => {
      const sid = newSid();
      await store.set(sid, sessionWith(inMinutes(30)));
      assert.ok(await row(sid));
      await store.set(sid, sessionWith(new Date(Date.now() - 1000)));
      assert.equal(await row(sid), undefined);
      assert.equal(await store.get(sid), null);
      await store.set(newSid(), sessionWith(new Date(Date.now() - 1000)));
    });

    test("an expired session is never returned, even before cleanup", async () => {
      const sid = newSid();
      await store.set(sid, sessionWith(inMinutes(30)));
      await admin.query("update public.sessions set expires_at = now() - interval '1 second' where sid = $1", [sid]);
      assert.ok(await row(sid), "the row is still there");
      assert.equal(await store.get(sid), null);
      assert.ok(!(await store.ids()).includes(sid));
      assert.ok(!(sid in (await store.all())));
      await store.touch(sid, sessionWith(inMinutes(60)));
      assert.equal(await store.get(sid), null, "touch does not revive an expired session");
    });

    test("a corrupt row yields no session and is reported, never thrown", async () => {
      const reported = [];
      const { store: watched } = make({ onError: (err) => reported.push(err) });
      const bad = {
        [newSid("cookienum")]: { cookie: 5 },
        [newSid("badexpires")]: { cookie: { expires: "not a date" } },
      };
      for (const [sid, data] of Object.entries(bad)) {
        await admin.query("insert into public.sessions (sid, data, expires_at) values ($1, $2, now() + interval '1 hour')", [sid, data]);
      }
      for (const sid of Object.keys(bad)) assert.equal(await watched.get(sid), null);
      assert.equal(reported.length, 2);
      for (const [i, sid] of Object.keys(bad).entries()) {
        assert.ok(reported[i] instanceof CorruptSessionError);
        assert.ok(!reported[i].message.includes(sid), "the session id (a credential) is never in the message");
      }
      const all = await watched.all();
      for (const sid of Object.keys(bad)) assert.ok(!(sid in all));
      assert.ok(reported.length >= 4, "all() reports corrupt rows too");

      // Without onError: the 'error' event, but only when someone listens.
      const { store: plain } = make();
      const events = [];
      plain.on("error", (err) => events.push(err));
      assert.equal(await plain.get(Object.keys(bad)[0]), null);
      assert.equal(events.length, 1);
      await admin.query("delete from public.sessions where sid = any($1)", [Object.keys(bad)]);
    });

    test("touch changes only the expiry, never the data", async () => {
      const sid = newSid();
      await store.set(sid, sessionWith(inMinutes(30), { cart: [1, 2] }));
      const before = await row(sid);
      const later = inMinutes(45);
      await store.touch(sid, sessionWith(later, { cart: ["changed in memory"], extra: true }));
      const afterTouch = await row(sid);
      assert.deepEqual(afterTouch.data, before.data);
      assert.equal(afterTouch.expires_at.getTime(), later.getTime());
    });

    test("touchAfter: within the threshold no round trip and no new row version", async () => {
      const { store: lazy, calls: lazyCalls } = make({ touchAfter: 60 });
      const sid = newSid();
      const base = inMinutes(30);
      await lazy.set(sid, sessionWith(base));
      const written = await row(sid);

      lazyCalls.count = 0;
      await lazy.touch(sid, sessionWith(new Date(base.getTime() + 10_000)));
      assert.equal(lazyCalls.count, 0, "the store's own cache skips the round trip");

      // A store that never saw the session asks the database, which skips the write.
      const { store: fresh, calls: freshCalls } = make({ touchAfter: 60 });
      await fresh.touch(sid, sessionWith(new Date(base.getTime() + 20_000)));
      assert.equal(freshCalls.count, 1);
      const unchanged = await row(sid);
      assert.equal(unchanged.xmin, written.xmin, "no row version was created");
      assert.equal(unchanged.expires_at.getTime(), base.getTime());

      const moved = new Date(base.getTime() + 120_000);
      await lazy.touch(sid, sessionWith(moved));
      assert.equal(lazyCalls.count, 1);
      const updated = await row(sid);
      assert.notEqual(updated.xmin, written.xmin);
      assert.equal(updated.expires_at.getTime(), moved.getTime());

      // Cookie without expiry: the store's own ttl write is recent, so no round trip.
      const ttlSid = newSid();
      await lazy.set(ttlSid, { cookie: { originalMaxAge: null } });
      lazyCalls.count = 0;
      await lazy.touch(ttlSid, { cookie: { originalMaxAge: null } });
      assert.equal(lazyCalls.count, 0);
    });

    test("concurrent touches share one round trip, and each has its own effect", async () => {
      const base = inMinutes(30);
      const [due, fresh, destroyed, unknown] = ["due", "fresh", "destroyed", "unknown"].map(newSid);
      await Promise.all([due, fresh, destroyed].map((sid) => store.set(sid, sessionWith(base, { sid }))));
      await store.destroy(destroyed);
      const before = { fresh: await row(fresh), destroyed: await row(destroyed) };
      // A store that never saw these sessions: the database decides what is due.
      const { store: lazy, calls: lazyCalls } = make({ touchAfter: 60 });
      const moved = new Date(base.getTime() + 120_000);
      const callbacks = { due: 0, fresh: 0, destroyed: 0, unknown: 0 };
      const touch = (label, sid, expires) => new Promise((resolve, reject) => {
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
      assert.equal(lazyCalls.count, MAX_IN_FLIGHT + 1, "four concurrent touches: two alone, the two that waited in one call");
      assert.deepEqual(callbacks, { due: 1, fresh: 1, destroyed: 1, unknown: 1 }, "each callback exactly once");
      assert.equal((await row(due)).expires_at.getTime(), moved.getTime(), "the due one moved");
      assert.equal((await row(fresh)).xmin, before.fresh.xmin, "the one within touchAfter got no new row version");
      const tomb = await row(destroyed);
      assert.equal(tomb.xmin, before.destroyed.xmin, "the tombstone is not written");
      assert.ok(tomb.destroyed_at && tomb.expires_at <= new Date(), "…nor revived");
      assert.equal(await row(unknown), undefined, "an unknown sid is not created");
      assert.deepEqual(await lazy.get(due), JSON.parse(JSON.stringify(sessionWith(base, { sid: due }))), "data untouched");
    });

    test("concurrent sets: the first go out at once, those arriving meanwhile share one call, each has its own effect", async () => {
      const [fresh, existing, destroyed, past, noExpiry, twice] = ["fresh", "existing", "destroyed", "past", "ttl", "twice"].map(newSid);
      await Promise.all([existing, destroyed, past].map((sid) => store.set(sid, sessionWith(inMinutes(30), { v: "old" }))));
      await store.destroy(destroyed);
      const tomb = await row(destroyed);
      const expires = inMinutes(45);
      const later = inMinutes(50);
      const callbacks = [];
      const set = (sid, sess) => new Promise((resolve, reject) => {
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
      assert.equal(calls.count, MAX_IN_FLIGHT + 1, "seven concurrent sets: two alone, the five that waited in one call");
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
        "select data->>'v' as v, extract(epoch from expires_at - updated_at)::int as secs from public.sessions where sid = $1", [noExpiry]);
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
      for (const [first, middle, last] of [[inMinutes(40), inMinutes(45), inMinutes(50)], [inMinutes(70), inMinutes(80), inMinutes(60)]]) {
        calls.count = 0;
        await Promise.all([first, middle, last].map((at) => store.touch(sid, sessionWith(at))));
        assert.equal(calls.count, 2, "the first alone; the others wait for it (same session) and go as one entry");
        assert.equal((await row(sid)).expires_at.getTime(), last.getTime());
      }
    });

    test("two stores saving and touching overlapping sessions in opposite orders never deadlock", { timeout: 120_000 }, async () => {
      const sids = Array.from({ length: 20 }, (_, i) => newSid(`lock-${String(i).padStart(2, "0")}`));
      await Promise.all(sids.map((sid) => store.set(sid, sessionWith(inMinutes(30)))));
      const stores = [make().store, make().store];
      const reversed = [...sids].reverse();
      const writes = [];
      const start = Date.now();
      const expiry = (round) => new Date(start + (40 + round) * 60_000);
      for (let round = 0; round < 200; round++) {
        const expires = expiry(round);
        // Each round is its own batch per store and kind: the writes go out on the next turn,
        // while earlier rounds' calls may still hold row locks.
        const [first, second] = round % 2 ? [stores[0], stores[1]] : [stores[1], stores[0]];
        writes.push(...sids.map((sid) => first.set(sid, sessionWith(expires, { round }))));
        writes.push(...reversed.map((sid) => second.set(sid, sessionWith(expires, { round }))));
        writes.push(...reversed.map((sid) => first.touch(sid, sessionWith(expires))));
        writes.push(...sids.map((sid) => second.touch(sid, sessionWith(expires))));
        await settle();
      }
      const outcomes = await Promise.allSettled(writes);
      const failures = outcomes.filter((o) => o.status === "rejected").map((o) => o.reason);
      assert.deepEqual(failures.map((err) => err.code ?? String(err)), [], "no write failed (no 40P01 deadlock)");
      const { rows } = await admin.query("select expires_at from public.sessions where sid = any($1)", [sids]);
      assert.equal(rows.length, sids.length);
      for (const { expires_at: at } of rows) assert.ok(at >= expiry(0) && at <= expiry(199), "each holds a round's expiry");
    });

    test("disableTouch: touch makes no round trip", async () => {
      const { store: still, calls: stillCalls } = make({ disableTouch: true });
      const sid = newSid();
      const base = inMinutes(30);
      await still.set(sid, sessionWith(base));
      stillCalls.count = 0;
      await still.touch(sid, sessionWith(inMinutes(90)));
      assert.equal(stillCalls.count, 0);
      assert.equal((await row(sid)).expires_at.getTime(), base.getTime());
    });

    test("logout is final: a late set or touch does not revive a destroyed session", async () => {
      const sid = newSid();
      await store.set(sid, sessionWith(inMinutes(30), { user: "ada" }));
      await store.destroy(sid);
      await store.set(sid, sessionWith(inMinutes(30), { user: "ada", late: true }));
      await store.touch(sid, sessionWith(inMinutes(60)));
      assert.equal(await store.get(sid), null);
      const tomb = await row(sid);
      assert.ok(tomb.destroyed_at, "a tombstone stays");
      assert.deepEqual(tomb.data, {}, "its data is wiped");
      const { rows: [live] } = await admin.query(
        "select count(*)::int as n from public.sessions where expires_at > now() and sid = $1", [sid]);
      assert.equal(live.n, 0, "the monitoring query does not count it");
      await store.destroy(newSid()); // destroying an unknown session is fine
    });

    test("logout is final even when destroy, set and touch run concurrently on a locked row", async () => {
      const sid = newSid();
      await store.set(sid, sessionWith(inMinutes(30), { user: "ada" }));
      const holder = await admin.connect();
      try {
        await holder.query("begin");
        await holder.query("select 1 from public.sessions where sid = $1 for update", [sid]);
        const waiting = (n) => waitFor(async () => {
          const { rows: [r] } = await admin.query(
            "select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()");
          return r.n >= n;
        });
        const destroyed = store.destroy(sid);
        await waiting(1);
        const lateSet = store.set(sid, sessionWith(inMinutes(30), { user: "ada", late: true }));
        const lateTouch = store.touch(sid, sessionWith(inMinutes(60)));
        await waiting(3);
        await holder.query("commit");
        await Promise.all([destroyed, lateSet, lateTouch]);
      } finally {
        holder.release();
      }
      assert.equal(await store.get(sid), null);
      assert.ok((await row(sid)).destroyed_at);
    });

    test("100 parallel sets and touches of one sid all succeed and leave one consistent row", async () => {
      const sid = newSid();
      const expiries = Array.from({ length: 100 }, (_, i) => new Date(Date.now() + (30 + i) * 60_000));
      await Promise.all(expiries.flatMap((expires, i) => [
        store.set(sid, sessionWith(expires, { n: i })),
        store.touch(sid, sessionWith(expires, { n: -1 })),
      ]));
      const { rows } = await admin.query("select data, expires_at from public.sessions where sid = $1", [sid]);
      assert.equal(rows.length, 1);
      const { n } = rows[0].data;
      assert.ok(Number.isInteger(n) && n >= 0 && n < 100, "data is one of the sets', never a touch's");
      assert.deepEqual(rows[0].data, JSON.parse(JSON.stringify(sessionWith(expiries[n], { n }))));
      assert.ok(expiries.some((e) => e.getTime() === rows[0].expires_at.getTime()));
    });

    test("bad input: a clear error through the callback and the promise, no database call", async () => {
      const circular = sessionWith(inMinutes(30));
      circular.self = circular;
      const ok = sessionWith(inMinutes(30));
      const cases = [
        ["get non-string sid", TypeError, (cb) => store.get(42, cb)],
        ["get empty sid", TypeError, (cb) => store.get("", cb)],
        ["get sid over 255", RangeError, (cb) => store.get("x".repeat(256), cb)],
        ["set undefined sid", TypeError, (cb) => store.set(undefined, ok, cb)],
        ["set circular data", TypeError, (cb) => store.set(newSid(), circular, cb)],
        ["set BigInt data", TypeError, (cb) => store.set(newSid(), sessionWith(inMinutes(30), { big: 10n }), cb)],
        ["set data over maxDataBytes", RangeError, (cb) => store.set(newSid(), sessionWith(inMinutes(30), { blob: "x".repeat(70_000) }), cb)],
        ["set cookie that is not an object", TypeError, (cb) => store.set(newSid(), { cookie: "yes", user: 1 }, cb)],
        ["set data that is not an object", TypeError, (cb) => store.set(newSid(), "text", cb)],
        ["set data with a NUL character", TypeError, (cb) => store.set(newSid(), sessionWith(inMinutes(30), { s: "a\0b" }), cb)],
        ["set invalid cookie.expires", RangeError, (cb) => store.set(newSid(), sessionWith("yesterday-ish"), cb)],
        ["touch empty sid", TypeError, (cb) => store.touch("", ok, cb)],
        ["destroy object sid", TypeError, (cb) => store.destroy({}, cb)],
        ["destroyUserSessions empty user", TypeError, (cb) => store.destroyUserSessions("", cb)],
      ];
      const { rows: [before] } = await admin.query("select count(*)::int as n, max(updated_at) as t from public.sessions");
      for (const [label, Type, run] of cases) {
        calls.count = 0;
        const seen = [];
        const promise = run((err) => seen.push(err));
        await assert.rejects(promise, Type, label);
        await settle();
        assert.equal(seen.length, 1, `${label}: callback called once`);
        assert.ok(seen[0] instanceof Type, `${label}: ${seen[0]}`);
        assert.ok(seen[0].message.length > 10, `${label}: a useful message`);
        assert.equal(calls.count, 0, `${label}: no database call`);
      }
      const { rows: [afterAll] } = await admin.query("select count(*)::int as n, max(updated_at) as t from public.sessions");
      assert.deepEqual(afterAll, before, "nothing changed");
    });

    test("destroyUserSessions ends every session of one Passport user, only theirs", async () => {
      const user = `user-${randomBytes(6).toString("hex")}`;
      const mine = [newSid(), newSid()];
      const other = newSid();
      for (const sid of mine) await store.set(sid, sessionWith(inMinutes(30), { passport: { user } }));
      await store.set(other, sessionWith(inMinutes(30), { passport: { user: `${user}-other` } }));
      const cbResult = await new Promise((resolve, reject) =>
        store.destroyUserSessions(user, (err, n) => (err ? reject(err) : resolve(n))));
      assert.equal(cbResult, 2);
      for (const sid of mine) assert.equal(await store.get(sid), null);
      assert.ok(await store.get(other));
      // A numeric Passport id matches its text form, and a late set does not revive it.
      const numeric = newSid();
      const id = Number.parseInt(randomBytes(3).toString("hex"), 16) + 1_000_000;
      await store.set(numeric, sessionWith(inMinutes(30), { passport: { user: id } }));
      assert.equal(await store.destroyUserSessions(id), 1);
      await store.set(numeric, sessionWith(inMinutes(30), { passport: { user: id } }));
      assert.equal(await store.get(numeric), null);
    });

    test("all, ids and length see exactly the live sessions", async () => {
      const live = [newSid("live"), newSid("live")];
      const expired = newSid("expired");
      for (const sid of [...live, expired]) await store.set(sid, sessionWith(inMinutes(30), { sid }));
      await admin.query("update public.sessions set expires_at = now() - interval '1 second' where sid = $1", [expired]);
      const all = await store.all();
      const ids = await store.ids();
      for (const sid of live) {
        assert.deepEqual(all[sid].sid, sid);
        assert.ok(ids.includes(sid), `${sid} not in ${ids.length} ids ${JSON.stringify(ids.slice(0, 3))}`);
      }
      assert.ok(!(expired in all) && !ids.includes(expired));
      const { rows: [monitor] } = await admin.query("select count(*)::int as n from public.sessions where expires_at > now()");
      assert.equal(await store.length(), monitor.n);
      assert.equal(ids.length, monitor.n);
      assert.equal(Object.keys(all).length, monitor.n);
    });

    test("clear destroys every session (tombstones: not revivable)", async () => {
      const sid = newSid();
      await store.set(sid, sessionWith(inMinutes(30)));
      const before = await store.length();
      assert.equal(await store.clear(), before);
      assert.equal(await store.length(), 0);
      await store.set(sid, sessionWith(inMinutes(30)));
      assert.equal(await store.get(sid), null);
    });

    test("callbacks: called exactly once with the result, promise resolves too", async () => {
      const sid = newSid();
      const seen = [];
      const cb = (...args) => seen.push(args);
      await store.set(sid, sessionWith(inMinutes(30), { a: 1 }), cb);
      const got = await store.get(sid, cb);
      await store.touch(sid, sessionWith(inMinutes(40)), cb);
      await store.length(cb);
      await store.destroy(sid, cb);
      await store.get(sid, cb);
      await settle();
      assert.equal(seen.length, 6);
      assert.ok(seen.every(([err]) => err === null));
      assert.deepEqual(seen[1][1], got);
      assert.equal(seen[5][1], null);
    });
  });
}

describe("supabase-js backend: roles", () => {
  test("as anon every operation fails with a permission error", async () => {
    const store = new SupabaseSessionStore({ client: supabaseClient(SUPABASE_URL, ANON_KEY) });
    const sid = newSid();
    for (const op of [() => store.get(sid), () => store.set(sid, sessionWith(inMinutes(30))), () => store.length(),
      () => store.destroy(sid), () => store.clear()]) {
      await assert.rejects(op(), (err) => err instanceof RpcError && err.code === "42501" && [401, 403].includes(err.status));
    }
    assert.equal(await row(sid), undefined);
  });
});

describe("pg backend: prepared statements", () => {
  async function preparedNames(options) {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    pools.push(pool);
    const store = new SupabaseSessionStore({ pool, ...options });
    await store.get(newSid());
    const { rows } = await pool.query("select name from pg_prepared_statements order by name");
    return rows.map((r) => r.name);
  }

  test("named and parsed once per connection by default", async () => {
    assert.deepEqual(await preparedNames({}), ["supabase_session_store:public:session_get_one"]);
  });

  test("relaxedDurability asks for an asynchronous commit on set and touch only", async () => {
    const durableFlags = [];
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    pools.push(pool);
    const spy = { query: (config) => {
      if (/session_(save|touch)/.test(config.text)) durableFlags.push(config.values.at(-1));
      else assert.ok(!config.values?.includes(false), `${config.text} is not asked to relax anything`);
      return pool.query(config);
    } };
    const sid = newSid("relaxed-flags");
    for (const relaxedDurability of [true, false]) {
      const store = new SupabaseSessionStore({ pool: spy, relaxedDurability });
      await store.set(sid, sessionWith(inMinutes(30)));
      await store.touch(sid, sessionWith(inMinutes(40)));
      await store.get(sid);
      await store.destroy(sid);
    }
    assert.deepEqual(durableFlags, [false, false, true, true], "p_durable is false only with relaxedDurability");
  });

  test("preparedStatements: false sends unnamed statements (PgBouncer, Supavisor transaction mode)", async () => {
    assert.deepEqual(await preparedNames({ preparedStatements: false }), []);
  });

  test("a touch within touchAfter adds nothing to pg_stat_user_tables.n_tup_upd", async () => {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    pools.push(pool);
    const store = new SupabaseSessionStore({ pool, touchAfter: 60 });
    // Stats reach the shared view when a backend flushes: force it in the store's
    // only connection, after its work, then read a fresh snapshot.
    const updates = async () => {
      await pool.query("select pg_stat_force_next_flush()");
      const { rows: [r] } = await admin.query(
        "select pg_stat_clear_snapshot(), n_tup_upd::int as n from pg_stat_user_tables where relname = 'sessions' and schemaname = 'public'");
      return r.n;
    };
    // n_tup_upd is table-wide: other connections of this suite may flush their own earlier
    // updates into it at any moment (idle backends flush late). A store that wrote on a
    // throttled touch could never show "no update" then "exactly one", so a clean attempt
    // among a few proves the property; interference only costs a retry.
    const fresh = new SupabaseSessionStore({ pool, touchAfter: 60 }); // no cache: the database decides
    const attempts = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const sid = newSid();
      const base = inMinutes(30);
      await store.set(sid, sessionWith(base));
      const start = await updates();
      await fresh.touch(sid, sessionWith(new Date(base.getTime() + 30_000)));
      await store.touch(sid, sessionWith(new Date(base.getTime() + 30_000)));
      const throttled = await updates();
      await store.touch(sid, sessionWith(new Date(base.getTime() + 90_000)));
      const written = await updates();
      attempts.push([throttled - start, written - throttled]);
      if (throttled === start && written === start + 1) return;
    }
    assert.fail(`touches within touchAfter added updates in every attempt: ${JSON.stringify(attempts)}`);
  });
});

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
    await assertEachCallbackOnce(new SupabaseSessionStore({ pool: rejecting }), (err) => assert.equal(err.code, "XX000"));
    const throwing = { query: () => { throw new Error("sync failure"); } };
    await assertEachCallbackOnce(new SupabaseSessionStore({ pool: throwing }), (err) => assert.match(err.message, /sync failure/));
  });

  test("pg: disconnect on an unreachable database, connect when it answers again (probe)", async () => {
    const closedPort = await closedPortUrl();
    const bad = quietPool({ connectionString: closedPort, max: 1 });
    const good = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    pools.push(bad, good);
    const switchable = { target: bad, query(...args) { return this.target.query(...args); } };
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

/** Lets pending callbacks (scheduled with process.nextTick) run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

async function waitFor(condition) {
  for (;;) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A connection URL on a local port nothing listens on. */
async function closedPortUrl() {
  return `postgresql://postgres@127.0.0.1:${await freePort()}/postgres`;
}
