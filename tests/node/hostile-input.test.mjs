// Hostile session ids and session data, on both backends against the real database:
// each input gets a clear error through the callback (exactly once) or round-trips
// faithfully, never touches another session (a canary), and never reaches SQL as
// text (a canary table survives every injection attempt).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { RpcError, SupabaseSessionStore } from "../../dist/esm/index.js";
import { BACKENDS, callbackCalls, quietPool, sessionFor } from "./support/backends.mjs";
import { requireEnv } from "./support/env.mjs";
import { keyOf } from "./support/keys.mjs";

const { DATABASE_URL } = requireEnv("DATABASE_URL", "SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY");
const admin = quietPool({ connectionString: DATABASE_URL, max: 2 });
const run = randomBytes(4).toString("hex");
const CANARY_TABLE = `hostile_canary_${run}`;
const CANARY_SID = `hostile-canary-${run}`;
const CANARY_USER = `canary-user-${run}`;
const tried = { rejected: 0, roundTripped: 0 };
/** The ids this file's sessions were stored under, for the cleanup (the table holds only their keys). */
const used = [];
const SID_PREFIX = `hostile-${run}-`;
const hostileSid = (suffix) => {
  const sid = `${SID_PREFIX}${suffix}`;
  used.push(sid);
  return sid;
};

const INJECTIONS = [
  `'; drop table public.${CANARY_TABLE}; --`,
  `"); drop table public.${CANARY_TABLE}; --`,
  `' or '1'='1`,
  `$1`,
  `$$; drop table public.${CANARY_TABLE}; $$`,
  `%`,
  `_`,
  `\\`,
  `\\x00`,
  `E'\\\\'`,
  `${CANARY_SID}' --`,
  `${CANARY_SID}%`,
];

async function canaryState() {
  const { rows: [row] } = await admin.query(
    "select data, expires_at, destroyed_at, xmin::text as xmin from public.sessions where sid = $1",
    [keyOf(CANARY_SID)],
  );
  const { rows: [table] } = await admin.query("select to_regclass($1) is not null as present", [
    `public.${CANARY_TABLE}`,
  ]);
  const { rows: [sessions] } = await admin.query("select to_regclass('public.sessions') is not null as present");
  return { row, canaryTable: table.present, sessionsTable: sessions.present };
}
let canaryBefore;

before(async () => {
  await admin.query(`create table public.${CANARY_TABLE} (id int)`);
  await admin.query(`revoke all on public.${CANARY_TABLE} from anon, authenticated`);
  await admin.query(
    "insert into public.sessions (sid, data, expires_at) values ($1, $2, now() + interval '1 hour')",
    [keyOf(CANARY_SID), { cookie: { originalMaxAge: 3_600_000 }, passport: { user: CANARY_USER }, secret: "canary" }],
  );
  canaryBefore = await canaryState();
});

after(async () => {
  try {
    const now = await canaryState();
    assert.deepEqual(now, canaryBefore, "the canary session and table are exactly as they were");
    process.stdout.write(
      `# hostile inputs: ${tried.rejected} rejected with a clear error, ${tried.roundTripped} round-tripped, canary intact\n`,
    );
  } finally {
    await admin.query(`drop table if exists public.${CANARY_TABLE}`);
    await admin.query("delete from public.sessions where sid = any($1)", [[CANARY_SID, ...used].map(keyOf)]);
    await admin.end();
  }
});

/** Expects exactly one callback, with an error of `Type` whose message says something. */
async function expectRejected(label, Type, call) {
  const calls = await callbackCalls(call);
  assert.equal(calls.length, 1, `${label}: callback called exactly once`);
  const [err] = calls[0];
  assert.ok(err instanceof Type, `${label}: expected ${Type.name}, got ${err}`);
  assert.ok(err.message.length > 10, `${label}: a clear message`);
  tried.rejected++;
}

/** The id of the one row stored under exactly `sid` (compared by the database, byte for byte). */
async function storedRow(sid) {
  const { rows } = await admin.query("select sid, data from public.sessions where sid = $1", [keyOf(sid)]);
  return rows;
}

const deeplyNested = (depth) => {
  let value = { leaf: true };
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
};

for (const [name, make] of Object.entries(BACKENDS)) {
  describe(`hostile input: ${name} backend`, () => {
    let store, close;
    before(() => ({ store, close } = make()));
    after(() => close());

    test("ids that cannot be stored faithfully are refused, for every operation", async () => {
      const ok = sessionFor(30);
      const refused = [
        ["empty", "", TypeError],
        ["number", 42, TypeError],
        ["null", null, TypeError],
        ["undefined", undefined, TypeError],
        ["object", { toString: () => CANARY_SID }, TypeError],
        ["array", [CANARY_SID], TypeError],
        ["String object", new String(CANARY_SID), TypeError], // eslint-disable-line no-new-wrappers
        ["256 characters", "s".repeat(256), RangeError],
        ["one million characters", "s".repeat(1_000_000), RangeError],
        ["NUL", `${CANARY_SID}\0`, TypeError],
        ["lone high surrogate", `hostile-\uD800`, TypeError],
        ["lone low surrogate", `hostile-\uDC00`, TypeError],
        ["reversed surrogate pair", `hostile-\uDC00\uD800`, TypeError],
      ];
      for (const [label, sid, Type] of refused) {
        await expectRejected(`get ${label}`, Type, (cb) => store.get(sid, cb));
        await expectRejected(`set ${label}`, Type, (cb) => store.set(sid, ok, cb));
        await expectRejected(`touch ${label}`, Type, (cb) => store.touch(sid, ok, cb));
        await expectRejected(`destroy ${label}`, Type, (cb) => store.destroy(sid, cb));
      }
    });

    test("two ids that differ only in a lone surrogate never share a row", async () => {
      // Both encode to U+FFFD in UTF-8: were they accepted, one would read the other's session.
      const a = hostileSid(`\uD800x`);
      const b = hostileSid(`\uDBFFx`);
      await assert.rejects(store.set(a, sessionFor(30, { owner: "a" })), TypeError);
      await assert.rejects(store.get(b), TypeError);
      assert.deepEqual(await storedRow(hostileSid(`\uFFFDx`)), []);
    });

    test("ids with SQL metacharacters, quotes, unicode and the maximum length round-trip as themselves", async () => {
      const sids = [
        ...INJECTIONS.map((s) => hostileSid(`${name}-${s}`)),
        hostileSid(`${name}-emoji-\u{1F510}-rtl-\u05D0\u05D1-combining-e\u0301`),
        hostileSid(`${name}-\t\n\r`),
        hostileSid(`${name}-`.padEnd(255 - SID_PREFIX.length, "z")),
      ];
      for (const sid of sids) {
        const sess = sessionFor(30, { owner: sid });
        await store.set(sid, sess);
        const got = await store.get(sid);
        assert.deepEqual(got, JSON.parse(JSON.stringify(sess)), `round trip of ${JSON.stringify(sid)}`);
        const rows = await storedRow(sid);
        assert.equal(rows.length, 1);
        assert.equal(rows[0].sid, keyOf(sid), "stored under exactly this id's key");
        await store.touch(sid, sessionFor(40));
        await store.destroy(sid);
        assert.equal(await store.get(sid), null);
        tried.roundTripped++;
      }
      assert.ok(await store.get(CANARY_SID), "the canary is still live and readable");
    });

    test("Passport user ids with SQL metacharacters end no one else's sessions", async () => {
      for (const user of [...INJECTIONS, `${CANARY_USER}' or '1'='1`, `${CANARY_USER} `, CANARY_USER.toUpperCase()]) {
        assert.equal(await store.destroyUserSessions(user), 0, `destroyUserSessions(${JSON.stringify(user)})`);
        tried.roundTripped++;
      }
      for (const user of [undefined, null, {}, [], "", Number.NaN, Infinity, 10n]) {
        await expectRejected(
          `destroyUserSessions(${String(user)})`,
          TypeError,
          (cb) => store.destroyUserSessions(user, cb),
        );
      }
    });

    test("data that cannot be stored faithfully is refused before it reaches the database", async () => {
      const circular = sessionFor(30);
      circular.self = { back: circular };
      const refused = [
        ["circular", circular, TypeError],
        ["BigInt", sessionFor(30, { n: 2n ** 70n }), TypeError],
        ["10,000 levels deep", sessionFor(30, { deep: deeplyNested(10_000) }), TypeError],
        ["10 MB", sessionFor(30, { blob: "x".repeat(10 * 1024 * 1024) }), RangeError],
        ["lone surrogate in a value", sessionFor(30, { s: "a\uD800b" }), TypeError],
        ["lone surrogate in a key", sessionFor(30, { ["k\uDFFF"]: 1 }), TypeError],
        ["NUL in a key", sessionFor(30, { ["k\0"]: 1 }), TypeError],
        ["a function as the data", () => {}, TypeError],
        ["an array as the data", [sessionFor(30)], TypeError],
        ["a cookie that is not an object", JSON.parse(`{"cookie": [], "__proto__": {"cookie": {}}}`), TypeError],
        [
          "a throwing toJSON",
          sessionFor(30, {
            toJSON() {
              throw new Error("boom");
            },
          }),
          TypeError,
        ],
        ["cookie.expires not a date", { cookie: { expires: "'; drop table x; --" } }, RangeError],
      ];
      for (const [label, data, Type] of refused) {
        const sid = hostileSid(`${name}-refused`);
        await expectRejected(`set ${label}`, Type, (cb) => store.set(sid, data, cb));
        assert.deepEqual(await storedRow(sid), [], `${label}: nothing stored`);
      }
    });

    test("prototype keys, Dates, injections and awkward values round-trip as JSON, polluting nothing", async () => {
      const expires = new Date(Date.now() + 30 * 60_000).toISOString();
      const parsed = JSON.parse(`{
        "cookie": {"originalMaxAge": 1800000, "expires": "${expires}", "httpOnly": true, "path": "/"},
        "__proto__": {"isAdmin": true, "passport": {"user": "${CANARY_USER}"}},
        "constructor": {"prototype": {"polluted": true}},
        "prototype": {"polluted": true},
        "hasOwnProperty": "not a function"
      }`);
      assert.ok(Object.hasOwn(parsed, "__proto__"), "JSON.parse made __proto__ an own key");
      const when = new Date("2001-02-03T04:05:06.789Z");
      const cases = [
        ["__proto__ and constructor keys", parsed],
        ["Dates", sessionFor(30, { when, list: [when] })],
        ["SQL in keys and values", sessionFor(30, Object.fromEntries(INJECTIONS.map((s, i) => [s, `${s}${i}`])))],
        ["escaped-looking text", sessionFor(30, { s: "\\u0000 \\ud800 \\\\u0000 $$ \\x00" })],
        ["unicode", sessionFor(30, { s: "\u{1F510}\u05D0e\u0301\u2028\u2029\uFEFF" })],
        [
          "numbers",
          sessionFor(30, {
            max: Number.MAX_SAFE_INTEGER,
            min: -Number.MAX_VALUE,
            tiny: 5e-324,
            neg0: -0,
            nan: Number.NaN,
            inf: Infinity,
          }),
        ],
        [
          "undefined and symbols dropped as JSON drops them",
          sessionFor(30, { u: undefined, [Symbol("s")]: 1, f() {} }),
        ],
        ["1,000 levels deep", sessionFor(30, { deep: deeplyNested(1_000) })],
        ["60 KB", sessionFor(30, { blob: "\u00E9".repeat(30_000) })],
      ];
      for (const [label, data] of cases) {
        const sid = hostileSid(`${name}-${label}`);
        await store.set(sid, data);
        const got = await store.get(sid);
        assert.deepEqual(got, JSON.parse(JSON.stringify(data)), `${label}: faithful JSON round trip`);
        assert.equal(Object.getPrototypeOf(got), Object.prototype, `${label}: a plain object`);
        tried.roundTripped++;
      }
      const got = await store.get(hostileSid(`${name}-__proto__ and constructor keys`));
      assert.ok(Object.hasOwn(got, "__proto__"), "__proto__ comes back as an own key");
      assert.equal(got.isAdmin, undefined, "not as the prototype");
      assert.equal(got.passport, undefined);
      assert.equal({}.isAdmin, undefined, "Object.prototype untouched");
      assert.equal({}.polluted, undefined);
      assert.equal(Object.prototype.polluted, undefined);
      // Passport's user lives at data.passport.user: a __proto__ key must not make it someone's.
      assert.equal(await store.destroyUserSessions(`not-${CANARY_USER}`), 0);
    });

    test("a session too large for one transport is a clear error, or round-trips", async () => {
      const { store: big, close: closeBig } = make({ maxDataBytes: 4 * 1024 * 1024 });
      try {
        const sid = hostileSid(`${name}-large`);
        const data = sessionFor(30, { blob: "y".repeat(2 * 1024 * 1024) });
        const outcome = await big.set(sid, data).then(() => "stored", (err) => err);
        if (outcome === "stored") {
          assert.deepEqual(await big.get(sid), JSON.parse(JSON.stringify(data)));
          tried.roundTripped++;
        } else {
          // The API in front of the database caps request bodies (the gateway at 1 MiB).
          assert.ok(name === "supabase-js" && outcome instanceof RpcError && outcome.status === 413, String(outcome));
          assert.deepEqual(await storedRow(sid), []);
          tried.rejected++;
        }
      } finally {
        await closeBig();
      }
    });
  });
}

describe("hostile configuration", () => {
  test("a schema name with SQL in it is quoted as one identifier, never run", async () => {
    const pool = quietPool({ connectionString: DATABASE_URL, max: 1 });
    try {
      for (const schema of [`public"; drop table public.${CANARY_TABLE}; --`, `public".session_get('x'); --`]) {
        const store = new SupabaseSessionStore({ pool, schema });
        const calls = await callbackCalls((cb) => store.get(CANARY_SID, cb));
        assert.equal(calls.length, 1);
        assert.equal(calls[0][0]?.code, "3F000", `schema ${JSON.stringify(schema)} does not exist: ${calls[0][0]}`);
        tried.rejected++;
      }
    } finally {
      await pool.end();
    }
    assert.equal((await canaryState()).canaryTable, true);
  });

  test("a schema name of the maximum length keeps every prepared statement distinct", async () => {
    // Statement names past 63 bytes are truncated by Postgres: they once collided (42P05).
    const schema = `hostile_${run}_`.padEnd(63, "s");
    await admin.query(`create schema "${schema}"`);
    const pool = quietPool({ connectionString: DATABASE_URL, max: 1 });
    try {
      await admin.query(`
        create function "${schema}".session_get_one(p_sid text) returns table (sid text, data jsonb, expires_at timestamptz)
          language sql as $$ select p_sid, jsonb_build_object('cookie', '{}'::jsonb, 'sid', p_sid), now() + interval '1 hour' $$;
        create function "${schema}".session_count() returns bigint language sql as $$ select 7::bigint $$;`);
      const store = new SupabaseSessionStore({ pool, schema });
      for (let i = 0; i < 2; i++) {
        assert.deepEqual(await store.get("s"), { cookie: {}, sid: keyOf("s") }, "the function is given the key");
        assert.equal(await store.length(), 7);
      }
      const { rows } = await pool.query("select name from pg_prepared_statements order by name");
      assert.equal(new Set(rows.map((r) => r.name)).size, 2, "two statements, two names");
    } finally {
      await pool.end();
      await admin.query(`drop schema "${schema}" cascade`);
    }
  });
});
