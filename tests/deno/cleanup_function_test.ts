// The cleanup-sessions Edge Function over HTTP: its real handler served by
// Deno.serve inside this process (so each test chooses the function's
// configuration), talking to the real database through the local stack's API
// (SUPABASE_URL), and the function the stack itself serves behind /functions/v1.
import assert from "node:assert/strict";
import pg from "pg";
import { handle } from "../../functions/cleanup-sessions/handler.ts";
import { functionEnv, requireEnv } from "./stack.ts";

const stack = requireEnv(
  "DATABASE_URL",
  "SUPABASE_URL",
  "SUPABASE_SECRET_KEY",
  "SUPABASE_SERVICE_ROLE_KEY",
  "SUPABASE_ANON_KEY",
  "SUPABASE_PUBLISHABLE_KEY",
);
const CLEANUP_SECRET = "cleanup-secret-for-the-deno-tests-0123456789";
/** The configuration Supabase gives a deployed function, plus a dedicated cleanup secret. */
const PLATFORM_ENV = { ...functionEnv(stack), CLEANUP_SECRET };
const ALL_KEYS = [stack.SUPABASE_SECRET_KEY, stack.SUPABASE_SERVICE_ROLE_KEY, CLEANUP_SECRET];
const PREFIX = "deno-cleanup-test-";
/** Log lines that contained a key or a configured secret (checked after every request). */
const leaks: string[] = [];

interface Served {
  url: string;
  logs: Record<string, unknown>[];
  [Symbol.asyncDispose](): Promise<void>;
}

/** The real handler on a free port, configured with exactly `env`, its log lines collected. */
function serve(env: Record<string, string>): Served {
  const logs: Record<string, unknown>[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) =>
      handle(req, {
        env: (name) => env[name],
        log: (line) => {
          if ([...ALL_KEYS, ...Object.values(env)].some((v) => v.length >= 16 && line.includes(v))) leaks.push(line);
          logs.push(JSON.parse(line));
        },
      }),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/cleanup-sessions`,
    logs,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(url: string, init: RequestInit & { json?: unknown } = {}): Promise<Answer> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined) headers.set("content-type", "application/json");
  const res = await fetch(url, {
    method: "POST",
    ...rest,
    headers,
    body: json === undefined ? rest.body : JSON.stringify(json),
  });
  const text = await res.text();
  for (const key of ALL_KEYS) assert.ok(!text.includes(key), "an answer contains a key");
  assert.deepEqual(leaks, [], "a log line contains a key");
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  return { status: res.status, headers: res.headers, body: JSON.parse(text) };
}

async function withDb<T>(fn: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client({ connectionString: stack.DATABASE_URL });
  await db.connect();
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}

/**
 * Leaves exactly `expired` purgeable sessions (and `live` live ones, plus a young
 * tombstone) of this test file: anything expired from elsewhere is purged first so
 * that counts are exact. A row's sid is a key (hex SHA-256) as the store writes it; its
 * name and this file's prefix are in its data, where `remaining()` finds them.
 */
function seed(expired: number, live = 0) {
  return withDb(async (db) => {
    await db.query("delete from public.sessions where data->>'test' = $1", [PREFIX]);
    while ((await db.query("select public.cleanup_expired_sessions(100000) as n")).rows[0].n === 100000);
    await db.query(
      `insert into public.sessions (sid, data, expires_at, destroyed_at)
       select encode(sha256(convert_to($1 || name, 'UTF8')), 'hex'), jsonb_build_object('test', $1, 'name', name),
              expires_at, destroyed_at
         from (select 'expired-' || n, now() - make_interval(mins => n), null::timestamptz
                 from generate_series(1, $2::int) n
               union all
               select 'live-' || n, now() + interval '1 hour', null from generate_series(1, $3::int) n
               union all
               select 'tombstone', now() - interval '1 hour', now() - interval '1 hour') r(name, expires_at, destroyed_at)`,
      [PREFIX, expired, live],
    );
  });
}

/** The names of this file's sessions still in the table, in order. */
function remaining(): Promise<string[]> {
  return withDb(async (db) =>
    (await db.query("select data->>'name' as name from public.sessions where data->>'test' = $1 order by 1", [PREFIX]))
      .rows.map((r) => r.name)
  );
}

const withKey = (key: string) => ({ headers: { apikey: key } });
const dryRun = { json: { dryRun: true } };

Deno.test("no key, a wrong key or a key one character off: 401, logged without the key", async () => {
  await using fn = serve(PLATFORM_ENV);
  const secret = stack.SUPABASE_SECRET_KEY;
  const lastCharFlipped = secret.slice(0, -1) + (secret.endsWith("A") ? "B" : "A");
  const firstCharFlipped = (secret.startsWith("x") ? "y" : "x") + secret.slice(1);
  const rejected: [string, RequestInit][] = [
    ["no key", {}],
    ["empty apikey", withKey("")],
    ["wrong key", withKey("sb_secret_not-the-right-key-at-all")],
    ["last character off", withKey(lastCharFlipped)],
    ["first character off", withKey(firstCharFlipped)],
    ["a prefix of the key", withKey(secret.slice(0, -1))],
    ["the key with a suffix", withKey(secret + "x")],
    ["the publishable key", withKey(stack.SUPABASE_PUBLISHABLE_KEY)],
    ["the anon key", withKey(stack.SUPABASE_ANON_KEY)],
    ["a wrong Bearer token", { headers: { authorization: `Bearer ${lastCharFlipped}` } }],
    ["the key under another scheme", { headers: { authorization: `Basic ${secret}` } }],
  ];
  for (const [what, init] of rejected) {
    const { status, body } = await call(fn.url, { ...init, ...dryRun });
    assert.equal(status, 401, what);
    assert.match(String(body.error), /valid secret key/, what);
  }
  assert.equal(fn.logs.length, rejected.length, "one log line per request");
  assert.deepEqual(fn.logs.map((l) => l.status), rejected.map(() => 401));
  assert.equal(fn.logs[0].reason, "no key");
  assert.equal(fn.logs[2].reason, "wrong key");
});

Deno.test("each accepted key form reaches the database", async () => {
  await using fn = serve({
    ...PLATFORM_ENV,
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: stack.SUPABASE_SECRET_KEY, ci: "sb_secret_second-key-0123456789" }),
  });
  const accepted: [string, RequestInit][] = [
    ["secret key in apikey", withKey(stack.SUPABASE_SECRET_KEY)],
    ["secret key as Bearer", { headers: { authorization: `Bearer ${stack.SUPABASE_SECRET_KEY}` } }],
    ["another key of SUPABASE_SECRET_KEYS", withKey("sb_secret_second-key-0123456789")],
    ["legacy service role key in apikey", withKey(stack.SUPABASE_SERVICE_ROLE_KEY)],
    ["legacy service role key as Bearer", { headers: { authorization: `bearer ${stack.SUPABASE_SERVICE_ROLE_KEY}` } }],
    ["CLEANUP_SECRET in apikey", withKey(CLEANUP_SECRET)],
    ["a wrong Bearer next to a right apikey", {
      headers: { apikey: CLEANUP_SECRET, authorization: `Bearer ${stack.SUPABASE_ANON_KEY}` },
    }],
  ];
  for (const [what, init] of accepted) {
    const { status, body } = await call(fn.url, { ...init, ...dryRun });
    assert.equal(status, 200, `${what}: ${JSON.stringify(body)}`);
    assert.equal(body.dryRun, true, what);
    assert.equal(typeof body.expired, "number", what);
  }
});

Deno.test("only the legacy service role key configured: it is accepted and used", async () => {
  await using fn = serve({
    SUPABASE_URL: stack.SUPABASE_URL,
    SUPABASE_SERVICE_ROLE_KEY: stack.SUPABASE_SERVICE_ROLE_KEY,
  });
  assert.equal((await call(fn.url, { ...withKey(stack.SUPABASE_SERVICE_ROLE_KEY), ...dryRun })).status, 200);
  assert.equal((await call(fn.url, { ...withKey(stack.SUPABASE_SECRET_KEY), ...dryRun })).status, 401);
});

Deno.test("no key configured (or only empty ones): 500 with a clear message, for every caller", async () => {
  const unconfigured: Record<string, string>[] = [
    { SUPABASE_URL: stack.SUPABASE_URL },
    { SUPABASE_URL: stack.SUPABASE_URL, CLEANUP_SECRET: "", SUPABASE_SERVICE_ROLE_KEY: "", SUPABASE_SECRET_KEYS: "{}" },
  ];
  for (const env of unconfigured) {
    await using fn = serve(env);
    for (const init of [{}, withKey(""), withKey(stack.SUPABASE_SECRET_KEY)]) {
      const { status, body } = await call(fn.url, init);
      assert.equal(status, 500);
      assert.match(String(body.error), /no key is configured/);
    }
  }
  await using malformed = serve({ ...PLATFORM_ENV, SUPABASE_SECRET_KEYS: "not json" });
  const { status, body } = await call(malformed.url, withKey(CLEANUP_SECRET));
  assert.equal(status, 500);
  assert.match(String(body.error), /SUPABASE_SECRET_KEYS must be a JSON object/);
});

Deno.test("only POST: other methods get 405 with Allow: POST", async () => {
  await using fn = serve(PLATFORM_ENV);
  for (const method of ["GET", "PUT", "PATCH", "DELETE"]) {
    const { status, headers, body } = await call(fn.url, { method, ...withKey(stack.SUPABASE_SECRET_KEY) });
    assert.equal(status, 405, method);
    assert.equal(headers.get("allow"), "POST");
    assert.match(String(body.error), /only POST/);
  }
  // Authentication comes first: an unauthenticated caller learns nothing else.
  assert.equal((await call(fn.url, { method: "GET" })).status, 401);
});

Deno.test("the body is validated: 400 with the reason, 415 for non-JSON, 413 when too large", async () => {
  await using fn = serve(PLATFORM_ENV);
  const key = withKey(stack.SUPABASE_SECRET_KEY);
  const invalid: [unknown, RegExp][] = [
    [{ batchSize: 0 }, /batchSize must be an integer from 1 to 100000/],
    [{ batchSize: 100001 }, /batchSize must be an integer/],
    [{ batchSize: 2.5 }, /batchSize must be an integer/],
    [{ batchSize: "10" }, /batchSize must be an integer/],
    [{ timeBudgetMs: -1 }, /timeBudgetMs must be an integer from 0 to 120000/],
    [{ timeBudgetMs: 120001 }, /timeBudgetMs must be an integer/],
    [{ dryRun: "yes" }, /dryRun must be true or false/],
    [{ batch_size: 10 }, /unknown field "batch_size"/],
    [[1, 2], /must be a JSON object/],
    [null, /must be a JSON object/],
    [42, /must be a JSON object/],
  ];
  for (const [json, reason] of invalid) {
    const { status, body } = await call(fn.url, { ...key, json });
    assert.equal(status, 400, JSON.stringify(json));
    assert.match(String(body.error), reason);
  }
  const badJson = await call(fn.url, {
    headers: { ...key.headers, "content-type": "application/json" },
    body: "{not json",
  });
  assert.equal(badJson.status, 400);
  assert.match(String(badJson.body.error), /not valid JSON/);

  for (const type of ["text/plain", "application/x-www-form-urlencoded"]) {
    const { status } = await call(fn.url, {
      headers: { ...key.headers, "content-type": type },
      body: '{"dryRun":true}',
    });
    assert.equal(status, 415, type);
  }

  const big = JSON.stringify({ dryRun: true, padding: "x".repeat(4096) });
  assert.equal((await call(fn.url, { ...key, json: JSON.parse(big) })).status, 413);
  // Without a Content-Length (chunked), the cap applies while reading.
  const chunked = new ReadableStream({
    start(controller) {
      for (let i = 0; i < 8; i++) controller.enqueue(new TextEncoder().encode("x".repeat(512)));
      controller.close();
    },
  });
  const streamed = await call(fn.url, {
    headers: { ...key.headers, "content-type": "application/json" },
    body: chunked,
  });
  assert.equal(streamed.status, 413);

  // An empty body means the defaults, whatever its content type.
  const empty = await call(fn.url, { headers: { ...key.headers, "content-type": "text/plain" } });
  assert.equal(empty.status, 200);
  assert.equal(empty.body.dryRun, false);
});

Deno.test("a purge deletes expired sessions and leaves live ones and young tombstones", async () => {
  await using fn = serve(PLATFORM_ENV);
  await seed(7, 3);
  const { status, body } = await call(fn.url, withKey(stack.SUPABASE_SECRET_KEY));
  assert.equal(status, 200);
  assert.equal(body.deleted, 7);
  assert.equal(body.batches, 1);
  assert.equal(body.more, false);
  assert.equal(body.dryRun, false);
  assert.equal(typeof body.durationMs, "number");
  assert.deepEqual(await remaining(), ["live-1", "live-2", "live-3", "tombstone"]);
  const [line] = fn.logs;
  assert.equal(fn.logs.length, 1);
  assert.equal(line.fn, "cleanup-sessions");
  assert.equal(line.status, 200);
  assert.equal(line.deleted, 7);
});

Deno.test("a tiny batch size purges in several batches", async () => {
  await using fn = serve(PLATFORM_ENV);
  await seed(5, 1);
  const five = await call(fn.url, { ...withKey(stack.SUPABASE_SECRET_KEY), json: { batchSize: 2 } });
  assert.deepEqual({ ...five.body, durationMs: 0 }, {
    deleted: 5,
    batches: 3,
    more: false,
    durationMs: 0,
    dryRun: false,
  });

  // A full last batch cannot know it was the last: one more, empty, batch confirms it.
  await seed(4, 1);
  const four = await call(fn.url, { ...withKey(stack.SUPABASE_SECRET_KEY), json: { batchSize: 2 } });
  assert.equal(four.body.deleted, 4);
  assert.equal(four.body.batches, 3);
  assert.deepEqual(await remaining(), ["live-1", "tombstone"]);
});

Deno.test("a spent time budget stops after one batch and reports that more remain", async () => {
  await using fn = serve(PLATFORM_ENV);
  await seed(5);
  const { body } = await call(fn.url, {
    ...withKey(stack.SUPABASE_SECRET_KEY),
    json: { batchSize: 2, timeBudgetMs: 0 },
  });
  assert.equal(body.deleted, 2);
  assert.equal(body.batches, 1);
  assert.equal(body.more, true);
  assert.equal((await remaining()).filter((name) => name.startsWith("expired-")).length, 3);
});

Deno.test("a dry run counts and deletes nothing", async () => {
  await using fn = serve(PLATFORM_ENV);
  await seed(4, 2);
  const { status, body } = await call(fn.url, { ...withKey(stack.SUPABASE_SECRET_KEY), json: { dryRun: true } });
  assert.equal(status, 200);
  assert.deepEqual({ ...body, durationMs: 0 }, {
    deleted: 0,
    batches: 0,
    more: true,
    durationMs: 0,
    dryRun: true,
    expired: 4,
  });
  assert.equal((await remaining()).length, 7);
});

Deno.test("the database unreachable: 503 JSON, no key, and the function keeps serving", async () => {
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadUrl = `http://127.0.0.1:${dead.addr.port}`;
  dead.close();
  await using fn = serve({ ...PLATFORM_ENV, SUPABASE_URL: deadUrl });
  for (const json of [{}, { dryRun: true }]) {
    const { status, body } = await call(fn.url, { ...withKey(stack.SUPABASE_SECRET_KEY), json });
    assert.equal(status, 503);
    assert.equal(body.error, "the database is unavailable");
    assert.equal(body.deleted, 0);
  }
  assert.equal(fn.logs.at(-1)?.level, "error");
  // The same process still answers, and still checks keys.
  assert.equal((await call(fn.url, {})).status, 401);
});

Deno.test("a database error (a key without service_role): 502 JSON with the code, nothing deleted", async () => {
  // CLEANUP_SECRET lets the caller in, but the function's own database key is the
  // anon key, which may not execute cleanup_expired_sessions.
  await using fn = serve({
    SUPABASE_URL: stack.SUPABASE_URL,
    SUPABASE_SERVICE_ROLE_KEY: stack.SUPABASE_ANON_KEY,
    CLEANUP_SECRET,
  });
  await seed(2);
  const { status, body } = await call(fn.url, withKey(CLEANUP_SECRET));
  assert.equal(status, 502);
  assert.equal(body.error, "the database reported an error");
  assert.equal(body.code, "42501");
  assert.equal((await remaining()).length, 3);
});

Deno.test("the stack's function behind SUPABASE_URL/functions/v1 purges with the secret key", async () => {
  const url = `${stack.SUPABASE_URL}/functions/v1/cleanup-sessions`;
  await seed(3, 1);
  assert.equal((await call(url, {})).status, 401);
  const { status, body } = await call(url, withKey(stack.SUPABASE_SECRET_KEY));
  assert.equal(status, 200);
  assert.equal(body.deleted, 3);
  assert.deepEqual(await remaining(), ["live-1", "tombstone"]);
});

Deno.test("SESSIONS_SCHEMA picks the schema the function purges in; a bad name is a 500, an unexposed one a 502", async () => {
  await using bad = serve({ ...PLATFORM_ENV, SESSIONS_SCHEMA: "Session-Store" });
  const invalid = await call(bad.url, withKey(CLEANUP_SECRET));
  assert.equal(invalid.status, 500);
  assert.match(String(invalid.body.error), /SESSIONS_SCHEMA must be a lower-case schema name/);

  // The stack's API exposes public only, as a new project does: the schema must be exposed first.
  await seed(1);
  await using elsewhere = serve({ ...PLATFORM_ENV, SESSIONS_SCHEMA: "session_store" });
  const refused = await call(elsewhere.url, withKey(CLEANUP_SECRET));
  assert.equal(refused.status, 502);
  assert.equal(refused.body.code, "PGRST106");
  assert.deepEqual(await remaining(), ["expired-1", "tombstone"]);

  await using inPublic = serve({ ...PLATFORM_ENV, SESSIONS_SCHEMA: "public" });
  assert.equal((await call(inPublic.url, withKey(CLEANUP_SECRET))).body.deleted, 1);
});
