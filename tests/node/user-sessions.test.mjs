// A user's own sessions, as an account page uses them, on both backends (node-postgres;
// supabase-js through the local PostgREST-compatible gateway) against the real database:
// listUserSessions lists a Passport user's live sessions by handle, sessionHandle marks
// the request's own, destroyUserSession ends one, only the user's own, for good.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { CorruptSessionError, LIST_PAGE_SIZE, SupabaseSessionStore } from "../../dist/esm/index.js";
import { quietPool, sessionFor, supabaseClient } from "./support/backends.mjs";
import { requireEnv } from "./support/env.mjs";
import { keyOf } from "./support/keys.mjs";

const { DATABASE_URL, SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY } = requireEnv(
  "DATABASE_URL",
  "SUPABASE_URL",
  "SUPABASE_SERVICE_ROLE_KEY",
);

// Hosted Supabase's default db-max-rows: PostgREST passes on at most this many rows of a
// set-returning call, silently.
const HOSTED_MAX_ROWS = 1000;
const admin = quietPool({ connectionString: DATABASE_URL, max: 4 });
const pools = [];

const sha256 = (text) => createHash("sha256").update(text, "utf8").digest("hex");
const newSid = (label = "us") => `${label}-${randomBytes(12).toString("base64url")}`;
const newUser = () => `user-${randomBytes(6).toString("hex")}`;
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

/**
 * A store whose round trips are counted (`calls.count`). `calls.afterEach`, when set, runs
 * after each round trip and before the store sees its answer. On supabase-js, `maxRows`
 * caps every set-returning answer as PostgREST's db-max-rows does (the local gateway may
 * not cap at all), and `calls.truncated` counts the answers it cut.
 */
const backends = {
  pg(options = {}) {
    const pool = quietPool({ connectionString: DATABASE_URL, max: 5 });
    pools.push(pool);
    const calls = { count: 0, truncated: 0, afterEach: null };
    const counted = {
      query: async (...args) => {
        calls.count++;
        const result = await pool.query(...args);
        await calls.afterEach?.();
        return result;
      },
    };
    return { store: new SupabaseSessionStore({ pool: counted, ...options }), calls };
  },
  "supabase-js"({ maxRows = HOSTED_MAX_ROWS, ...options } = {}) {
    const calls = { count: 0, truncated: 0, afterEach: null };
    const client = supabaseClient(SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY, async (input, init) => {
      calls.count++;
      const res = await fetch(input, init);
      await calls.afterEach?.();
      return capRows(res, maxRows, calls);
    });
    return { store: new SupabaseSessionStore({ client, ...options }), calls };
  },
};

/** The response with at most `maxRows` elements of its JSON array body, as PostgREST's db-max-rows. */
async function capRows(res, maxRows, calls) {
  const text = await res.text();
  let body = text;
  if (res.ok && text.startsWith("[")) {
    const rows = JSON.parse(text);
    if (rows.length > maxRows) {
      calls.truncated++;
      body = JSON.stringify(rows.slice(0, maxRows));
    }
  }
  const headers = new Headers(res.headers);
  headers.delete("content-length");
  return new Response(res.status === 204 ? null : body, { status: res.status, statusText: res.statusText, headers });
}

async function row(sid) {
  const { rows } = await admin.query(
    "select data, expires_at, created_at, updated_at, destroyed_at from public.sessions where sid = $1",
    [keyOf(sid)],
  );
  return rows[0];
}

/** Stores `sid` as a session of `user` directly, last written `minutesAgo` ago. */
async function seed(sid, user, { minutesAgo = 0, expiresInMinutes = 60, extra = {} } = {}) {
  const data = { cookie: { originalMaxAge: 3_600_000, httpOnly: true, path: "/" }, passport: { user }, ...extra };
  await admin.query(
    `insert into public.sessions (sid, data, expires_at, created_at, updated_at)
     values ($1, $2, now() + make_interval(mins => $3), now() - make_interval(mins => $4 + 60), now() - make_interval(mins => $4))`,
    [keyOf(sid), data, expiresInMinutes, minutesAgo],
  );
}

/** Resolves once `n` backends wait for a row lock (the tests run one at a time); fails after 10 s. */
async function lockWaiters(n) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { rows: [r] } = await admin.query(
      "select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()",
    );
    if (r.n >= n) return;
    if (Date.now() > deadline) throw new Error(`${r.n} of ${n} expected lock waiters after 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

after(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await admin.end();
});

for (const [name, make] of Object.entries(backends)) {
  describe(`a user's own sessions: ${name} backend`, () => {
    let store, calls;
    before(() => ({ store, calls } = make()));

    test("lists the user's live sessions by handle, most recently active first, in one round trip", async () => {
      const user = newUser();
      const [recent, older, oldest] = [newSid(), newSid(), newSid()];
      await seed(older, user, {
        minutesAgo: 30,
        extra: { device: { userAgent: "Firefox", signedInAt: "2026-12-01T09:00:00.000Z" } },
      });
      await seed(recent, user, { minutesAgo: 1 });
      await seed(oldest, user, { minutesAgo: 90 });
      const expired = newSid();
      await seed(expired, user, { expiresInMinutes: -1 });
      const destroyed = newSid();
      await seed(destroyed, user);
      await store.destroy(destroyed);
      await seed(newSid(), `${user}-other`);

      calls.count = 0;
      const list = await store.listUserSessions(user);
      assert.equal(calls.count, 1, "one round trip");
      assert.deepEqual(
        list.map((s) => s.id),
        [recent, older, oldest].map(sha256),
        "exactly the live ones, newest first: not the expired, the destroyed or another user's",
      );
      const [, shown] = list;
      const stored = await row(older);
      assert.deepEqual(shown.session, stored.data, "the session data, as get returns it");
      assert.deepEqual(shown.session.device, { userAgent: "Firefox", signedInAt: "2026-12-01T09:00:00.000Z" });
      for (const key of ["createdAt", "lastActiveAt", "expiresAt"]) {
        assert.ok(shown[key] instanceof Date, `${key} is a Date`);
      }
      assert.equal(shown.createdAt.getTime(), stored.created_at.getTime());
      assert.equal(shown.lastActiveAt.getTime(), stored.updated_at.getTime(), "last active is updated_at");
      assert.equal(shown.expiresAt.getTime(), stored.expires_at.getTime());
      assert.deepEqual(Object.keys(shown).sort(), ["createdAt", "expiresAt", "id", "lastActiveAt", "session"]);
      const text = JSON.stringify(list);
      for (const sid of [recent, older, oldest]) assert.ok(!text.includes(sid), "no session id in the listing");
      assert.deepEqual(await store.listUserSessions(`${user}-nobody`), []);
    });

    test("a numeric Passport id is listed and ended by number or by its text", async () => {
      const id = Number.parseInt(randomBytes(3).toString("hex"), 16) + 2_000_000;
      const sid = newSid();
      await seed(sid, id);
      assert.deepEqual((await store.listUserSessions(id)).map((s) => s.id), [sha256(sid)]);
      assert.deepEqual((await store.listUserSessions(String(id))).map((s) => s.id), [sha256(sid)]);
      assert.equal(await store.destroyUserSession(id, sha256(sid)), true);
      assert.deepEqual(await store.listUserSessions(id), []);
    });

    test("sessionHandle is the handle the SQL computes, for any id, synchronously", async () => {
      const sids = [newSid(), "a\\x41 backslash", "quote ' \" ;--", "emoji \u{1F510} e\u0301 \u05D0", "x".repeat(255)];
      const { rows } = await admin.query(
        "select public.session_handle(s) as handle from unnest($1::text[]) with ordinality u(s, n) order by n",
        [sids],
      );
      assert.deepEqual(sids.map((sid) => store.sessionHandle(sid)), rows.map((r) => r.handle));
      assert.deepEqual(sids.map((sid) => store.sessionHandle(sid)), sids.map(sha256), "hex SHA-256 of the id");
      assert.throws(() => store.sessionHandle(""), TypeError);
      assert.throws(() => store.sessionHandle(42), TypeError);

      // The request's own session ("this device") is found in the list by it.
      const user = newUser();
      const mine = newSid();
      await store.set(mine, sessionFor(30, { passport: { user } }));
      await seed(newSid(), user, { minutesAgo: 5 });
      const list = await store.listUserSessions(user);
      assert.equal(list.filter((s) => s.id === store.sessionHandle(mine)).length, 1);
    });

    test("a handle is not a session id: no cookie can carry it into a session", async () => {
      const user = newUser();
      const sid = newSid();
      await store.set(sid, sessionFor(30, { passport: { user } }));
      const [{ id }] = await store.listUserSessions(user);
      assert.equal(await store.get(id), null);
      await store.destroy(id);
      assert.ok(await store.get(sid), "destroying by a handle as if it were an id ends nothing");
      await admin.query("delete from public.sessions where sid = $1", [id]);
    });

    test("destroyUserSession ends the user's own session for good, and nobody else's", async () => {
      const alice = newUser();
      const bob = newUser();
      const [aliceSid, aliceOther, bobSid] = [newSid(), newSid(), newSid()];
      for (const [sid, user] of [[aliceSid, alice], [aliceOther, alice], [bobSid, bob]]) {
        await store.set(sid, sessionFor(30, { passport: { user } }));
      }

      calls.count = 0;
      assert.equal(await store.destroyUserSession(bob, sha256(aliceSid)), false, "bob cannot end alice's session");
      assert.equal(calls.count, 1, "one round trip");
      assert.ok(await store.get(aliceSid), "alice's session lives on");
      assert.equal(await store.destroyUserSession(alice, sha256(bobSid)), false, "nor alice bob's");
      assert.equal(await store.destroyUserSession(alice, "0".repeat(64)), false, "an unknown handle ends nothing");

      const ended = await new Promise((resolve, reject) =>
        store.destroyUserSession(alice, sha256(aliceSid), (err, value) => (err ? reject(err) : resolve(value)))
      );
      assert.equal(ended, true, "alice ends her own session (callback)");
      assert.equal(await store.get(aliceSid), null);
      assert.equal(await store.destroyUserSession(alice, sha256(aliceSid)), false, "ending it again ends nothing");
      assert.equal(
        await store.destroyUserSession(alice, sha256(aliceOther).toUpperCase()),
        true,
        "hex digits in either case",
      );

      // A request still in flight on the ended session writes late: it stays ended.
      await store.set(aliceSid, sessionFor(30, { passport: { user: alice }, late: true }));
      await store.touch(aliceSid, sessionFor(60));
      assert.equal(await store.get(aliceSid), null, "a late set or touch does not revive it");
      const tomb = await row(aliceSid);
      assert.ok(tomb.destroyed_at, "the tombstone destroy leaves");
      assert.deepEqual(tomb.data, {}, "its data wiped");
      assert.deepEqual(await store.listUserSessions(alice), []);
      assert.deepEqual(
        (await store.listUserSessions(bob)).map((s) => s.id),
        [sha256(bobSid)],
        "bob's session is untouched",
      );
    });

    test("ending a session is final even when a request's late set and touch wait on its row", async () => {
      const user = newUser();
      const sid = newSid();
      await store.set(sid, sessionFor(30, { passport: { user } }));
      const holder = await admin.connect();
      let ended;
      try {
        await holder.query("begin");
        await holder.query("select 1 from public.sessions where sid = $1 for update", [keyOf(sid)]);
        ended = store.destroyUserSession(user, sha256(sid));
        await lockWaiters(1);
        const lateSet = store.set(sid, sessionFor(30, { passport: { user }, late: true }));
        await lockWaiters(2);
        // Issued while the set waits for the row: it waits for the set's call, then goes.
        const lateTouch = store.touch(sid, sessionFor(60));
        await holder.query("commit");
        await Promise.all([lateSet, lateTouch]);
      } finally {
        holder.release();
      }
      assert.equal(await ended, true);
      assert.equal(await store.get(sid), null);
      assert.ok((await row(sid)).destroyed_at, "the tombstone stays");
    });

    test("user ids with SQL metacharacters list and end nobody's sessions", async () => {
      const user = newUser();
      const sid = newSid();
      await seed(sid, user);
      for (
        const hostile of [
          `${user}' or '1'='1`,
          "' or true --",
          "%",
          "_",
          "\\",
          `${user}%`,
          ` ${user}`,
          user.toUpperCase(),
        ]
      ) {
        assert.deepEqual(await store.listUserSessions(hostile), [], `listUserSessions(${JSON.stringify(hostile)})`);
        assert.equal(
          await store.destroyUserSession(hostile, sha256(sid)),
          false,
          `destroyUserSession(${JSON.stringify(hostile)})`,
        );
      }
      assert.deepEqual(
        (await store.listUserSessions(user)).map((s) => s.id),
        [sha256(sid)],
        "the session is untouched",
      );
    });

    test("bad input: an error through the callback and the promise, no database call", async () => {
      const handle = "a".repeat(64);
      const cases = [
        ["listUserSessions empty user", () => (cb) => store.listUserSessions("", cb)],
        ["listUserSessions no user", () => (cb) => store.listUserSessions(undefined, cb)],
        ["listUserSessions object user", () => (cb) => store.listUserSessions({ id: 1 }, cb)],
        ["listUserSessions NaN user", () => (cb) => store.listUserSessions(Number.NaN, cb)],
        ["destroyUserSession empty user", () => (cb) => store.destroyUserSession("", handle, cb)],
        ["destroyUserSession null user", () => (cb) => store.destroyUserSession(null, handle, cb)],
        ["destroyUserSession no handle", () => (cb) => store.destroyUserSession("u", undefined, cb)],
        ["destroyUserSession numeric handle", () => (cb) => store.destroyUserSession("u", 42, cb)],
        ["destroyUserSession short handle", () => (cb) => store.destroyUserSession("u", "abc", cb)],
        ["destroyUserSession 65 hex digits", () => (cb) => store.destroyUserSession("u", `${handle}0`, cb)],
        ["destroyUserSession non-hex handle", () => (cb) => store.destroyUserSession("u", "g".repeat(64), cb)],
        ["destroyUserSession a session id", () => (cb) => store.destroyUserSession("u", newSid(), cb)],
      ];
      for (const [label, make] of cases) {
        calls.count = 0;
        const seen = [];
        const promise = make()((err, value) => seen.push({ err, value }));
        await assert.rejects(promise, TypeError, label);
        await settle();
        assert.equal(seen.length, 1, `${label}: callback called once`);
        assert.ok(seen[0].err instanceof TypeError, `${label}: ${seen[0].err}`);
        assert.equal(calls.count, 0, `${label}: no database call`);
      }
      const sid = newSid();
      const err = await store.destroyUserSession("u", sid).catch((e) => e);
      assert.ok(!err.message.includes(sid), "the error does not repeat what might be a session id");
    });

    test("a corrupt stored session is reported and left out of the list", async () => {
      const reported = [];
      const { store: watched } = make({ onError: (err) => reported.push(err) });
      const user = newUser();
      const good = newSid();
      const corrupt = newSid();
      await seed(good, user);
      await admin.query(
        "insert into public.sessions (sid, data, expires_at) values ($1, $2, now() + interval '1 hour')",
        [keyOf(corrupt), { passport: { user }, cookie: "not an object" }],
      );
      assert.deepEqual((await watched.listUserSessions(user)).map((s) => s.id), [sha256(good)]);
      assert.equal(reported.length, 1);
      assert.ok(reported[0] instanceof CorruptSessionError);
      assert.equal(reported[0].sidHash, keyOf(corrupt).slice(0, 16), "named by its handle's prefix, as get names it");
      assert.ok(!reported[0].message.includes(corrupt));
      await watched.close();
      await admin.query("delete from public.sessions where sid = $1", [keyOf(corrupt)]);
    });
  });
}

describe("a user with more sessions than the API's row cap", () => {
  const COUNT = 2500;
  const user = newUser();
  let expected;

  before(async () => {
    // Last written one second apart: the listing's order is known.
    const { rows } = await admin.query(
      `insert into public.sessions (sid, data, expires_at, updated_at)
       select encode(sha256(convert_to($1 || g, 'UTF8')), 'hex'), jsonb_build_object('cookie', '{}'::jsonb, 'passport', jsonb_build_object('user', $2::text), 'n', g),
              now() + interval '1 hour', now() - make_interval(secs => g)
         from generate_series(1, $3::int) g
       returning sid`,
      [`${user}-sid-`, user, COUNT],
    );
    expected = rows.map((r) => r.sid);
  });

  after(async () => {
    await admin.query("delete from public.sessions where data #>> '{passport,user}' = $1", [user]);
  });

  const cases = [
    ["pg", {}, 3],
    ["supabase-js", { maxRows: HOSTED_MAX_ROWS }, 3],
    // An operator may lower "Max rows" in the dashboard: every cut page is continued.
    ["supabase-js", { maxRows: 300 }, 9],
  ];
  for (const [name, options, roundTrips] of cases) {
    test(`is listed in full: ${name}${options.maxRows ? `, rows capped at ${options.maxRows}` : ""}`, async () => {
      const { store, calls } = backends[name](options);
      calls.count = 0;
      const list = await store.listUserSessions(user);
      assert.equal(list.length, COUNT);
      assert.deepEqual(list.map((s) => s.id), expected, "every session once, newest first");
      assert.deepEqual(list.map((s) => s.session.n), expected.map((_, i) => i + 1));
      assert.equal(calls.count, roundTrips, `pages of at most ${LIST_PAGE_SIZE} rows`);
      if (options.maxRows < LIST_PAGE_SIZE) assert.ok(calls.truncated > 0, "the cap did cut pages");
      await store.close();
    });
  }

  test("sessions active while it is being listed are each listed once", async () => {
    const { store, calls } = backends["supabase-js"]({ maxRows: 300 });
    // After every page, all of the user's sessions are touched (updated_at moves to now()):
    // a cursor on last activity would skip them; the handle cursor does not.
    calls.afterEach = () =>
      admin.query(
        "update public.sessions set expires_at = expires_at + interval '1 second' where data #>> '{passport,user}' = $1",
        [user],
      );
    const list = await store.listUserSessions(user);
    assert.equal(new Set(list.map((s) => s.id)).size, COUNT);
    assert.deepEqual(new Set(list.map((s) => s.id)), new Set(expected));
    await store.close();
  });
});
