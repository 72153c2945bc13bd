// The cleanup-sessions handler under hostile requests: oversized and lying bodies,
// wrong content types, invalid JSON, absurd batch sizes, very long headers and keys
// one character off. Each gets the right 4xx, deletes nothing (expired rows counted
// before and after), and logs no key and nothing of the body.
import assert from "node:assert/strict";
import pg from "pg";
import { handle } from "../../functions/cleanup-sessions/handler.ts";
import { functionEnv, requireEnv } from "./stack.ts";

const stack = requireEnv("DATABASE_URL", "SUPABASE_URL", "SUPABASE_SECRET_KEY", "SUPABASE_SERVICE_ROLE_KEY");
const SECRET = stack.SUPABASE_SECRET_KEY;
const ENV = functionEnv(stack);
const PREFIX = `deno-hostile-${crypto.randomUUID().slice(0, 8)}-`;
const MARKER = "body-marker-7f3a9c"; // must never appear in a log line

/** Changes one character of `key` (keeping its length and prefix). */
function offByOne(key: string, at: number): string {
  const c = key[at] === "A" ? "B" : "A";
  return key.slice(0, at) + c + key.slice(at + 1);
}

const json = { "content-type": "application/json" };
const auth = { apikey: SECRET };
const cases: [string, number, () => Request][] = [
  ["no key", 401, () => new Request("http://fn/", { method: "POST" })],
  ...[SECRET.length - 1, Math.floor(SECRET.length / 2), "sb_secret_".length].map((
    at,
  ): [string, number, () => Request] => [
    `key differing at character ${at}`,
    401,
    () => new Request("http://fn/", { method: "POST", headers: { apikey: offByOne(SECRET, at) } }),
  ]),
  [
    "key with a trailing character",
    401,
    () => new Request("http://fn/", { method: "POST", headers: { apikey: `${SECRET}x` } }),
  ],
  ["key truncated", 401, () => new Request("http://fn/", { method: "POST", headers: { apikey: SECRET.slice(0, -1) } })],
  [
    "bearer key one off",
    401,
    () => new Request("http://fn/", { method: "POST", headers: { authorization: `Bearer ${offByOne(SECRET, 12)}` } }),
  ],
  [
    "64 KiB apikey header",
    401,
    () => new Request("http://fn/", { method: "POST", headers: { apikey: SECRET + "x".repeat(65_536) } }),
  ],
  [
    "64 KiB unrelated header",
    400,
    () =>
      new Request("http://fn/", {
        method: "POST",
        headers: { ...auth, ...json, "x-long": "y".repeat(65_536) },
        body: "{",
      }),
  ],
  ["GET", 405, () => new Request("http://fn/", { headers: auth })],
  [
    "oversized body",
    413,
    () =>
      new Request("http://fn/", {
        method: "POST",
        headers: { ...auth, ...json },
        body: JSON.stringify({ batchSize: 10, pad: MARKER.repeat(100_000) }),
      }),
  ],
  ["oversized body under a small Content-Length", 413, () =>
    new Request("http://fn/", {
      method: "POST",
      headers: { ...auth, ...json },
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 100; i++) c.enqueue(new TextEncoder().encode(MARKER.repeat(100)));
          c.close();
        },
      }),
    })],
  [
    "text/plain body",
    415,
    () =>
      new Request("http://fn/", {
        method: "POST",
        headers: { ...auth, "content-type": "text/plain" },
        body: `{"batchSize":1}`,
      }),
  ],
  [
    "form body",
    415,
    () =>
      new Request("http://fn/", {
        method: "POST",
        headers: { ...auth, "content-type": "application/x-www-form-urlencoded" },
        body: "batchSize=1",
      }),
  ],
  [
    "no content type",
    415,
    () =>
      new Request("http://fn/", { method: "POST", headers: { ...auth, "content-type": "" }, body: `{"batchSize":1}` }),
  ],
  [
    "invalid JSON",
    400,
    () =>
      new Request("http://fn/", { method: "POST", headers: { ...auth, ...json }, body: `{"batchSize": 1, ${MARKER}` }),
  ],
  [
    "invalid UTF-8",
    400,
    () =>
      new Request("http://fn/", {
        method: "POST",
        headers: { ...auth, ...json },
        body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
      }),
  ],
  [
    "a JSON array",
    400,
    () => new Request("http://fn/", { method: "POST", headers: { ...auth, ...json }, body: `[{"batchSize":1}]` }),
  ],
  ["JSON null", 400, () => new Request("http://fn/", { method: "POST", headers: { ...auth, ...json }, body: "null" })],
  // The handler names an unknown field back only when it looks like an identifier: a field
  // of arbitrary text (the marker) or one that tries to forge a log line is never echoed.
  [
    "unknown field of arbitrary text",
    400,
    () => new Request("http://fn/", { method: "POST", headers: { ...auth, ...json }, body: `{"${MARKER}": 1}` }),
  ],
  [
    "unknown field forging a log line",
    400,
    () =>
      new Request("http://fn/", {
        method: "POST",
        headers: { ...auth, ...json },
        body: `{"x\\n{\\"level\\":\\"info\\",\\"status\\":200}": 1}`,
      }),
  ],
  [
    "__proto__ field",
    400,
    () =>
      new Request("http://fn/", {
        method: "POST",
        headers: { ...auth, ...json },
        body: `{"__proto__": {"batchSize": 5}}`,
      }),
  ],
  ...[-1, 0, 1.5, 100_001, 1e308, -1e308, "10", null, true, [1], { n: 1 }].map((v): [string, number, () => Request] => [
    `batchSize ${JSON.stringify(v)}`,
    400,
    () =>
      new Request("http://fn/", {
        method: "POST",
        headers: { ...auth, ...json },
        body: `{"batchSize": ${JSON.stringify(v)}}`,
      }),
  ]),
  [
    "batchSize 1e400 (Infinity)",
    400,
    () => new Request("http://fn/", { method: "POST", headers: { ...auth, ...json }, body: `{"batchSize": 1e400}` }),
  ],
  [
    "timeBudgetMs negative",
    400,
    () => new Request("http://fn/", { method: "POST", headers: { ...auth, ...json }, body: `{"timeBudgetMs": -5}` }),
  ],
  [
    "dryRun as a string",
    400,
    () => new Request("http://fn/", { method: "POST", headers: { ...auth, ...json }, body: `{"dryRun": "false"}` }),
  ],
];

Deno.test("hostile requests: the right 4xx, nothing deleted, nothing secret or from the body logged", async () => {
  const db = new pg.Client({ connectionString: stack.DATABASE_URL });
  await db.connect();
  try {
    await db.query(
      `insert into public.sessions (sid, data, expires_at)
       select encode(sha256(convert_to($1 || n, 'UTF8')), 'hex'), jsonb_build_object('cookie', '{}'::jsonb, 'test', $1),
              now() - make_interval(mins => n)
         from generate_series(1, 50) n`,
      [PREFIX],
    );
    const count = async () =>
      (await db.query("select count(*)::int as n from public.sessions where data->>'test' = $1", [PREFIX])).rows[0].n;
    assert.equal(await count(), 50);

    const lines: string[] = [];
    for (const [label, status, make] of cases) {
      const before = lines.length;
      const res = await handle(make(), { env: (name) => ENV[name], log: (line) => lines.push(line) });
      const body = await res.text();
      assert.equal(res.status, status, `${label}: ${body}`);
      assert.equal(lines.length, before + 1, `${label}: one log line`);
      assert.ok(!body.includes(SECRET) && !body.includes(MARKER), `${label}: the answer echoes nothing`);
      assert.equal(await count(), 50, `${label}: nothing deleted`);
    }
    for (const line of lines) {
      assert.ok(
        !line.includes(SECRET.slice("sb_secret_".length, "sb_secret_".length + 12)),
        `a key in the log: ${line}`,
      );
      assert.ok(!line.includes(stack.SUPABASE_SERVICE_ROLE_KEY.split(".")[2]), `a key in the log: ${line}`);
      assert.ok(
        !line.includes(MARKER) && !line.includes("xxxxxxxx") && !line.includes("yyyyyyyy"),
        `body or header content in the log: ${line}`,
      );
      assert.ok(!line.includes("\n"), `one line: ${line}`);
      JSON.parse(line); // structured, one JSON object per line
    }
    console.log(
      `# ${cases.length} hostile requests refused with the expected status; 0 rows deleted; ${lines.length} log lines clean`,
    );
  } finally {
    await db.query("delete from public.sessions where data->>'test' = $1", [PREFIX]);
    await db.end();
  }
});
