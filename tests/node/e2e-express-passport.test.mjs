// End to end: the example app (Express 5 + express-session + Passport local + the
// store) run as real processes and driven over HTTP, on both backends: supabase-js
// through the local API (SUPABASE_URL) and pg (DATABASE_URL), over one database.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { execFileSync } from "node:child_process";
import path from "node:path";
import pg from "pg";
import * as localDb from "../../scripts/db.mjs";
import { startGateway } from "../../scripts/gateway/index.mjs";
import { requireEnv } from "./support/env.mjs";
import {
  EXPRESS_FLAGS,
  EXPRESS_MAJOR,
  startExampleApp,
  startExampleAppExpectingFailure,
  stopAllApps,
} from "./support/example-app.mjs";
import { CookieJar, request, sessionIdOf } from "./support/http.mjs";
import { dumpSessionsTable, statementLogDuring } from "./support/at-rest.mjs";
import { keyOf } from "./support/keys.mjs";
import { sleep } from "./support/processes.mjs";

const env = requireEnv("DATABASE_URL", "SUPABASE_URL", "SUPABASE_SECRET_KEY", "LOCAL_DB_DIR", "LOCAL_DB_PORT");
const BACKENDS = [
  {
    name: "supabase-js backend (SUPABASE_URL + SUPABASE_SECRET_KEY)",
    settings: { SUPABASE_URL: env.SUPABASE_URL, SUPABASE_SECRET_KEY: env.SUPABASE_SECRET_KEY },
  },
  { name: "pg backend (DATABASE_URL)", settings: { DATABASE_URL: env.DATABASE_URL } },
];
const ALICE = { username: "alice", password: "alice-demo-password" };
const BOB = { username: "bob", password: "bob-demo-password" };
const LONG_SECRET = "e2e-test-session-secret-of-sufficient-length-0001";
const NEXT_SECRET = "e2e-test-session-secret-of-sufficient-length-0002";

const OUTAGE_RECOVERY_MS = 60_000;

let db;
const connect = async () => {
  db = new pg.Client({ connectionString: env.DATABASE_URL });
  db.on("error", () => {}); // the outage test stops the server under this connection
  await db.connect();
};
before(connect);
after(async () => {
  await stopAllApps();
  await db.end();
});

test(`the example app resolves "express" to Express ${EXPRESS_MAJOR} (TEST_EXPRESS selects 4 or 5)`, () => {
  const resolved = execFileSync(process.execPath, [
    ...EXPRESS_FLAGS,
    "--input-type=module",
    "-e",
    "const { createRequire } = await import('node:module'); const url = import.meta.resolve('express');" +
    "console.log(createRequire(url)('./package.json').version)",
  ], { cwd: path.join(localDb.root, "examples/express-passport"), encoding: "utf8" });
  assert.equal(Number(resolved.trim().split(".")[0]), EXPRESS_MAJOR);
});

async function storedRow(jar) {
  const { rows } = await db.query("select expires_at, destroyed_at, data from public.sessions where sid = $1", [
    keyOf(sessionIdOf(jar.get("sid"))),
  ]);
  return rows[0];
}

async function login(app, credentials, jar = new CookieJar()) {
  const res = await request(app.url, "/login", { method: "POST", jar, body: credentials });
  assert.equal(res.status, 200, `login as ${credentials.username}: ${res.text}`);
  assert.equal(res.json.user.username, credentials.username);
  assert.ok(jar.get("sid"), "login sets the session cookie");
  return jar;
}

async function whoAmI(app, jar) {
  const res = await request(app.url, "/me", { jar });
  return res.status === 200 ? res.json.user.username : res.status;
}

for (const backend of BACKENDS) {
  describe(backend.name, () => {
    test("log in, /me knows the user; a wrong password or no cookie gets 401", async () => {
      const app = await startExampleApp(backend.settings);
      const jar = await login(app, ALICE);
      assert.equal(await whoAmI(app, jar), "alice");
      const row = await storedRow(jar);
      assert.equal(row.data.passport.user, "1", "Passport keeps the user id in the stored session");

      const wrong = await request(app.url, "/login", { method: "POST", body: { ...ALICE, password: "nope" } });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.headers.getSetCookie().length, 0, "a failed login creates no session");
      const unknown = await request(app.url, "/login", {
        method: "POST",
        body: { username: "mallory", password: "x" },
      });
      assert.equal(unknown.status, 401);
      assert.equal(await whoAmI(app, new CookieJar()), 401);
      await app.stop();
    });

    test("after logins through the app, no cookie's session id is in the table, a pg_dump or the statement log", async () => {
      const jars = [];
      const ids = [];
      // The app (and, for supabase-js, a gateway of its own) starts inside: their connections
      // are new, so Postgres logs their every statement.
      const log = await statementLogDuring(async () => {
        const gateway = backend.settings.SUPABASE_URL && (await startGateway({ databaseUrl: env.DATABASE_URL }));
        const app = await startExampleApp({ ...backend.settings, ...(gateway && { SUPABASE_URL: gateway.url }) });
        try {
          for (const user of [ALICE, BOB, ALICE]) {
            const jar = await login(app, user);
            assert.equal(await whoAmI(app, jar), user.username);
            jars.push(jar);
            ids.push(sessionIdOf(jar.get("sid")));
          }
          // A logout leaves a tombstone, which holds the key too.
          await request(app.url, "/logout", { method: "POST", jar: jars[2], body: {} });
        } finally {
          await app.stop();
          await gateway?.close();
        }
      });
      assert.equal(jars[2].get("sid"), undefined, "the last one logged out");
      const table = JSON.stringify((await db.query("select * from public.sessions")).rows);
      const dump = await dumpSessionsTable();
      assert.equal(new Set(ids).size, 3);
      for (const id of ids) {
        for (const [where, text] of [["the table", table], ["the dump", dump], ["the log", log]]) {
          assert.ok(text.includes(keyOf(id)), `${where} shows the session's key (it could have shown its id)`);
          assert.ok(!text.includes(id), `${where} holds a session id`);
        }
      }
    });

    test("login regenerates the session id: the id held before login is dead afterwards", async () => {
      const app = await startExampleApp(backend.settings);
      const jar = await login(app, ALICE);
      const before = jar.clone();
      await login(app, BOB, jar);
      assert.notEqual(sessionIdOf(jar.get("sid")), sessionIdOf(before.get("sid")));
      assert.equal(await whoAmI(app, jar), "bob");
      assert.equal(await whoAmI(app, before), 401);
      await app.stop();
    });

    test("the session survives the app being killed and a new process started on the same database", async () => {
      const first = await startExampleApp(backend.settings);
      const jar = await login(first, ALICE);
      await first.stop("SIGKILL");
      const second = await startExampleApp(backend.settings);
      assert.notEqual(second.pid, first.pid);
      assert.equal(await whoAmI(second, jar), "alice");
      const exit = await second.stop("SIGTERM");
      assert.equal(exit.code, 0, `graceful shutdown exits 0:\n${second.output()}`);
    });

    test("two app instances share sessions: log in on one, use and log out on the other", async () => {
      const [a, b] = await Promise.all([startExampleApp(backend.settings), startExampleApp(backend.settings)]);
      const jar = await login(a, ALICE);
      assert.equal(await whoAmI(b, jar), "alice");
      const old = jar.clone();
      assert.equal((await request(b.url, "/logout", { method: "POST", jar, body: {} })).status, 200);
      assert.equal(await whoAmI(a, old), 401);
      await Promise.all([a.stop(), b.stop()]);
    });

    test(
      "rolling expiry: requests move expires_at forward and keep a session alive past maxAge; idle it expires",
      async () => {
        const maxAge = 3;
        const app = await startExampleApp({ ...backend.settings, SESSION_MAX_AGE: String(maxAge) });
        const jar = await login(app, ALICE);
        const loggedInAt = Date.now();
        const first = (await storedRow(jar)).expires_at;
        await sleep(1000);
        assert.equal(await whoAmI(app, jar), "alice");
        const moved = (await storedRow(jar)).expires_at;
        assert.ok(moved > first, `expires_at moved forward: ${first.toISOString()} -> ${moved.toISOString()}`);

        while (Date.now() - loggedInAt < (maxAge + 1) * 1000) {
          await sleep(1000);
          assert.equal(await whoAmI(app, jar), "alice", "an active session outlives maxAge counted from login");
        }
        await sleep((maxAge + 0.5) * 1000);
        assert.equal(await whoAmI(app, jar), 401, "an idle session ends after maxAge");
        await app.stop();
      },
    );

    test("SESSION_TOUCH_AFTER throttles: a request soon after the last write leaves expires_at alone", async () => {
      const app = await startExampleApp({ ...backend.settings, SESSION_TOUCH_AFTER: "3600" });
      const jar = await login(app, ALICE);
      const stored = (await storedRow(jar)).expires_at;
      await sleep(1000);
      assert.equal(await whoAmI(app, jar), "alice");
      assert.deepEqual((await storedRow(jar)).expires_at, stored);
      await app.stop();
    });

    test("logout ends the session: the old cookie gets 401 and the session is gone from the live count", async () => {
      const app = await startExampleApp(backend.settings);
      const jar = await login(app, ALICE);
      const old = jar.clone();
      const res = await request(app.url, "/logout", { method: "POST", jar, body: {} });
      assert.equal(res.status, 200);
      assert.equal(jar.get("sid"), undefined, "the cookie is cleared");
      assert.equal(await whoAmI(app, old), 401);
      const { rows } = await db.query(
        "select count(*)::int as n from public.sessions where sid = $1 and expires_at > now()",
        [keyOf(sessionIdOf(old.get("sid")))],
      );
      assert.equal(rows[0].n, 0);
      await app.stop();
    });

    test("log out everywhere ends every session of the user, on every instance, and nobody else's", async () => {
      const [a, b] = await Promise.all([startExampleApp(backend.settings), startExampleApp(backend.settings)]);
      const laptop = await login(a, ALICE);
      const phone = await login(b, ALICE);
      const bob = await login(a, BOB);
      const res = await request(b.url, "/logout-all", { method: "POST", jar: phone, body: {} });
      assert.equal(res.status, 200, res.text);
      assert.ok(res.json.sessions >= 2, `ended both of alice's sessions (${res.json.sessions})`);
      assert.equal(await whoAmI(a, laptop), 401);
      assert.equal(await whoAmI(b, laptop), 401);
      assert.equal(await whoAmI(a, phone), 401);
      assert.equal(await whoAmI(b, bob), "bob");
      await Promise.all([a.stop(), b.stop()]);
    });

    test(
      "while the database is down the app answers 5xx, never 'not logged in'; afterwards the session is back",
      async () => {
        const app = await startExampleApp(backend.settings);
        const jar = await login(app, ALICE);
        const cluster = localDb.defaults(env);
        await db.end();
        localDb.stop(cluster);
        try {
          const during = [];
          for (let i = 0; i < 3; i++) during.push((await request(app.url, "/me", { jar })).status);
          assert.ok(during.every((status) => status >= 500), `answers during the outage: ${during}`);
          assert.equal(during.at(-1), 503, "once the store has reported the outage: 503 session store unavailable");
        } finally {
          localDb.start(cluster);
          await connect();
        }
        const deadline = Date.now() + OUTAGE_RECOVERY_MS;
        let status;
        while ((status = await whoAmI(app, jar)) !== "alice" && Date.now() < deadline) await sleep(500);
        assert.equal(status, "alice", "the session works again once the database is back");
        await app.stop();
      },
    );
  });
}

/** A POST with a raw body and the jar's cookie; redirects are not followed. */
async function post(app, path, jar, { type, body } = {}) {
  const res = await fetch(new URL(path, app.url), {
    method: "POST",
    redirect: "manual",
    headers: { ...(type && { "content-type": type }), ...(jar.header() && { cookie: jar.header() }) },
    body,
  });
  jar.update(res);
  return { status: res.status, location: res.headers.get("location"), text: await res.text() };
}

const FORM = "application/x-www-form-urlencoded";
const formBody = (fields) => new URLSearchParams(fields).toString();

/** The CSRF token in a page the jar's browser would be shown. */
async function formToken(app, jar) {
  const page = await request(app.url, "/", { jar, headers: { accept: "text/html" } });
  const token = page.text.match(/name="_csrf" value="([^"]+)"/)?.[1];
  assert.ok(token, `the page has a form token:\n${page.text}`);
  return token;
}

describe("CSRF: forms need the session's token, the JSON API needs a JSON body", () => {
  const pgBackend = { DATABASE_URL: env.DATABASE_URL };

  test(
    "the sign-in form: refused without the token, with a made-up one or another session's; accepted with its own",
    async () => {
      const app = await startExampleApp(pgBackend);
      const visitor = new CookieJar();
      const token = await formToken(app, visitor);
      const other = await formToken(app, new CookieJar());
      assert.notEqual(token, other, "every session has its own token");
      for (
        const [what, fields] of [
          ["no token", ALICE],
          ["a made-up token", { ...ALICE, _csrf: "A".repeat(token.length) }],
          ["another session's token", { ...ALICE, _csrf: other }],
          [
            "the token twice, once wrong",
            new URLSearchParams([...Object.entries(ALICE), ["_csrf", token], ["_csrf", other]]),
          ],
        ]
      ) {
        const res = await post(app, "/login", visitor, { type: FORM, body: formBody(fields) });
        assert.equal(res.status, 403, `${what}: ${res.text}`);
        assert.equal(await whoAmI(app, visitor), 401, `${what}: nobody is logged in`);
      }
      const ok = await post(app, "/login", visitor, { type: FORM, body: formBody({ ...ALICE, _csrf: token }) });
      assert.equal(ok.status, 303, ok.text);
      assert.equal(ok.location, "/");
      assert.equal(await whoAmI(app, visitor), "alice");
      assert.notEqual(await formToken(app, visitor), token, "the signed-in session has a new token");
      await app.stop();
    },
  );

  test(
    "logout: a form, text/plain or body-less POST without the token is 403 and the session lives; JSON logs out",
    async () => {
      const app = await startExampleApp(pgBackend);
      const jar = await login(app, ALICE);
      for (
        const [what, init] of [
          ["a form without the token", { type: FORM, body: "x=1" }],
          ["multipart, as a form can send", { type: "multipart/form-data; boundary=b", body: "--b--\r\n" }],
          ["text/plain, as a form can send", { type: "text/plain", body: "{}" }],
          ["no body and no content type", {}],
          ["JSON in disguise", { type: "text/plain; x=application/json", body: "{}" }],
        ]
      ) {
        const res = await post(app, "/logout", jar, init);
        assert.equal(res.status, 403, `${what}: ${res.text}`);
      }
      assert.equal(await whoAmI(app, jar), "alice", "none of them ended the session");
      const json = await post(app, "/logout", jar, { type: "application/json; charset=utf-8", body: "{}" });
      assert.equal(json.status, 200, json.text);
      assert.equal(await whoAmI(app, jar), 401);
      await app.stop();
    },
  );
});

describe("cookie and secret settings", () => {
  const pgBackend = { DATABASE_URL: env.DATABASE_URL };

  test("development: HttpOnly, SameSite=Lax, not Secure, 24 h maxAge, re-sent on each request", async () => {
    const app = await startExampleApp(pgBackend);
    const res = await request(app.url, "/login", { method: "POST", body: ALICE });
    const [cookie] = res.headers.getSetCookie();
    assert.match(cookie, /^sid=s%3A/);
    assert.match(cookie, /; HttpOnly/);
    assert.match(cookie, /; SameSite=Lax/);
    assert.doesNotMatch(cookie, /; Secure/);
    const expires = Date.parse(cookie.match(/Expires=([^;]+)/)[1]);
    const day = 24 * 60 * 60 * 1000;
    assert.ok(Math.abs(expires - Date.now() - day) < 60_000, `cookie expires in 24 h: ${cookie}`);
    const jar = new CookieJar();
    jar.update(res);
    const me = await request(app.url, "/me", { jar });
    assert.equal(me.headers.getSetCookie().length, 1, "rolling: the cookie is renewed");
    await app.stop();
  });

  test("production refuses to start without SESSION_SECRET, or with a short one", async () => {
    const none = await startExampleAppExpectingFailure({ ...pgBackend, NODE_ENV: "production" });
    assert.notEqual(none.code, 0);
    assert.match(none.output, /SESSION_SECRET is required in production/);
    const short = await startExampleAppExpectingFailure({
      ...pgBackend,
      NODE_ENV: "production",
      SESSION_SECRET: "short",
    });
    assert.notEqual(short.code, 0);
    assert.match(short.output, /at least 32/);
  });

  test("a sign-in limit that is not a whole number of at least 1 stops the app with the variable's name", async () => {
    for (const [name, value] of [["LOGIN_FAILURES_PER_IP", "abc"], ["LOGIN_FAILURES_PER_ACCOUNT", "0"]]) {
      const bad = await startExampleAppExpectingFailure({ ...pgBackend, [name]: value });
      assert.notEqual(bad.code, 0);
      assert.match(bad.output, new RegExp(`${name} must be a whole number of at least 1, got "${value}"`));
    }
  });

  test("production behind a proxy: Secure cookie only when TRUST_PROXY lets the app see the original https", async () => {
    const production = { ...pgBackend, NODE_ENV: "production", SESSION_SECRET: LONG_SECRET };
    const https = { "x-forwarded-proto": "https" };
    const proxied = await startExampleApp({ ...production, TRUST_PROXY: "1" });
    const res = await request(proxied.url, "/login", { method: "POST", body: ALICE, headers: https });
    assert.equal(res.status, 200);
    const [cookie] = res.headers.getSetCookie();
    assert.match(cookie ?? "", /; Secure/);
    assert.match(cookie, /; HttpOnly/);

    // Without trust proxy the app believes the request is plain http and withholds the Secure cookie.
    const direct = await startExampleApp(production);
    const plain = await request(direct.url, "/login", { method: "POST", body: ALICE, headers: https });
    assert.equal(plain.status, 200);
    assert.equal(plain.headers.getSetCookie().length, 0);
    await Promise.all([proxied.stop(), direct.stop()]);
  });

  test("secret rotation: SESSION_SECRET=new,old keeps old cookies valid and signs renewed ones with new", async () => {
    const oldApp = await startExampleApp({ ...pgBackend, SESSION_SECRET: LONG_SECRET });
    const jar = await login(oldApp, ALICE);
    const signedWithOld = jar.clone();
    await oldApp.stop();

    const rotating = await startExampleApp({ ...pgBackend, SESSION_SECRET: `${NEXT_SECRET},${LONG_SECRET}` });
    assert.equal(await whoAmI(rotating, jar), "alice", "a cookie signed with the previous secret still verifies");
    assert.notEqual(jar.get("sid"), signedWithOld.get("sid"), "the renewed cookie carries a new signature");
    assert.equal(sessionIdOf(jar.get("sid")), sessionIdOf(signedWithOld.get("sid")), "for the same session");
    await rotating.stop();

    const newOnly = await startExampleApp({ ...pgBackend, SESSION_SECRET: NEXT_SECRET });
    assert.equal(await whoAmI(newOnly, jar), "alice");
    assert.equal(await whoAmI(newOnly, signedWithOld), 401, "once the old secret is dropped, its cookies are refused");
    await newOnly.stop();
  });
});
