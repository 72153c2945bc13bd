// Privilege probing: with only the public keys (anon JWT, sb_publishable_) or as a
// signed-in user (an `authenticated` JWT), no route reaches session data: every
// function of `public` (enumerated from pg_catalog, so new ones are covered) over the
// RPC gateway, and over SQL as the roles themselves the table, every function, every
// view and sequence. service_role is probed too, so a route that does not exist at
// all cannot pass for a denied one.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { localKeys, signJwt } from "../../scripts/keys.mjs";
import { quietPool } from "./support/backends.mjs";
import { requireEnv } from "./support/env.mjs";
import { keyOf } from "./support/keys.mjs";

const env = requireEnv(
  "DATABASE_URL",
  "SUPABASE_URL",
  "SUPABASE_ANON_KEY",
  "SUPABASE_PUBLISHABLE_KEY",
  "SUPABASE_SERVICE_ROLE_KEY",
);
const admin = quietPool({ connectionString: env.DATABASE_URL, max: 2 });
const SECRET_SID = `privilege-probe-${randomBytes(6).toString("hex")}`;
const SECRET_HANDLE = createHash("sha256").update(SECRET_SID).digest("hex");
const now = Math.floor(Date.now() / 1000);
const userJwt = signJwt({
  role: "authenticated",
  sub: "00000000-0000-0000-0000-000000000001",
  aud: "authenticated",
  iat: now,
  exp: now + 600,
}, localKeys().jwtSecret);

const CALLERS = {
  "anon JWT": { apikey: env.SUPABASE_ANON_KEY, authorization: `Bearer ${env.SUPABASE_ANON_KEY}` },
  "publishable key": { apikey: env.SUPABASE_PUBLISHABLE_KEY },
  "authenticated user": { apikey: env.SUPABASE_ANON_KEY, authorization: `Bearer ${userJwt}` },
};
const probes = { gateway: 0, sql: 0 };
let functions;

before(async () => {
  await admin.query("insert into public.sessions (sid, data, expires_at) values ($1, $2, now() + interval '1 hour')", [
    keyOf(SECRET_SID),
    { cookie: {}, passport: { user: "victim" } },
  ]);
  ({ rows: functions } = await admin.query(`
    select p.oid::regprocedure::text as signature, p.proname as name, p.prokind as kind,
           p.prorettype = 'trigger'::regtype as is_trigger,
           coalesce(array(select unnest(p.proargnames[1:p.pronargs])), '{}') as arg_names,
           array(select format_type(t, null) from unnest(p.proargtypes) t) as arg_types
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'public' order by 1`));
  for (const name of ["session_get", "session_handle", "session_list_user", "session_destroy_user_session"]) {
    assert.ok(functions.some((f) => f.name === name), `the session function ${name} was found`);
  }
});

after(async () => {
  try {
    const { rows: [row] } = await admin.query("select data from public.sessions where sid = $1", [keyOf(SECRET_SID)]);
    assert.deepEqual(row?.data?.passport, { user: "victim" }, "the probed session is untouched");
    process.stdout.write(
      `# privilege probes: ${functions.length} functions, ${probes.gateway} gateway calls and ` +
        `${probes.sql} SQL statements denied\n`,
    );
  } finally {
    await admin.query("delete from public.sessions where sid = $1", [keyOf(SECRET_SID)]);
    await admin.end();
  }
});

/**
 * Plausible arguments: the probed session's user for a user id, its handle for a handle,
 * its id for other text parameters, nulls elsewhere.
 */
function argumentsFor(fn) {
  return Object.fromEntries(fn.arg_names.map((name, i) => [name, textArgument(name, fn.arg_types[i])]));
}

function textArgument(name, type) {
  if (type !== "text") return null;
  if (name === "p_user") return "victim";
  if (name === "p_handle") return SECRET_HANDLE;
  return SECRET_SID;
}

async function rpc(fn, headers, args = argumentsFor(fn)) {
  const res = await fetch(`${env.SUPABASE_URL}/rest/v1/rpc/${fn.name}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(args),
  });
  const text = await res.text();
  return { status: res.status, text, body: text ? JSON.parse(text) : null };
}

describe("over the RPC gateway", () => {
  test("service_role reaches the session functions (the probe is not vacuous)", async () => {
    const count = functions.find((f) => f.name === "session_count");
    const service = { apikey: env.SUPABASE_SERVICE_ROLE_KEY, authorization: `Bearer ${env.SUPABASE_SERVICE_ROLE_KEY}` };
    const res = await rpc(count, service);
    assert.equal(res.status, 200, res.text);
    assert.ok(Number(res.body) >= 1);
    const list = await rpc(functions.find((f) => f.name === "session_list_user"), service, { p_user: "victim" });
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(
      list.body.map((row) => row.handle),
      [SECRET_HANDLE],
      "service_role lists the victim's session by handle",
    );
    assert.ok(!list.text.includes(SECRET_SID), "a listing never carries the session id");
  });

  for (const [caller, headers] of Object.entries(CALLERS)) {
    test(`${caller}: every function in public is denied`, async () => {
      for (const fn of functions.filter((f) => f.kind === "f")) {
        const res = await rpc(fn, headers);
        // Denied (42501) or not callable through the API at all; never a result.
        const denied = ([401, 403].includes(res.status) && res.body?.code === "42501") ||
          (res.status === 404 && res.body?.code === "PGRST202") ||
          // A trigger function cannot be called at all (42804), whoever asks.
          (fn.is_trigger && res.status === 400 && res.body?.code === "42804");
        assert.ok(denied, `${caller} calling ${fn.signature}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
        assert.ok(
          ![SECRET_SID, SECRET_HANDLE, "victim"].some((secret) => res.text.includes(secret)),
          "no session data in the answer",
        );
        probes.gateway++;
      }
    });

    test(`${caller}: the table is not reachable as a REST resource`, async () => {
      for (const method of ["GET", "POST", "PATCH", "DELETE"]) {
        const res = await fetch(`${env.SUPABASE_URL}/rest/v1/sessions?select=*`, {
          method,
          headers: { "content-type": "application/json", ...headers },
          body: method === "GET" ? undefined : "{}",
        });
        const text = await res.text();
        assert.ok(res.status >= 400, `${method} /rest/v1/sessions answered ${res.status}`);
        assert.ok(!text.includes(SECRET_SID) && !text.includes("victim"));
        probes.gateway++;
      }
    });
  }
});

describe("over SQL, as the API roles", () => {
  for (const role of ["anon", "authenticated"]) {
    test(`${role}: no privilege on any table, view, sequence or function of public`, async () => {
      const { rows } = await admin.query(
        `
        select c.oid::regclass::text as name, c.relkind,
               has_table_privilege($1, c.oid, 'select, insert, update, delete, truncate, references, trigger') as table_priv,
               has_any_column_privilege($1, c.oid, 'select, insert, update, references') as column_priv
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')`,
        [role],
      );
      assert.ok(rows.some((r) => r.name === "sessions"));
      for (const rel of rows) {
        assert.equal(rel.table_priv, false, `${role} has a privilege on ${rel.name}`);
        assert.equal(rel.column_priv, false, `${role} has a column privilege on ${rel.name}`);
      }
      const { rows: fns } = await admin.query(
        "select p.oid::regprocedure::text as signature from pg_proc p join pg_namespace n on n.oid = p.pronamespace " +
          "where n.nspname = 'public' and has_function_privilege($1, p.oid, 'execute')",
        [role],
      );
      assert.deepEqual(fns, [], `${role} may execute`);
    });

    test(`${role}: reading, writing or calling anything session related fails with 42501`, async () => {
      const client = await admin.connect();
      try {
        const attempts = [
          ["select * from public.sessions", []],
          ["insert into public.sessions (sid, data, expires_at) values ($1, '{}', now())", [keyOf("x")]],
          ["update public.sessions set data = '{}' where sid = $1", [keyOf(SECRET_SID)]],
          ["delete from public.sessions where sid = $1", [keyOf(SECRET_SID)]],
          ["truncate public.sessions", []],
          ["copy public.sessions to stdout", []],
        ];
        const { rows: views } = await admin.query(
          "select c.oid::regclass::text as name from pg_class c join pg_namespace n on n.oid = c.relnamespace " +
            "where n.nspname = 'public' and c.relkind in ('v', 'm')",
        );
        for (const view of views) attempts.push([`select * from ${view.name}`, []]);
        for (const fn of functions.filter((f) => f.kind === "f")) {
          const args = fn.arg_types.map((type, i) => `$${i + 1}::${type}`).join(", ");
          attempts.push([
            `select ${fn.is_trigger ? "" : "* from "}public.${fn.name}(${args})`,
            fn.arg_types.map((type, i) => textArgument(fn.arg_names[i], type)),
          ]);
        }
        for (const [sql, params] of attempts) {
          await client.query("begin");
          await client.query(`set local role ${role}`);
          const outcome = await client.query(sql, params).then(
            (r) => `succeeded with ${r.rowCount} rows`,
            (err) => err.code,
          );
          await client.query("rollback");
          assert.equal(outcome, "42501", `${role}: ${sql}`);
          probes.sql++;
        }
      } finally {
        client.release();
      }
    });
  }
});
