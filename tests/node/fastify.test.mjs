// @fastify/session with this store, used as @fastify/session's own suite uses a store (a
// session saved and read back, regenerate, destroy), plus logout that sticks, driven over
// real HTTP on both backends. With its defaults (rolling, a full `set` on every request)
// the round trips are counted: `touchAfter` makes a request that changes nothing write nothing.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fastifyCookie from "@fastify/cookie";
import fastifySession from "@fastify/session";
import Fastify from "fastify";
import pg from "pg";
import { COUNTING_BACKENDS, writesIn } from "./support/counting-backends.mjs";
import { requireEnv } from "./support/env.mjs";
import { CookieJar, request } from "./support/http.mjs";
import { keyOf } from "./support/keys.mjs";

const { DATABASE_URL } = requireEnv("DATABASE_URL");
const SECRET = "fastify-test-session-secret-of-sufficient-length";
const COOKIE = "sessionId";

/** The session id inside @fastify/session's cookie (`<sid>.<signature>`, URL-encoded). */
const sidOf = (jar) => {
  const raw = decodeURIComponent(jar.get(COOKIE) ?? "");
  return raw.slice(0, raw.lastIndexOf("."));
};

/**
 * A Fastify app on the store: login (regenerate, then the user), /me (reads, changes
 * nothing), /view (changes the data), logout (destroy), and /slow, a request that loads the
 * session, waits for the test to release it, then changes the session: a late save.
 */
async function startApp(store) {
  const app = Fastify();
  let release;
  let reached;
  const slow = { gate: null, reached: null, release: () => release() };
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: SECRET,
    store,
    cookieName: COOKIE,
    saveUninitialized: false,
    cookie: { secure: false, maxAge: 30 * 60_000 },
  });
  app.post("/login", async (req) => {
    await req.session.regenerate();
    req.session.set("user", req.body.user);
    return { user: req.body.user };
  });
  app.get("/me", (req, reply) => {
    const user = req.session.get("user");
    if (!user) reply.code(401).send({ error: "not logged in" });
    else reply.send({ user, views: req.session.get("views") ?? 0 });
  });
  app.post("/view", (req, reply) => {
    req.session.set("views", (req.session.get("views") ?? 0) + 1);
    reply.send({ views: req.session.get("views") });
  });
  // reload: the stored session again, unsaved changes dropped; save: stored before the response.
  app.post("/reload", async (req) => {
    req.session.set("unsaved", true);
    await req.session.reload();
    return { user: req.session.get("user"), unsaved: req.session.get("unsaved") ?? false };
  });
  app.post("/save-now", async (req) => {
    req.session.set("note", req.body.note);
    await req.session.save();
    return { saved: req.session.isSaved() };
  });
  app.post("/logout", async (req) => {
    await req.session.destroy();
    return { ok: true };
  });
  app.get("/slow", async (req) => {
    reached();
    await slow.gate;
    req.session.set("late", true);
    return { ok: true };
  });
  slow.arm = () => {
    slow.gate = new Promise((resolve) => (release = resolve));
    slow.reached = new Promise((resolve) => (reached = resolve));
  };
  await app.listen({ host: "127.0.0.1", port: 0 });
  return { url: `http://127.0.0.1:${app.server.address().port}`, slow, close: () => app.close() };
}

let db;
before(async () => {
  db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
});
after(() => db.end());

const liveRows = async (sid) =>
  Number((await db.query("select count(*) from public.live_sessions where sid = $1", [keyOf(sid)])).rows[0].count);

for (const backend of Object.keys(COUNTING_BACKENDS)) {
  describe(`@fastify/session on the store (${backend} backend)`, () => {
    let made;
    let app;
    before(async () => {
      made = COUNTING_BACKENDS[backend]({ touchAfter: 600 });
      app = await startApp(made.store);
    });
    after(async () => {
      await app.close();
      await made.close();
    });

    test("a session is saved, read back on the next request, and its changes kept", async () => {
      const jar = new CookieJar();
      assert.equal((await request(app.url, "/me", { jar })).status, 401);
      assert.equal(jar.get(COOKIE), undefined, "no session saved before there is something to save");
      assert.equal((await request(app.url, "/login", { method: "POST", jar, body: { user: "ann" } })).status, 200);
      assert.equal(await liveRows(sidOf(jar)), 1, "stored under the id's key");
      assert.deepEqual((await request(app.url, "/me", { jar })).json, { user: "ann", views: 0 });
      await request(app.url, "/view", { method: "POST", jar });
      await request(app.url, "/view", { method: "POST", jar });
      assert.deepEqual((await request(app.url, "/me", { jar })).json, { user: "ann", views: 2 });
    });

    test("regenerate: login issues a new id and the old one's session is gone", async () => {
      const jar = new CookieJar();
      await request(app.url, "/login", { method: "POST", jar, body: { user: "ann" } });
      const before = sidOf(jar);
      const old = jar.clone();
      await request(app.url, "/login", { method: "POST", jar, body: { user: "bob" } });
      assert.notEqual(sidOf(jar), before, "a new session id");
      assert.equal(await liveRows(before), 0, "the old session destroyed");
      assert.equal((await request(app.url, "/me", { jar: old })).status, 401, "the old cookie finds nothing");
      assert.deepEqual((await request(app.url, "/me", { jar })).json, { user: "bob", views: 0 });
    });

    test("reload reads the stored session back; save stores it before the response", async () => {
      const jar = new CookieJar();
      await request(app.url, "/login", { method: "POST", jar, body: { user: "ann" } });
      assert.deepEqual((await request(app.url, "/reload", { method: "POST", jar })).json, {
        user: "ann",
        unsaved: false,
      });
      const saved = await request(app.url, "/save-now", { method: "POST", jar, body: { note: "kept" } });
      assert.deepEqual(saved.json, { saved: true });
      const { rows } = await db.query("select data->>'note' as note from public.live_sessions where sid = $1", [
        keyOf(sidOf(jar)),
      ]);
      assert.deepEqual(rows, [{ note: "kept" }]);
    });

    test("logout sticks: a request still in flight saves late and does not revive the session", async () => {
      const jar = new CookieJar();
      await request(app.url, "/login", { method: "POST", jar, body: { user: "ann" } });
      const sid = sidOf(jar);
      const stale = jar.clone();
      let refused = 0;
      const onRefused = () => refused++;
      made.store.on("destroyedSave", onRefused);
      app.slow.arm();
      const late = request(app.url, "/slow", { jar: stale });
      await app.slow.reached;
      assert.equal((await request(app.url, "/logout", { method: "POST", jar })).status, 200);
      app.slow.release();
      assert.equal((await late).status, 200, "the late request ends normally");
      made.store.off("destroyedSave", onRefused);
      assert.equal(refused, 1, "the late save reached the store, which refused it");
      assert.equal(await liveRows(sid), 0, "nothing live under the destroyed id");
      assert.equal((await request(app.url, "/me", { jar: stale })).status, 401, "the old cookie is logged out");
    });

    test("with rolling saves, requests that change nothing cost a read each and no write (touchAfter 600)", async () => {
      const jar = new CookieJar();
      await request(app.url, "/login", { method: "POST", jar, body: { user: "ann" } });
      made.calls.length = 0;
      for (let i = 0; i < 5; i++) assert.equal((await request(app.url, "/me", { jar })).status, 200);
      assert.equal(made.calls.length, 5, `one round trip per request: ${made.calls.join(", ")}`);
      assert.deepEqual(writesIn(made.calls), [], "no write");
      await request(app.url, "/view", { method: "POST", jar });
      assert.equal(writesIn(made.calls).length, 1, "a change is saved");
      assert.deepEqual((await request(app.url, "/me", { jar })).json, { user: "ann", views: 1 });
    });
  });
}

describe("@fastify/session on the store with touchAfter 0 (pg backend)", () => {
  test("every rolling save writes, as before", async () => {
    const made = COUNTING_BACKENDS.pg({ touchAfter: 0 });
    const app = await startApp(made.store);
    try {
      const jar = new CookieJar();
      await request(app.url, "/login", { method: "POST", jar, body: { user: "ann" } });
      made.calls.length = 0;
      for (let i = 0; i < 3; i++) assert.equal((await request(app.url, "/me", { jar })).status, 200);
      assert.equal(writesIn(made.calls).length, 3, `a write per request: ${made.calls.join(", ")}`);
    } finally {
      await app.close();
      await made.close();
    }
  });
});
