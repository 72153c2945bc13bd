// The PostgREST-compatible gateway (scripts/gateway/), driven by the real
// supabase-js against the real migrated database. The first part talks to the stack's
// API (SUPABASE_URL and its keys); the second starts gateways of its own for what
// needs a known JWT secret, an Edge Function upstream or an unreachable database.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { startGateway } from "../../scripts/gateway/index.mjs";
import { localKeys, signJwt } from "../../scripts/keys.mjs";
import { freePort } from "../../scripts/stack.mjs";
import { supabaseClient as supabase } from "./support/backends.mjs";
import { drainExpired } from "./support/cleanup.mjs";
import { requireEnv } from "./support/env.mjs";
import { keyOf } from "./support/keys.mjs";

const env = requireEnv(
  "DATABASE_URL",
  "SUPABASE_URL",
  "SUPABASE_ANON_KEY",
  "SUPABASE_SERVICE_ROLE_KEY",
  "SUPABASE_PUBLISHABLE_KEY",
  "SUPABASE_SECRET_KEY",
);

const prefix = `gateway-test-${randomUUID()}-`;
const db = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });

async function rawRpc(baseUrl, fn, { headers = {}, body = "{}", method = "POST" } = {}) {
  const res = await fetch(`${baseUrl}/rest/v1/rpc/${fn}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: method === "POST" ? body : undefined,
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

/** The stored key of this file's session `name`: the functions take keys (what the store sends), never ids. */
const ours = new Set();
function keyFor(name) {
  const key = keyOf(`${prefix}${name}`);
  ours.add(key);
  return key;
}

/** The keys of this file's sessions in the table, in order. */
async function storedSids() {
  const { rows } = await db.query("select sid from public.sessions where sid = any($1) order by sid", [[...ours]]);
  return rows.map((row) => row.sid);
}

after(async () => {
  await db.query("delete from public.sessions where sid = any($1)", [[...ours]]);
  await db.end();
});

describe("RPC through the stack's API", () => {
  const serviceKeys = [["service_role JWT", env.SUPABASE_SERVICE_ROLE_KEY], ["sb_secret key", env.SUPABASE_SECRET_KEY]];

  for (const [label, key] of serviceKeys) {
    test(`${label}: cleanup_expired_sessions deletes the expired rows and keeps the live one`, async () => {
      // Start from no deletable rows, so the returned count is exactly ours.
      await drainExpired(db);
      const sid = (name) => keyFor(`${label}-${name}`);
      await db.query(
        `insert into public.sessions (sid, data, expires_at) values
           ($1, '{}', now() - interval '1 hour'), ($2, '{}', now() - interval '1 minute'), ($3, '{}', now() + interval '1 hour')`,
        [sid("expired-1"), sid("expired-2"), sid("live")],
      );

      const { data, error, status } = await supabase(env.SUPABASE_URL, key).rpc("cleanup_expired_sessions", {
        batch_size: 100,
      });

      assert.equal(error, null);
      assert.equal(status, 200);
      assert.equal(data, 2);
      const mine = [sid("expired-1"), sid("expired-2"), sid("live")];
      assert.deepEqual((await storedSids()).filter((s) => mine.includes(s)), [sid("live")]);
    });

    test(`${label}: session_save_one / session_get / session_destroy round trip`, async () => {
      const client = supabase(env.SUPABASE_URL, key);
      const sid = keyFor(`${label}-roundtrip`);
      const expires = new Date(Date.now() + 3600_000);
      const sessionData = { cookie: { path: "/", httpOnly: true }, passport: { user: "42" }, note: 'a "quoted" ü' };

      const set = await client.rpc("session_save_one", {
        p_sid: sid,
        p_data: sessionData,
        p_expires_at: expires.toISOString(),
      });
      assert.equal(set.error, null);
      assert.equal(set.data, "stored");

      const got = await client.rpc("session_get", { p_sids: [sid] });
      assert.equal(got.error, null);
      assert.equal(got.data.length, 1);
      assert.deepEqual(got.data[0].data, sessionData);
      assert.equal(Date.parse(got.data[0].expires_at), expires.getTime());

      const single = await client.rpc("session_get", { p_sids: [sid] }).single();
      assert.equal(single.error, null);
      assert.deepEqual(single.data.data, sessionData);

      const ids = await client.rpc("session_touch", { p_sids: [sid], p_expires_at: [expires.toISOString()] });
      assert.deepEqual(ids.data, [sid], "setof text comes back as an array of strings");
      const count = await client.rpc("session_count");
      assert.equal(typeof count.data, "number");
      assert.ok(count.data >= 1);

      const destroyed = await client.rpc("session_destroy", { p_sid: sid });
      assert.equal(destroyed.error, null);
      assert.equal(destroyed.status, 204, "a void function answers 204 No Content");
      assert.equal(destroyed.data, null);

      const gone = await client.rpc("session_get", { p_sids: [sid] });
      assert.deepEqual(gone.data, []);
      const maybe = await client.rpc("session_get", { p_sids: [sid] }).maybeSingle();
      assert.equal(maybe.error, null);
      assert.equal(maybe.data, null);
      const none = await client.rpc("session_get", { p_sids: [sid] }).single();
      assert.equal(none.status, 406);
      assert.equal(none.error.code, "PGRST116");
      assert.equal(none.error.details, "The result contains 0 rows");
    });
  }

  test("GET calls run read only: a reading function works, a writing one is refused (405, 25006)", async () => {
    const client = supabase(env.SUPABASE_URL, env.SUPABASE_SECRET_KEY);
    const count = await client.rpc("session_count", {}, { get: true });
    assert.equal(count.error, null);
    assert.equal(typeof count.data, "number");

    const cleanup = await client.rpc("cleanup_expired_sessions", { batch_size: 5 }, { get: true });
    assert.equal(cleanup.status, 405);
    assert.equal(cleanup.error.code, "25006");
  });

  for (const [label, key] of [["anon JWT", env.SUPABASE_ANON_KEY], ["publishable key", env.SUPABASE_PUBLISHABLE_KEY]]) {
    test(`${label}: permission denied, 401 with code 42501, and nothing is written`, async () => {
      const client = supabase(env.SUPABASE_URL, key);
      const sid = keyFor(`anon-${label}`);
      for (
        const [fn, args] of [
          ["cleanup_expired_sessions", {}],
          ["session_get", { p_sids: [sid] }],
          ["session_save_one", { p_sid: sid, p_data: {}, p_expires_at: new Date(Date.now() + 60_000).toISOString() }],
        ]
      ) {
        const { data, error, status } = await client.rpc(fn, args);
        assert.equal(status, 401, fn);
        assert.equal(error.code, "42501", fn);
        assert.match(error.message, new RegExp(`permission denied for function ${fn}`));
        assert.equal(data, null);
      }
      assert.deepEqual(await storedSids().then((s) => s.filter((x) => x === sid)), []);
    });
  }

  test("no apikey header, whatever the Authorization: refused as hosted Supabase's gateway refuses it, before the database", async () => {
    const sid = keyFor(`no-apikey`);
    const save = JSON.stringify({ p_sid: sid, p_data: {}, p_expires_at: new Date(Date.now() + 60_000).toISOString() });
    const withoutApiKey = {
      "no credentials": {},
      "empty apikey": { apikey: "" },
      "service_role JWT as Bearer only": { authorization: `Bearer ${env.SUPABASE_SERVICE_ROLE_KEY}` },
      "secret key as Bearer only": { authorization: `Bearer ${env.SUPABASE_SECRET_KEY}` },
    };
    for (const [label, headers] of Object.entries(withoutApiKey)) {
      for (const [fn, method, body] of [["session_save_one", "POST", save], ["session_count", "GET"]]) {
        const res = await rawRpc(env.SUPABASE_URL, fn, { headers, method, body });
        assert.equal(res.status, 401, `${label}, ${method} ${fn}`);
        assert.deepEqual(res.body, {
          message: "No API key found in request",
          hint: "No `apikey` request header or url param was found.",
        }, `${label}, ${method} ${fn}`);
        assert.equal(res.headers.get("sb-error-code"), "UNAUTHORIZED_MISSING_API_KEY");
        assert.equal(res.headers.get("proxy-status"), null, "the API gateway answers, not PostgREST");
      }
    }
    // Refused before PostgREST's own checks too: a path it has no route for, a method RPC refuses.
    for (
      const [url, method] of [[`${env.SUPABASE_URL}/rest/v1/sessions`, "GET"], [
        `${env.SUPABASE_URL}/rest/v1/rpc/session_count`,
        "DELETE",
      ]]
    ) {
      const res = await fetch(url, { method });
      assert.equal(res.status, 401, `${method} ${url}`);
      assert.equal((await res.json()).message, "No API key found in request");
    }
    assert.deepEqual(await storedSids().then((s) => s.filter((x) => x === sid)), [], "nothing was written");
  });

  test("a publishable key reaches PostgREST as anon and is refused there: 401 (not 403), 42501, WWW-Authenticate: Bearer", async () => {
    const sid = keyFor(`publishable-raw`);
    const res = await rawRpc(env.SUPABASE_URL, "session_save_one", {
      headers: { apikey: env.SUPABASE_PUBLISHABLE_KEY },
      body: JSON.stringify({ p_sid: sid, p_data: {}, p_expires_at: new Date(Date.now() + 60_000).toISOString() }),
    });
    assert.equal(res.status, 401, "PostgREST answers 42501 with 401 for its anonymous role");
    assert.deepEqual(res.body, {
      code: "42501",
      message: "permission denied for function session_save_one",
      details: null,
      hint: null,
    });
    assert.equal(res.headers.get("www-authenticate"), "Bearer");
    assert.equal(res.headers.get("proxy-status"), "PostgREST; error=42501");
    assert.deepEqual(await storedSids().then((s) => s.filter((x) => x === sid)), [], "nothing was written");
  });

  test("an unknown function is PostgREST's not-found error (404, PGRST202)", async () => {
    const client = supabase(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY);
    const unknown = await client.rpc("no_such_function", { a: 1 });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.error.code, "PGRST202");
    assert.match(unknown.error.message, /public\.no_such_function\(a\)/);

    const wrongArgs = await client.rpc("session_get", { sid: "x" });
    assert.equal(wrongArgs.status, 404);
    assert.equal(wrongArgs.error.code, "PGRST202");
    assert.match(wrongArgs.error.hint, /public\.session_get\(p_sids\)/);
  });

  test("a bad argument is a 400 carrying the SQL error", async () => {
    const client = supabase(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY);
    const zero = await client.rpc("cleanup_expired_sessions", { batch_size: 0 });
    assert.equal(zero.status, 400);
    assert.equal(zero.error.code, "22023");
    assert.equal(zero.error.message, "batch_size must be between 1 and 100000, got 0");

    const notANumber = await client.rpc("cleanup_expired_sessions", { batch_size: "many" });
    assert.equal(notANumber.status, 400);
    assert.equal(notANumber.error.code, "22P02");
  });

  test("a tampered or malformed JWT is refused with 401 PGRST301, an unknown sb_ key with 401", async () => {
    const [head, payload] = env.SUPABASE_SERVICE_ROLE_KEY.split(".");
    const forged = `${head}.${payload}.${Buffer.from("not the signature").toString("base64url")}`;
    for (const token of [forged, "not-a-jwt"]) {
      const { status, error } = await supabase(env.SUPABASE_URL, token).rpc("session_count");
      assert.equal(status, 401);
      assert.equal(error.code, "PGRST301");
    }
    const wrongSecret = await supabase(env.SUPABASE_URL, `sb_secret_${randomBytes(24).toString("base64url")}`).rpc(
      "session_count",
    );
    assert.equal(wrongSecret.status, 401);
    assert.equal(wrongSecret.data, null);
  });

  test("a body that is not JSON is 400 PGRST102; an unknown route is 404", async () => {
    const headers = { apikey: env.SUPABASE_SECRET_KEY };
    const res = await rawRpc(env.SUPABASE_URL, "session_count", { headers, body: "{not json" });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, "PGRST102");

    const route = await fetch(`${env.SUPABASE_URL}/nowhere`, { headers });
    assert.equal(route.status, 404);
    await route.body.cancel();
  });
});

describe("gateway behaviour needing its own instance", () => {
  const keys = localKeys({ LOCAL_JWT_SECRET: randomBytes(32).toString("base64url") });
  const now = Math.floor(Date.now() / 1000);
  const jwt = (claims, secret = keys.jwtSecret) => signJwt({ iat: now, exp: now + 600, ...claims }, secret);
  const whoami = `gateway_test_whoami_${randomBytes(4).toString("hex")}`;
  let upstream;
  let upstreamRequests = [];
  let gateway;

  before(async () => {
    upstream = http.createServer((req, res) => {
      const chunks = [];
      req.on("data", (chunk) => chunks.push(chunk));
      req.on("end", () => {
        upstreamRequests.push({
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        });
        res.writeHead(201, { "content-type": "application/json", "x-function": "echo" });
        res.end(JSON.stringify({ echoed: true }));
      });
    });
    await new Promise((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    gateway = await startGateway({
      databaseUrl: env.DATABASE_URL,
      keys,
      functionsUrl: `http://127.0.0.1:${upstream.address().port}`,
    });
  });

  after(async () => {
    await gateway?.close();
    await new Promise((resolve) => upstream.close(resolve));
    await db.query(`drop function if exists public.${whoami}()`);
  });

  test("an expired JWT is 401 PGRST303 with an invalid_token challenge", async () => {
    const res = await rawRpc(gateway.url, "session_count", {
      headers: {
        apikey: keys.anonKey,
        authorization: `Bearer ${jwt({ role: "service_role", iat: now - 7200, exp: now - 3600 })}`,
      },
    });
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { code: "PGRST303", message: "JWT expired", details: null, hint: null });
    assert.match(res.headers.get("www-authenticate"), /^Bearer error="invalid_token"/);
  });

  test("JWTs signed with another secret or not HS256 are refused", async () => {
    const unsigned = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${
      Buffer.from('{"role":"service_role"}').toString("base64url")
    }.`;
    for (const token of [jwt({ role: "service_role" }, randomBytes(32).toString("hex")), unsigned]) {
      const { status, error } = await supabase(gateway.url, token).rpc("session_count");
      assert.equal(status, 401);
      assert.equal(error.code, "PGRST301");
    }
  });

  test("a signed-in user (authenticated) is refused with 403 42501; a role outside the API roles with 403", async () => {
    const user = await supabase(gateway.url, keys.anonKey)
      .rpc("session_count")
      .setHeader("Authorization", `Bearer ${jwt({ role: "authenticated", sub: "user-1" })}`);
    assert.equal(user.status, 403);
    assert.equal(user.error.code, "42501");

    const superuser = await supabase(gateway.url, jwt({ role: "postgres" })).rpc("session_count");
    assert.equal(superuser.status, 403);
    assert.equal(superuser.error.code, "42501");
  });

  test("a function created after start is found; role, claims, request settings and role settings apply", async () => {
    await db.query(`create function public.${whoami}() returns json language sql as $$
      select json_build_object(
        'user', current_user,
        'claims', current_setting('request.jwt.claims', true)::json,
        'method', current_setting('request.method', true),
        'path', current_setting('request.path', true),
        'statement_timeout', current_setting('statement_timeout'))
    $$`);
    const service = await supabase(gateway.url, keys.secretKey)
      .rpc(whoami)
      .setHeader("Authorization", `Bearer ${jwt({ role: "service_role", sub: "worker" })}`);
    assert.equal(service.error, null);
    assert.equal(service.data.user, "service_role");
    assert.equal(service.data.claims.sub, "worker");
    assert.equal(service.data.method, "POST");
    assert.equal(service.data.path, `/rpc/${whoami}`);

    const anon = await supabase(gateway.url, keys.publishableKey).rpc(whoami);
    assert.equal(anon.error, null);
    assert.equal(anon.data.user, "anon");
    assert.equal(anon.data.claims.role, "anon");
    assert.equal(anon.data.statement_timeout, "3s", "anon's own statement_timeout applies, as PostgREST applies it");
  });

  test("a body over 1 MiB is refused with 413", async () => {
    const res = await fetch(`${gateway.url}/rest/v1/rpc/session_get`, {
      method: "POST",
      headers: { "content-type": "application/json", apikey: keys.secretKey },
      body: JSON.stringify({ p_sids: ["x".repeat(1024 * 1024)] }),
    });
    assert.equal(res.status, 413);
    await res.body.cancel();
  });

  test("/functions/v1 is proxied to the functions upstream: method, path, query, headers and body", async () => {
    upstreamRequests = [];
    const client = supabase(gateway.url, keys.secretKey);
    const { data, error } = await client.functions.invoke("cleanup-sessions?dry_run=1", {
      body: { batch: 3 },
      headers: { "x-request-tag": "gateway-test" },
    });
    assert.equal(error, null);
    assert.deepEqual(data, { echoed: true });
    assert.equal(upstreamRequests.length, 1);
    const [seen] = upstreamRequests;
    assert.equal(seen.method, "POST");
    assert.equal(seen.url, "/cleanup-sessions?dry_run=1");
    assert.equal(seen.headers["x-request-tag"], "gateway-test");
    assert.equal(seen.headers.apikey, keys.secretKey);
    assert.deepEqual(JSON.parse(seen.body), { batch: 3 });

    const raw = await fetch(`${gateway.url}/functions/v1/cleanup-sessions`, { method: "POST", body: "{}" });
    assert.equal(raw.status, 201);
    assert.equal(raw.headers.get("x-function"), "echo");
    await raw.body.cancel();
  });

  test("functions: 503 when the upstream is unreachable or not configured", async () => {
    const unreachable = await startGateway({
      databaseUrl: env.DATABASE_URL,
      keys,
      functionsUrl: `http://127.0.0.1:${await freePort()}`,
    });
    const unconfigured = await startGateway({ databaseUrl: env.DATABASE_URL, keys });
    try {
      for (const gw of [unreachable, unconfigured]) {
        const res = await fetch(`${gw.url}/functions/v1/cleanup-sessions`, { method: "POST", body: "{}" });
        assert.equal(res.status, 503);
        assert.equal(typeof (await res.json()).message, "string");
      }
    } finally {
      await unreachable.close();
      await unconfigured.close();
    }
  });

  test("an unreachable database is 503 with a PGRST0xx code, and the gateway keeps serving", async () => {
    const dbUrl = new URL(env.DATABASE_URL);
    dbUrl.port = String(await freePort());
    const down = await startGateway({ databaseUrl: dbUrl.toString(), keys });
    try {
      for (let i = 0; i < 2; i++) {
        const { status, error } = await supabase(down.url, keys.secretKey).rpc("session_count");
        assert.equal(status, 503);
        assert.match(error.code, /^PGRST00[0-2]$/);
      }
    } finally {
      await down.close();
    }
  });
});

describe("exposed schemas, as PostgREST's db-schemas and profile headers", () => {
  const schema = `gateway_test_profile_${randomBytes(4).toString("hex")}`;
  const fn = `${schema}_where`;
  const headers = { apikey: env.SUPABASE_SECRET_KEY };
  let gateway;

  before(async () => {
    // One function name in two schemas, each answering with its own schema.
    await db.query(`create schema ${schema};
      grant usage on schema ${schema} to service_role;
      create function ${schema}.${fn}() returns text language sql set search_path = '' as $$ select '${schema}' $$;
      create function public.${fn}() returns text language sql set search_path = '' as $$ select 'public' $$;
      grant execute on function ${schema}.${fn}(), public.${fn}() to service_role;`);
    gateway = await startGateway({ databaseUrl: env.DATABASE_URL, exposedSchemas: ["public", schema] });
  });

  after(async () => {
    await gateway?.close();
    await db.query(`drop schema if exists ${schema} cascade; drop function if exists public.${fn}()`);
  });

  test("the first exposed schema by default; Content-Profile (POST) and Accept-Profile (GET) pick another", async () => {
    assert.equal((await rawRpc(gateway.url, fn, { headers })).body, "public");
    assert.equal((await rawRpc(gateway.url, fn, { headers: { ...headers, "content-profile": schema } })).body, schema);
    assert.equal(
      (await rawRpc(gateway.url, fn, { method: "GET", headers: { ...headers, "accept-profile": schema } })).body,
      schema,
    );
    const { data, error } = await supabase(gateway.url, env.SUPABASE_SECRET_KEY).schema(schema).rpc(fn);
    assert.equal(error, null);
    assert.equal(data, schema);
  });

  test("a schema that is not exposed is 406 PGRST106, naming the exposed ones", async () => {
    const refused = await rawRpc(gateway.url, fn, { headers: { ...headers, "content-profile": "private" } });
    assert.equal(refused.status, 406);
    assert.deepEqual(refused.body, {
      code: "PGRST106",
      message: "Invalid schema: private",
      details: null,
      hint: `Only the following schemas are exposed: public, ${schema}`,
    });
    const stack = await rawRpc(env.SUPABASE_URL, fn, { headers: { ...headers, "content-profile": schema } });
    assert.equal(stack.status, 406, "the stack's API exposes public only, as a new project does");
    assert.equal(stack.body.hint, "Only the following schemas are exposed: public");
  });
});
