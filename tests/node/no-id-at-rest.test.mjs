// Sessions are credentials at rest too: the database never sees a session id. A whole
// session life (sign-in, reads, touches, the account page, ending one device, logout) runs
// on both backends while the test records every byte the store sends (the pg pool's
// statements and parameters; supabase-js's HTTP requests), Postgres logs every statement
// with its parameters, and afterwards the table is dumped with pg_dump: none of these holds
// an id, each holds the keys (so each of them could have shown one). And a key read from the
// table, signed into a cookie with the app's own secret, opens no session in a real
// express-session app.
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import http from "node:http";
import { after, describe, test } from "node:test";
import express from "express";
import session from "express-session";
import { SupabaseSessionStore } from "../../dist/esm/index.js";
import { startGateway } from "../../scripts/gateway/index.mjs";
import { dumpSessionsTable, statementLogDuring } from "./support/at-rest.mjs";
import { quietPool, sessionFor, supabaseClient } from "./support/backends.mjs";
import { requireEnv } from "./support/env.mjs";
import { keyOf } from "./support/keys.mjs";

const env = requireEnv("DATABASE_URL", "SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY");
const admin = quietPool({ connectionString: env.DATABASE_URL, max: 2 });
/** Ids as express-session makes them (uid-safe, 24 random bytes): the cookie's value, the bearer credential. */
const newId = () => randomBytes(24).toString("base64url");
const used = [];

after(async () => {
  await admin.query("delete from public.sessions where sid = any($1)", [used.map(keyOf)]);
  await admin.end();
});

/**
 * A store on `backend` whose every call is recorded as text, on connections of its own, opened
 * now (so they log): a pool, or for supabase-js a gateway of its own at `apiUrl`.
 */
function recordedStore(backend, apiUrl = env.SUPABASE_URL) {
  const wire = [];
  if (backend === "pg") {
    const pool = quietPool({ connectionString: env.DATABASE_URL, max: 2 });
    const recorded = {
      query: (text, values) => {
        wire.push(JSON.stringify([text, values]));
        return pool.query(text, values);
      },
    };
    const store = new SupabaseSessionStore({ pool: recorded });
    return { store, wire, close: async () => (await store.close(), await pool.end()) };
  }
  const client = supabaseClient(apiUrl, env.SUPABASE_SERVICE_ROLE_KEY, (input, init) => {
    wire.push(`${input} ${typeof init?.body === "string" ? init.body : ""}`);
    return fetch(input, init);
  });
  const store = new SupabaseSessionStore({ client });
  return { store, wire, close: () => store.close() };
}

/** A Passport user's life on two devices: every store operation an app and its account page make. */
async function sessionLife(store) {
  const user = `no-id-${randomBytes(4).toString("hex")}`;
  const [laptop, phone] = [newId(), newId()];
  used.push(laptop, phone);
  await store.set(laptop, sessionFor(30, { passport: { user } }));
  await store.set(phone, sessionFor(30, { passport: { user } }));
  assert.equal((await store.get(laptop)).passport.user, user);
  await Promise.all([store.get(laptop), store.get(phone)]);
  await store.touch(laptop, sessionFor(45, { passport: { user } }));
  const listed = await store.listUserSessions(user);
  assert.deepEqual(listed.map((s) => s.id).sort(), [laptop, phone].map((sid) => store.sessionHandle(sid)).sort());
  assert.equal(await store.destroyUserSession(user, store.sessionHandle(phone)), true, "the phone is signed out");
  assert.ok((await store.ids()).includes(store.sessionHandle(laptop)));
  assert.ok(store.sessionHandle(laptop) in (await store.all()));
  assert.ok((await store.length()) >= 1);
  await store.destroy(laptop);
  assert.equal(await store.get(laptop), null);
  return [laptop, phone];
}

for (const backend of ["pg", "supabase-js"]) {
  describe(`${backend} backend`, () => {
    test("no call the store makes, and no statement Postgres logs, carries a session id", async () => {
      let ids;
      let wire;
      // The stack's gateway holds connections opened before the logging was switched on.
      const log = await statementLogDuring(async () => {
        const gateway = backend === "supabase-js" && (await startGateway({ databaseUrl: env.DATABASE_URL }));
        const recorded = recordedStore(backend, gateway?.url);
        wire = recorded.wire;
        try {
          ids = await sessionLife(recorded.store);
        } finally {
          await recorded.close();
          if (gateway) await gateway.close();
        }
      });
      const sent = wire.join("\n");
      assert.ok(wire.length >= 10, `the recorder saw ${wire.length} calls`);
      for (const id of ids) {
        assert.ok(sent.includes(keyOf(id)), "the calls carry the key (the recorder sees what is sent)");
        assert.ok(!sent.includes(id), "no call carries the id");
        assert.ok(log.includes(keyOf(id)), "the server log shows the key (it logs what it is sent)");
        assert.ok(!log.includes(id), "the server log shows no id");
      }
    });
  });
}

test("pg_dump of the table holds the keys and no session id", async () => {
  const { store, close } = recordedStore("pg");
  const live = newId();
  used.push(live);
  let ended;
  try {
    ended = await sessionLife(store);
    await store.set(live, sessionFor(30, { cart: [1, 2] }));
  } finally {
    await close();
  }
  const dump = await dumpSessionsTable();
  assert.ok(
    dump.includes(keyOf(live)) && dump.includes(keyOf(ended[0])),
    "the dump has the live row and the tombstone",
  );
  for (const id of [live, ...ended]) assert.ok(!dump.includes(id), "no session id in the dump");
});

/** A cookie value signed as express-session signs it: `s:` + value + `.` + unpadded base64 HMAC-SHA256. */
const signed = (value, secret) =>
  `s:${value}.${createHmac("sha256", secret).update(value).digest("base64").replace(/=+$/, "")}`;

test("a key read from the table, signed with the app's secret, opens no session", async () => {
  const secret = randomBytes(16).toString("hex");
  const pool = quietPool({ connectionString: env.DATABASE_URL, max: 2 });
  const store = new SupabaseSessionStore({ pool });
  const app = express();
  app.use(session({ store, secret, resave: false, saveUninitialized: false, name: "sid" }));
  app.post("/login", (req, res) => {
    req.session.user = "ada";
    res.end();
  });
  app.get("/me", (req, res) => res.status(req.session.user ? 200 : 401).end(req.session.user ?? ""));
  const server = http.createServer(app).listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    const login = await fetch(`${base}/login`, { method: "POST" });
    const cookie = login.headers.get("set-cookie").split(";")[0];
    assert.equal((await fetch(`${base}/me`, { headers: { cookie } })).status, 200, "the real cookie works");
    const value = decodeURIComponent(cookie.slice("sid=".length));
    const id = value.slice(2, value.lastIndexOf("."));
    assert.equal(signed(id, secret), value, "this test signs cookies as express-session does");
    used.push(id);
    // What a reader of the table (or of a dump, a backup, a log) holds: the key.
    const { rows: [{ sid: key }] } = await admin.query("select sid from public.sessions where sid = $1", [keyOf(id)]);
    const forged = `sid=${encodeURIComponent(signed(key, secret))}`;
    const res = await fetch(`${base}/me`, { headers: { cookie: forged } });
    assert.equal(res.status, 401, "the stored key, even signed with the app's secret, is nobody's cookie");
  } finally {
    server.close();
    await store.close();
    await pool.end();
  }
});
