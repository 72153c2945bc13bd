// The local stack behaves like a new hosted Supabase project, and the store works within
// its limits: the API's max rows (1000) on set-returning results, postgres not being a
// superuser, and the API roles' statement timeouts.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { startGateway } from "../../scripts/gateway/index.mjs";
import { localKeys } from "../../scripts/keys.mjs";
import { SupabaseSessionStore } from "../../dist/esm/index.js";
import { BACKENDS, quietPool, supabaseClient } from "./support/backends.mjs";
import { requireEnv } from "./support/env.mjs";
import { keyOf, keySql } from "./support/keys.mjs";

const env = requireEnv(
  "DATABASE_URL",
  "SUPABASE_URL",
  "SUPABASE_SERVICE_ROLE_KEY",
  "SUPABASE_ANON_KEY",
  "API_MAX_ROWS",
);
const SESSIONS = 2500;
const prefix = `hosted-${randomUUID()}-`;
const db = quietPool({ connectionString: env.DATABASE_URL, max: 2 });
const keys = localKeys();

/** Seeds `n` sessions whose ids are the prefix, the tag and a counter; the seed is in their data. */
async function insertSessions(n, tag = "") {
  await db.query(
    `insert into public.sessions (sid, data, expires_at)
     select ${
      keySql("$1 || lpad(i::text, 6, '0')")
    }, jsonb_build_object('cookie', '{}'::jsonb, 'i', i, 'seed', $1::text),
            now() + interval '1 hour'
       from generate_series(1, $2::int) i`,
    [`${prefix}${tag}`, n],
  );
}

/** The handles (stored keys) of the sessions seeded untagged, by counter from 1; in key order, as listings page. */
const seeded = Array.from({ length: SESSIONS }, (_, i) => keyOf(`${prefix}${String(i + 1).padStart(6, "0")}`));
const seededSet = new Set(seeded);
const ours = (handles) => handles.filter((handle) => seededSet.has(handle));
// An unpaged listing, as an operator might write one: what the API's max rows cuts.
const unpaged = `unpaged_ids_${randomUUID().replaceAll("-", "")}`;

before(async () => {
  await insertSessions(SESSIONS);
  await db.query(`create function public.${unpaged}() returns setof text language sql stable set search_path = ''
                    as $$ select s.sid from public.sessions s where s.expires_at > now() order by s.sid $$;
                  revoke all on function public.${unpaged}() from public, anon, authenticated;
                  grant execute on function public.${unpaged}() to service_role`);
});
after(async () => {
  await db.query(`drop function public.${unpaged}()`);
  await db.query("delete from public.sessions where data->>'seed' like $1 || '%'", [prefix]);
  await db.end();
});

describe("the hosted-like stack", () => {
  test("postgres, the role migrations are pushed as and DATABASE_URL uses, is not a superuser", async () => {
    const { rows: [me] } = await db.query(
      "select current_user as name, rolsuper from pg_roles where rolname = current_user",
    );
    assert.deepEqual(me, { name: "postgres", rolsuper: false });
  });

  test("the gateway cuts a set-returning RPC result at exactly API_MAX_ROWS rows (1000 by default), not a scalar one", async () => {
    assert.equal(env.API_MAX_ROWS, "1000", "npm test runs with hosted Supabase's default max rows");
    const client = supabaseClient(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY);
    const ids = await client.rpc(unpaged);
    assert.equal(ids.error, null);
    assert.equal(ids.data.length, 1000, "the unpaged listing is cut, silently, as PostgREST's db-max-rows does");
    const count = await client.rpc("session_count");
    assert.ok(count.data >= SESSIONS, "a scalar result is never cut");
  });

  test("API_MAX_ROWS is honoured as given, and 0 means no cap", async () => {
    for (const [maxRows, expected] of [[7, 7], [0, null]]) {
      const gateway = await startGateway({ databaseUrl: env.DATABASE_URL, keys, maxRows });
      try {
        const { data, error } = await supabaseClient(gateway.url, keys.serviceRoleKey).rpc(unpaged);
        assert.equal(error, null);
        if (expected === null) assert.equal(ours(data.map((row) => row.sid ?? row)).length, SESSIONS);
        else assert.equal(data.length, expected);
      } finally {
        await gateway.close();
      }
    }
  });

  test("service_role calls run under authenticator's 8 s statement_timeout, anon under its own 3 s", async () => {
    const fn = `timeout_probe_${randomUUID().replaceAll("-", "")}`;
    await db.query(
      `create function public.${fn}() returns text language sql set search_path = '' as $$ select pg_catalog.current_setting('statement_timeout') $$;
                    grant execute on function public.${fn}() to anon, service_role`,
    );
    try {
      const service = await supabaseClient(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY).rpc(fn);
      const anon = await supabaseClient(env.SUPABASE_URL, env.SUPABASE_ANON_KEY).rpc(fn);
      assert.deepEqual([service.data, anon.data], ["8s", "3s"]);
    } finally {
      await db.query(`drop function public.${fn}()`);
    }
  });
});

for (const backend of Object.keys(BACKENDS)) {
  describe(`${backend}: all(), ids() and length() past the row cap`, () => {
    let store;
    let close;
    before(() => ({ store, close } = BACKENDS[backend]()));
    after(() => close());

    test(`all() returns every one of ${SESSIONS} sessions, with its data`, async () => {
      const all = await store.all();
      const mine = ours(Object.keys(all));
      assert.equal(mine.length, SESSIONS);
      assert.equal(all[seeded[2499]].i, 2500);
    });

    test(`ids() returns every one of ${SESSIONS} handles, in key order, and length() counts them`, async () => {
      const ids = await store.ids();
      assert.deepEqual(ours(ids), [...seeded].sort());
      assert.equal(new Set(ids).size, ids.length, "no handle twice across pages");
      assert.equal(await store.length(), ids.length);
    });
  });
}

describe("a project whose max rows is below the store's page size", () => {
  test("all() and ids() fail with an error naming the limit instead of returning a shorter listing", async () => {
    const gateway = await startGateway({ databaseUrl: env.DATABASE_URL, keys, maxRows: 500 });
    const store = new SupabaseSessionStore({ client: supabaseClient(gateway.url, keys.serviceRoleKey) });
    try {
      await assert.rejects(
        store.all(),
        /all\(\): the API returned 500 of a page's 1000 rows: its max rows \(PostgREST db-max-rows/,
      );
      await assert.rejects(
        store.ids(),
        /ids\(\): the API returned 500 of a page's 1000 rows.*raise it to at least 1000/,
      );
    } finally {
      await store.close();
      await gateway.close();
    }
  });
});

describe("clear() in bounded batches", () => {
  for (const backend of Object.keys(BACKENDS)) {
    test(`${backend}: clear() past one batch destroys every session and counts them`, async () => {
      await insertSessions(6000, `${backend}-clear-`);
      const { store, close } = BACKENDS[backend]();
      try {
        const live = await store.length();
        assert.ok(live > 5000, "more than one clear batch");
        assert.equal(await store.clear(), live);
        assert.equal(await store.length(), 0);
      } finally {
        await close();
      }
    });
  }
});
