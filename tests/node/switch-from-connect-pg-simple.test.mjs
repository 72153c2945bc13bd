// Switching a live app from connect-pg-simple to this store, as a team does it on deploy
// day (docs/switching.md): a real connect-pg-simple@10 app on its own table.sql, 1,000 users
// logged in through HTTP, the guard, the import running while old and new instances serve
// side by side, logouts on both, then the old release gone. Every connection runs with a
// non-UTC TimeZone, as on a server configured that way, so that a misread `expire` shows.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import { once } from "node:events";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import connectPgSimple from "connect-pg-simple";
import express from "express";
import session from "express-session";
import pg from "pg";
import { SupabaseSessionStore } from "../../dist/esm/index.js";
import { requireEnv } from "./support/env.mjs";
import { CookieJar, request, sessionIdOf } from "./support/http.mjs";
import { keyOf } from "./support/keys.mjs";

const { DATABASE_URL } = requireEnv("DATABASE_URL");
const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, "../../bin/supabase-session-store.mjs");
const TABLE_SQL = fs.readFileSync(path.resolve(here, "../../node_modules/connect-pg-simple/table.sql"), "utf8");

// West of UTC: read as UTC, every `expire` would be 8 hours early and each session expired.
const TIME_ZONE = "America/Los_Angeles";
const PG_OPTIONS = `-c TimeZone=${TIME_ZONE}`;
const SCHEMA = "switch_test_app";
// connect-pg-simple's table.sql names its constraint and index: one table per schema.
const TZ_SCHEMA = "switch_test_tz";
const RACE_SCHEMA = "switch_test_race";
const AGENTS = 1000;
const CONCURRENCY = 50;
const MAX_AGE_MS = 3_600_000;
const ConnectPgSimple = connectPgSimple(session);

const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2, options: PG_OPTIONS });
const cleanups = [];

/** The switch command as an operator runs it, with the test's TimeZone as the server's. */
function cli(args) {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, "switch-from-connect-pg-simple", ...args, "--db-url", DATABASE_URL],
      { env: { PATH: process.env.PATH, PGOPTIONS: PG_OPTIONS }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }),
    );
  });
}

function appPool() {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 10, options: PG_OPTIONS });
  pool.on("error", () => {});
  cleanups.push(() => pool.end());
  return pool;
}

/** connect-pg-simple's own table.sql, in a schema of its own. */
async function createOldTable(schema, table) {
  await admin.query(TABLE_SQL.replaceAll('"session"', `"${schema}"."${table}"`));
}

/** The app, identical in both releases but for its store: log in, add notes, read them, log out. */
function sessionApp(store) {
  const app = express();
  app.use(express.json());
  app.use(session({
    store,
    secret: "switch-test-secret-not-for-production",
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: MAX_AGE_MS, httpOnly: true },
  }));
  app.post("/login", (req, res, next) => {
    req.session.regenerate((err) => {
      if (err) return next(err);
      req.session.user = req.body.user;
      req.session.notes = [];
      req.session.save((err) => (err ? next(err) : res.json({ user: req.session.user })));
    });
  });
  app.post("/notes", (req, res, next) => {
    if (!req.session.user) return res.status(401).json({ error: "not logged in" });
    req.session.notes.push(req.body.note);
    req.session.save((err) => (err ? next(err) : res.json({ notes: req.session.notes })));
  });
  app.get("/me", (req, res) => {
    if (!req.session.user) return res.status(401).json({ error: "not logged in" });
    res.json({ user: req.session.user, notes: req.session.notes });
  });
  app.post("/logout", (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.json({ ok: true }))));
  app.use((err, _req, res, _next) => {
    if (!res.headersSent) res.status(500).json({ error: String(err.message) });
  });
  return app;
}

async function listen(app) {
  const server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${server.address().port}`;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  cleanups.push(close);
  return { url, close };
}

const oldInstance = () =>
  listen(sessionApp(new ConnectPgSimple({ pool: appPool(), schemaName: SCHEMA, pruneSessionInterval: false })));

function newStore(options = {}) {
  const pool = appPool();
  const store = new SupabaseSessionStore({ pool, connectPgSimple: { schemaName: SCHEMA }, ...options });
  cleanups.push(() => store.close());
  return store;
}

/** Runs `task` for each item, `limit` at a time. */
async function eachLimited(items, limit, task) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

function ok(response, what) {
  assert.equal(response.status, 200, `${what}: ${response.status} ${response.text}`);
  return response.json;
}

before(async () => {
  await admin.query(`drop schema if exists ${SCHEMA} cascade; create schema ${SCHEMA}`);
  await admin.query(`drop schema if exists ${TZ_SCHEMA} cascade; create schema ${TZ_SCHEMA}`);
  await admin.query(`drop schema if exists ${RACE_SCHEMA} cascade; create schema ${RACE_SCHEMA}`);
  await admin.query("delete from public.sessions");
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await cli(["unguard", "--schema", SCHEMA]);
  await admin.query(`drop schema if exists ${SCHEMA} cascade; drop schema if exists ${TZ_SCHEMA} cascade`);
  await admin.query(`drop schema if exists ${RACE_SCHEMA} cascade`);
  await admin.query("delete from public.sessions");
  await admin.end();
});

test("1,000 users logged in on connect-pg-simple stay logged in through the switch, none of their data lost, none revived after logout", async () => {
  await createOldTable(SCHEMA, "session");
  const old = [await oldInstance(), await oldInstance()];
  const agents = Array.from({ length: AGENTS }, (_, i) => ({ user: `agent-${i}`, jar: new CookieJar(), notes: [] }));
  const note = async (agent, instance, text) => {
    const body = ok(
      await request(instance.url, "/notes", { method: "POST", jar: agent.jar, body: { note: text } }),
      `note of ${agent.user}`,
    );
    agent.notes.push(text);
    assert.deepEqual(
      body.notes,
      agent.notes,
      `${agent.user}'s notes on ${instance === old[0] || instance === old[1] ? "an old" : "a new"} instance`,
    );
  };

  // The old release: everyone logs in and writes a note.
  await eachLimited(agents, CONCURRENCY, async (agent) => {
    const instance = old[Number(agent.user.slice(6)) % 2];
    ok(
      await request(instance.url, "/login", { method: "POST", jar: agent.jar, body: { user: agent.user } }),
      "login",
    );
    await note(agent, instance, "before the switch");
  });

  // Step 1, the guard; then the new release starts beside the old one, and the import runs
  // while both serve.
  const guard = await cli(["guard", "--schema", SCHEMA]);
  assert.equal(guard.code, 0, guard.stderr);
  const fresh = [await listen(sessionApp(newStore())), await listen(sessionApp(newStore()))];
  const everyInstance = [...old, ...fresh];
  const pick = (i) => everyInstance[Math.floor(Math.random() * everyInstance.length + i) % everyInstance.length];

  const leaving = agents.slice(0, 100);
  const staying = agents.slice(100);
  const latecomers = Array.from({ length: 50 }, (_, i) => ({ user: `late-${i}`, jar: new CookieJar(), notes: [] }));
  const imported = cli(["import", "--schema", SCHEMA, "--batch-size", "100"]);
  await eachLimited([...agents, ...latecomers], CONCURRENCY, async (agent) => {
    if (agent.user.startsWith("late-")) {
      // Logged in on the old release during the overlap: written after the import began.
      const instance = old[0];
      ok(
        await request(instance.url, "/login", { method: "POST", jar: agent.jar, body: { user: agent.user } }),
        "late login",
      );
    }
    for (let k = 0; k < 3; k++) await note(agent, pick(k), `overlap ${k}`);
    if (leaving.includes(agent)) {
      agent.replay = agent.jar.clone();
      // Half log out on the old release, half on the new one.
      const instance = Number(agent.user.slice(6)) % 2 ? old[1] : fresh[0];
      ok(await request(instance.url, "/logout", { method: "POST", jar: agent.jar }), "logout");
    }
  });
  const result = await imported;
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /corrupt\s+0 /);
  assert.match(result.stderr + result.stdout, /rows\/s/, "the import reports its rate");

  // Stored as this store stores: by key, never by id, expiring an hour after the agent's
  // last request (touches move the expiry, not the cookie in the data). An `expire` read in
  // the wrong zone would be hours off.
  const sids = staying.map((agent) => sessionIdOf(agent.jar.get("connect.sid")));
  const { rows } = await admin.query(
    `select count(*)::int as n,
            extract(epoch from min(expires_at) - now())::float8 as soonest,
            extract(epoch from max(expires_at) - now())::float8 as latest
       from public.sessions where sid = any($1::text[]) and destroyed_at is null`,
    [sids.map(keyOf)],
  );
  assert.equal(rows[0].n, staying.length);
  const hour = MAX_AGE_MS / 1000;
  assert.ok(rows[0].soonest > hour - 600 && rows[0].latest <= hour + 1, `expiries in ${JSON.stringify(rows[0])} s`);
  const plain = await admin.query("select count(*)::int as n from public.sessions where sid = any($1::text[])", [sids]);
  assert.equal(plain.rows[0].n, 0, "no session id is stored");

  // Meanwhile a logged-out cookie finds nothing on any instance, old or new.
  for (const agent of leaving) {
    for (const instance of everyInstance) {
      const me = await request(instance.url, "/me", { jar: agent.replay.clone() });
      assert.equal(me.status, 401, `${agent.user}'s cookie after logout on ${instance.url}`);
    }
  }

  // The old release is gone: nothing is left to import, the guard goes.
  for (const instance of old) await instance.close();
  const drained = await cli(["import", "--schema", SCHEMA, "--dry-run"]);
  assert.equal(drained.code, 0, drained.stderr);
  assert.match(drained.stdout, /to import\s+0\n/);
  assert.match(drained.stdout, /is drained/);
  const unguard = await cli(["unguard", "--schema", SCHEMA]);
  assert.equal(unguard.code, 0, unguard.stderr);

  // The new release alone, without the option (the old table could be dropped now).
  const final = [await listen(sessionApp(newStore({ connectPgSimple: undefined })))];
  await eachLimited([...staying, ...latecomers], CONCURRENCY, async (agent) => {
    const me = ok(await request(final[0].url, "/me", { jar: agent.jar }), `${agent.user} after the switch`);
    assert.deepEqual(me, { user: agent.user, notes: agent.notes });
  });
  for (const agent of leaving) {
    const me = await request(final[0].url, "/me", { jar: agent.replay.clone() });
    assert.equal(me.status, 401, `${agent.user} after logout and the switch`);
  }
});

test("the import converts expire from the old app's TimeZone, skips expired and corrupt rows, and never overwrites or revives a session this store holds", async () => {
  await createOldTable(TZ_SCHEMA, "tz_session");
  const oldStore = new ConnectPgSimple({
    pool: appPool(),
    schemaName: TZ_SCHEMA,
    tableName: "tz_session",
    pruneSessionInterval: false,
  });
  const store = newStore({ connectPgSimple: undefined });
  const cookie = (ms) => ({ originalMaxAge: ms, expires: new Date(Date.now() + ms).toISOString(), httpOnly: true });
  const put = (sid, sess) =>
    new Promise((resolve, reject) => oldStore.set(sid, sess, (err) => (err ? reject(err) : resolve())));
  const ids = Array.from({ length: 10 }, (_, i) => `tz-import-session-id-${i}-${"x".repeat(12)}`);
  for (const sid of ids) await put(sid, { cookie: cookie(MAX_AGE_MS), user: sid.slice(0, 12) });
  await put("tz-import-expired-session-id-000000", { cookie: cookie(-60_000), user: "gone" });
  await admin.query(
    `insert into ${TZ_SCHEMA}.tz_session (sid, sess, expire) values
       ('tz-import-corrupt-array-session-id0', '[]', now() + interval '1 hour'),
       ('tz-import-corrupt-cookie-session-id', '{"cookie": 5}', now() + interval '1 hour')`,
  );
  // Held here already: a newer copy, and a session destroyed here.
  await store.set(ids[0], { cookie: cookie(MAX_AGE_MS), user: "newer here" });
  await store.destroy(ids[1]);

  const help = await cli(["--help"]);
  assert.match(
    help.stdout,
    /1\. +guard[\s\S]*2\. +import[\s\S]*3\. +deploy[\s\S]*5\. +unguard/,
    "--help says the order of the steps",
  );
  const args = ["import", "--schema", TZ_SCHEMA, "--table", "tz_session"];
  const unguarded = await cli(args);
  assert.equal(unguarded.code, 2, "no guard, no import while old instances may run");
  assert.match(unguarded.stderr, /run the guard step first/);

  // Read in the wrong zone, every live row looks expired: the zone is what makes them live.
  const wrongZone = await cli([...args, "--dry-run", "--time-zone", "UTC"]);
  assert.equal(wrongZone.code, 0, wrongZone.stderr);
  assert.match(wrongZone.stdout, /to import\s+0\n/);
  assert.match(wrongZone.stdout, /expired\s+13 /);

  const dry = await cli([...args, "--dry-run"]);
  assert.match(dry.stdout, /to import\s+8\n/);
  const run = await cli([...args, "--old-instances-stopped"]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /13\/13 rows/);
  assert.match(run.stdout, /imported\s+8\n/);
  assert.match(run.stdout, /already here\s+2 /);
  assert.match(run.stdout, /expired\s+1 /);
  assert.match(run.stdout, /corrupt\s+2 /);
  assert.equal(
    (run.stderr.match(/skipped a corrupt session row \(sid sha256 [0-9a-f]{16}…\)/g) ?? []).length,
    2,
    run.stderr,
  );
  assert.ok(!(run.stdout + run.stderr).includes("tz-import"), "no session id is printed");

  const again = await cli([...args, "--old-instances-stopped"]);
  assert.match(again.stdout, /imported\s+0\n/, "a second run changes nothing");
  assert.match(again.stdout, /already here\s+10 /);

  assert.equal((await store.get(ids[0])).user, "newer here", "a session held here is not overwritten");
  assert.equal(await store.get(ids[1]), null, "a session destroyed here is not revived");
  for (const sid of ids.slice(2)) assert.equal((await store.get(sid)).user, sid.slice(0, 12));
  const { rows } = await admin.query(
    `select max(abs(extract(epoch from s.expires_at - (o.expire at time zone '${TIME_ZONE}'))))::float8 as drift
       from ${TZ_SCHEMA}.tz_session o join public.sessions s on s.sid = encode(sha256(convert_to(o.sid, 'UTF8')), 'hex')
      where s.destroyed_at is null and o.sid <> $1`,
    [ids[0]],
  );
  assert.equal(rows[0].drift, 0, "expires_at is the instant connect-pg-simple meant");

  // The read-through: a session written there after the import is found and kept here; one
  // destroyed here (its old row still there, as after "log out everywhere") stays destroyed;
  // a corrupt one is reported and is no session.
  const reported = [];
  const overlap = newStore({
    connectPgSimple: { schemaName: TZ_SCHEMA, tableName: "tz_session" },
    onError: (err) => reported.push(err),
  });
  const late = "tz-import-written-after-the-import-0";
  await put(late, { cookie: cookie(MAX_AGE_MS), user: "late" });
  assert.equal((await overlap.get(late)).user, "late");
  assert.equal((await store.get(late)).user, "late", "saved here by the read-through");
  assert.equal(await overlap.get(ids[1]), null, "a session destroyed here does not come back from the old table");
  assert.equal(await overlap.get("tz-import-corrupt-array-session-id0"), null);
  assert.deepEqual(reported.map((err) => err.name), ["CorruptSessionError"]);
  assert.ok(!reported[0].message.includes("tz-import"));

  // "Log out everywhere" here ends the user's sessions there too, for the old instances.
  const everywhere = ["tz-import-everywhere-session-id-0000", "tz-import-everywhere-session-id-0001"];
  for (const sid of everywhere) await put(sid, { cookie: cookie(MAX_AGE_MS), passport: { user: "u-everywhere" } });
  assert.ok(await overlap.get(everywhere[0]));
  assert.equal(await overlap.destroyUserSessions("u-everywhere"), 1, "the one session held here ended");
  const left = await admin.query(`select count(*)::int as n from ${TZ_SCHEMA}.tz_session where sid = any($1)`, [
    everywhere,
  ]);
  assert.equal(left.rows[0].n, 0, "no old instance can serve them any more");
  for (const sid of everywhere) assert.equal(await overlap.get(sid), null);

  // Ending one session from the account page (by its handle, the key) ends it there too.
  const single = "tz-import-account-page-session-id-0";
  await put(single, { cookie: cookie(MAX_AGE_MS), passport: { user: "u-single" } });
  assert.ok(await overlap.get(single));
  assert.equal(await overlap.destroyUserSession("u-single", keyOf(single)), true);
  const gone = await admin.query(`select count(*)::int as n from ${TZ_SCHEMA}.tz_session where sid = $1`, [single]);
  assert.equal(gone.rows[0].n, 0, "its old row is gone");
});

test("a save's write-back whose statement began before a logout here committed does not leave the old row behind", async () => {
  await createOldTable(RACE_SCHEMA, "session");
  const pool = appPool();
  // The old table's pool for one new instance. Armed with a logout, it runs the next write-back insert
  // as a statement whose snapshot was taken before that logout (on another new instance) committed and
  // deleted the old row: the interleaving a busy server can produce between a statement's start and its insert.
  let logoutMeanwhile = null;
  const oldTablePool = {
    async query(text, values) {
      if (!logoutMeanwhile || !/^\s*insert into/.test(text)) return pool.query(text, values);
      const logout = logoutMeanwhile;
      logoutMeanwhile = null;
      const client = await pool.connect();
      try {
        await client.query("begin isolation level repeatable read");
        await client.query("select 1"); // the statement's snapshot
        await logout();
        const result = await client.query(text, values);
        await client.query("commit");
        return result;
      } finally {
        client.release();
      }
    },
  };
  const writer = newStore({ connectPgSimple: { schemaName: RACE_SCHEMA, pool: oldTablePool } });
  const other = newStore({ connectPgSimple: { schemaName: RACE_SCHEMA } });
  const sid = "switch-race-write-back-session-id-0";
  const sess = (notes) => ({
    cookie: { originalMaxAge: MAX_AGE_MS, expires: new Date(Date.now() + MAX_AGE_MS) },
    notes,
  });
  const oldRows = async () =>
    (await admin.query(`select sess::text from ${RACE_SCHEMA}.session where sid = $1`, [sid])).rows;

  await writer.set(sid, sess(["first"]));
  assert.match((await oldRows())[0]?.sess ?? "", /first/, "written back for the old instances");

  logoutMeanwhile = () => other.destroy(sid);
  await writer.set(sid, sess(["first", "late"]));
  assert.equal(logoutMeanwhile, null, "the logout ran inside the write-back's statement");
  assert.deepEqual(await oldRows(), [], "no old instance can serve the logged-out session");
  assert.equal(await other.get(sid), null);
  assert.equal(await writer.get(sid), null);
});
