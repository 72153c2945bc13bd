// examples/fastify run as its own process, as a deployment would, and driven over HTTP on
// both backends: login, /me, the account calls (the user's sessions listed, another device's
// ended by handle), and logout that sticks.
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { root } from "../../scripts/db.mjs";
import { requireEnv } from "./support/env.mjs";
import { CookieJar, request } from "./support/http.mjs";
import { startProcess } from "./support/processes.mjs";

const env = requireEnv("DATABASE_URL", "SUPABASE_URL", "SUPABASE_SECRET_KEY");
const SETTINGS = /^(SUPABASE_|DATABASE_URL$|SESSION_|PORT$|HOST$)/;
const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !SETTINGS.test(k)));
const BACKENDS = {
  pg: { DATABASE_URL: env.DATABASE_URL },
  "supabase-js": { SUPABASE_URL: env.SUPABASE_URL, SUPABASE_SECRET_KEY: env.SUPABASE_SECRET_KEY },
};
const ALICE = { username: "alice", password: "alice-demo-password" };

for (const [name, settings] of Object.entries(BACKENDS)) {
  describe(`examples/fastify (${name} backend)`, () => {
    let app;
    before(async () => {
      app = startProcess(process.execPath, [path.join(root, "examples/fastify/server.mjs")], {
        cwd: root,
        env: { ...inherited, PORT: "0", SESSION_SECRET: "fastify-example-test-secret-0123456789", ...settings },
        ready: /listening on (http:\/\/\S+)/,
      });
      [, app.url] = await app.match;
    });
    after(() => app.stop());

    const login = async (jar, user = ALICE) => (await request(app.url, "/login", { method: "POST", jar, body: user }));

    test("login, /me, and a wrong password refused", async () => {
      const jar = new CookieJar();
      assert.equal((await request(app.url, "/me", { jar })).status, 401);
      assert.equal((await login(jar, { ...ALICE, password: "nope" })).status, 401);
      assert.equal((await login(jar)).status, 200);
      assert.deepEqual((await request(app.url, "/me", { jar })).json, { user: "u-alice" });
    });

    test("the account calls: sessions listed by handle, this one marked; another device's ended", async () => {
      const laptop = new CookieJar();
      const phone = new CookieJar();
      await login(laptop);
      await login(phone);
      const listed = (await request(app.url, "/account/sessions", { jar: laptop })).json;
      const current = listed.filter((s) => s.current);
      assert.equal(current.length, 1, "exactly one session is this one");
      const others = listed.filter((s) => !s.current);
      assert.ok(others.length >= 1, "the phone's session is listed");
      for (const s of listed) assert.match(s.handle, /^[0-9a-f]{64}$/);
      for (const s of others) {
        assert.equal(
          (await request(app.url, `/account/sessions/${s.handle}`, { method: "DELETE", jar: laptop })).status,
          200,
        );
      }
      assert.equal((await request(app.url, "/me", { jar: phone })).status, 401, "the phone is logged out");
      assert.equal((await request(app.url, "/me", { jar: laptop })).status, 200, "the laptop is not");
      const again = await request(app.url, `/account/sessions/${others[0].handle}`, { method: "DELETE", jar: laptop });
      assert.equal(again.status, 404, "an ended session ends nothing the second time");
    });

    test("logout sticks: the old cookie finds no session afterwards", async () => {
      const jar = new CookieJar();
      await login(jar);
      const old = jar.clone();
      assert.equal((await request(app.url, "/logout", { method: "POST", jar })).status, 200);
      assert.equal((await request(app.url, "/me", { jar: old })).status, 401);
      assert.equal((await login(old)).status, 200, "logging in again works, on a new session");
      assert.equal((await request(app.url, "/me", { jar: old })).status, 200);
    });

    test("a cross-site form's text/plain body is refused", async () => {
      const res = await fetch(new URL("/login", app.url), {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: JSON.stringify(ALICE),
      });
      assert.equal(res.status, 415);
    });
  });
}

describe("examples/fastify with its database unreachable", () => {
  test("the store unreachable: 503 session store unavailable, not a stack page", async () => {
    const down = startProcess(process.execPath, [path.join(root, "examples/fastify/server.mjs")], {
      cwd: root,
      env: {
        ...inherited,
        PORT: "0",
        SESSION_SECRET: "fastify-example-test-secret-0123456789",
        DATABASE_URL: "postgresql://postgres@127.0.0.1:1/postgres",
      },
      ready: /listening on (http:\/\/\S+)/,
    });
    try {
      const [, url] = await down.match;
      const res = await request(url, "/login", { method: "POST", body: ALICE });
      assert.equal(res.status, 503);
      assert.deepEqual(res.json, { error: "session store unavailable" });
    } finally {
      await down.stop();
    }
  });
});
