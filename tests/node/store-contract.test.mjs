// The store's contract, run once per backend (node-postgres pool; supabase-js through the
// local PostgREST-compatible gateway) against the real migrated database: what each
// operation stores, returns and costs in round trips, expiry, touch, logout, bad input.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { CLEAR_BATCH_SIZE, CorruptSessionError } from "../../dist/esm/index.js";
import {
  admin,
  CONTRACT_BACKENDS,
  endPools,
  inMinutes,
  newSid,
  row,
  sessionWith,
  settle,
  waitFor,
} from "./support/store-fixtures.mjs";
import { keyOf } from "./support/keys.mjs";

after(endPools);

for (const [name, make] of Object.entries(CONTRACT_BACKENDS)) {
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

    test("relaxedDurability commits set and touch asynchronously; destroy stays durable", async () => {
      const seen = [];
      const { store: relaxed } = make({ relaxedDurability: true });
      assert.equal(relaxed.relaxedDurability, true);
      // What the functions do with the flag: synchronous_commit off for that transaction only.
      const client = await admin.connect();
      try {
        await client.query("begin");
        await client.query(
          "select public.session_save_one($1, '{\"cookie\": {}}', now() + interval '1 hour', null, false)",
          [keyOf(newSid("relaxed"))],
        );
        seen.push((await client.query("show synchronous_commit")).rows[0].synchronous_commit);
        await client.query("rollback");
        await client.query("begin");
        await client.query("select public.session_save_one($1, '{\"cookie\": {}}', now() + interval '1 hour')", [
          keyOf(newSid("durable")),
        ]);
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
        "select extract(epoch from expires_at - created_at)::float8 as ttl from public.sessions where sid = $1",
        [keyOf(sid)],
      );
      assert.equal(r.ttl, 1234);
      await admin.query("update public.sessions set expires_at = now() + interval '5 seconds' where sid = $1", [
        keyOf(sid),
      ]);
      await ttlStore.touch(sid, { cookie: { originalMaxAge: null } });
      const { rows: [t] } = await admin.query(
        "select extract(epoch from expires_at - updated_at)::float8 as ttl from public.sessions where sid = $1",
        [keyOf(sid)],
      );
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
      await admin.query("update public.sessions set expires_at = now() - interval '1 second' where sid = $1", [
        keyOf(sid),
      ]);
      assert.ok(await row(sid), "the row is still there");
      assert.equal(await store.get(sid), null);
      assert.ok(!(await store.ids()).includes(keyOf(sid)));
      assert.ok(!(keyOf(sid) in (await store.all())));
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
        await admin.query(
          "insert into public.sessions (sid, data, expires_at) values ($1, $2, now() + interval '1 hour')",
          [keyOf(sid), data],
        );
      }
      for (const sid of Object.keys(bad)) assert.equal(await watched.get(sid), null);
      assert.equal(reported.length, 2);
      for (const [i, sid] of Object.keys(bad).entries()) {
        assert.ok(reported[i] instanceof CorruptSessionError);
        assert.ok(!reported[i].message.includes(sid), "the session id (a credential) is never in the message");
      }
      const all = await watched.all();
      for (const sid of Object.keys(bad)) assert.ok(!(keyOf(sid) in all));
      assert.ok(reported.length >= 4, "all() reports corrupt rows too");

      // Without onError: the 'error' event, but only when someone listens.
      const { store: plain } = make();
      const events = [];
      plain.on("error", (err) => events.push(err));
      assert.equal(await plain.get(Object.keys(bad)[0]), null);
      assert.equal(events.length, 1);
      await admin.query("delete from public.sessions where sid = any($1)", [Object.keys(bad).map(keyOf)]);
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
        "select count(*)::int as n from public.sessions where expires_at > now() and sid = $1",
        [sid],
      );
      assert.equal(live.n, 0, "the monitoring query does not count it");
      await store.destroy(newSid()); // destroying an unknown session is fine
    });

    test("logout is final even when destroy, set and touch run concurrently on a locked row", async () => {
      const sid = newSid();
      await store.set(sid, sessionWith(inMinutes(30), { user: "ada" }));
      const holder = await admin.connect();
      try {
        await holder.query("begin");
        await holder.query("select 1 from public.sessions where sid = $1 for update", [keyOf(sid)]);
        const waiting = (n) =>
          waitFor(async () => {
            const { rows: [r] } = await admin.query(
              "select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()",
            );
            return r.n >= n;
          });
        const destroyed = store.destroy(sid);
        await waiting(1);
        const lateSet = store.set(sid, sessionWith(inMinutes(30), { user: "ada", late: true }));
        await waiting(2);
        // Issued while the set waits for the row: it waits for the set's call, then goes.
        const lateTouch = store.touch(sid, sessionWith(inMinutes(60)));
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
      const { rows } = await admin.query("select data, expires_at from public.sessions where sid = $1", [keyOf(sid)]);
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
        [
          "set data over maxDataBytes",
          RangeError,
          (cb) => store.set(newSid(), sessionWith(inMinutes(30), { blob: "x".repeat(70_000) }), cb),
        ],
        ["set cookie that is not an object", TypeError, (cb) => store.set(newSid(), { cookie: "yes", user: 1 }, cb)],
        ["set data that is not an object", TypeError, (cb) => store.set(newSid(), "text", cb)],
        [
          "set data with a NUL character",
          TypeError,
          (cb) => store.set(newSid(), sessionWith(inMinutes(30), { s: "a\0b" }), cb),
        ],
        ["set invalid cookie.expires", RangeError, (cb) => store.set(newSid(), sessionWith("yesterday-ish"), cb)],
        ["touch empty sid", TypeError, (cb) => store.touch("", ok, cb)],
        ["destroy object sid", TypeError, (cb) => store.destroy({}, cb)],
        ["destroyUserSessions empty user", TypeError, (cb) => store.destroyUserSessions("", cb)],
      ];
      const { rows: [before] } = await admin.query(
        "select count(*)::int as n, max(updated_at) as t from public.sessions",
      );
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
      const { rows: [afterAll] } = await admin.query(
        "select count(*)::int as n, max(updated_at) as t from public.sessions",
      );
      assert.deepEqual(afterAll, before, "nothing changed");
    });

    test("destroyUserSessions ends every session of one Passport user, only theirs", async () => {
      const user = `user-${randomBytes(6).toString("hex")}`;
      const mine = [newSid(), newSid()];
      const other = newSid();
      for (const sid of mine) await store.set(sid, sessionWith(inMinutes(30), { passport: { user } }));
      await store.set(other, sessionWith(inMinutes(30), { passport: { user: `${user}-other` } }));
      const cbResult = await new Promise((resolve, reject) =>
        store.destroyUserSessions(user, (err, n) => (err ? reject(err) : resolve(n)))
      );
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
      // Earlier tests leave sessions that expire within seconds: one expiring between the
      // listing and the count below would make them disagree. Nothing here expires that soon.
      await admin.query("delete from public.sessions where expires_at < now() + interval '5 minutes'");
      const live = [newSid("live"), newSid("live")];
      const expired = newSid("expired");
      for (const sid of [...live, expired]) await store.set(sid, sessionWith(inMinutes(30), { sid }));
      await admin.query("update public.sessions set expires_at = now() - interval '1 second' where sid = $1", [
        keyOf(expired),
      ]);
      const all = await store.all();
      const ids = await store.ids();
      // By handle: the database holds no session id to list.
      for (const sid of live) {
        assert.deepEqual(all[keyOf(sid)].sid, sid);
        assert.ok(ids.includes(keyOf(sid)), `${sid}'s handle not in ${ids.length} handles`);
      }
      assert.ok(!(keyOf(expired) in all) && !ids.includes(keyOf(expired)));
      assert.ok(ids.every((h) => /^[0-9a-f]{64}$/.test(h)) && !live.some((sid) => ids.includes(sid) || sid in all));
      const { rows: [monitor] } = await admin.query(
        "select count(*)::int as n from public.sessions where expires_at > now()",
      );
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

    test("clear() of fewer sessions than one batch is one round trip", async () => {
      await store.set(newSid(), sessionWith(inMinutes(30)));
      const { rows: [undestroyed] } = await admin.query(
        "select count(*)::int as n from public.sessions where destroyed_at is null",
      );
      assert.ok(undestroyed.n > 0 && undestroyed.n < CLEAR_BATCH_SIZE, `${undestroyed.n} rows to clear: one batch`);
      calls.count = 0;
      await store.clear();
      assert.equal(calls.count, 1, `clear made ${calls.count} round trips`);
      assert.equal(await store.length(), 0);
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
