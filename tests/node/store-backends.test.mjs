// What is particular to each backend: supabase-js under the anon role; node-postgres's
// prepared statements, commit mode and the writes a throttled touch saves.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import pg from "pg";
import { RpcError, SupabaseSessionStore } from "../../dist/esm/index.js";
import { supabaseClient } from "./support/backends.mjs";
import {
  admin,
  ANON_KEY,
  DATABASE_URL,
  endPools,
  inMinutes,
  newSid,
  row,
  sessionWith,
  SUPABASE_URL,
  track,
} from "./support/store-fixtures.mjs";

after(endPools);

describe("supabase-js backend: roles", () => {
  test("as anon every operation fails with a permission error", async () => {
    const store = new SupabaseSessionStore({ client: supabaseClient(SUPABASE_URL, ANON_KEY) });
    const sid = newSid();
    for (
      const op of [
        () => store.get(sid),
        () => store.set(sid, sessionWith(inMinutes(30))),
        () => store.length(),
        () => store.destroy(sid),
        () => store.clear(),
      ]
    ) {
      await assert.rejects(
        op(),
        (err) => err instanceof RpcError && err.code === "42501" && [401, 403].includes(err.status),
      );
    }
    assert.equal(await row(sid), undefined);
  });
});

describe("pg backend: prepared statements", () => {
  async function preparedNames(options) {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    track(pool);
    const store = new SupabaseSessionStore({ pool, ...options });
    await store.get(newSid());
    const { rows } = await pool.query("select name from pg_prepared_statements order by name");
    return rows.map((r) => r.name);
  }

  test("named and parsed once per connection by default", async () => {
    assert.deepEqual(await preparedNames({}), ["supabase_session_store:public:session_get_one"]);
  });

  test("relaxedDurability asks for an asynchronous commit on set and touch only", async () => {
    const durableFlags = [];
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    track(pool);
    const spy = {
      query: (config) => {
        if (/session_(save|touch)/.test(config.text)) durableFlags.push(config.values.at(-1));
        else assert.ok(!config.values?.includes(false), `${config.text} is not asked to relax anything`);
        return pool.query(config);
      },
    };
    const sid = newSid("relaxed-flags");
    for (const relaxedDurability of [true, false]) {
      const store = new SupabaseSessionStore({ pool: spy, relaxedDurability });
      await store.set(sid, sessionWith(inMinutes(30)));
      await store.touch(sid, sessionWith(inMinutes(40)));
      await store.get(sid);
      await store.destroy(sid);
    }
    assert.deepEqual(durableFlags, [false, false, true, true], "p_durable is false only with relaxedDurability");
  });

  test("preparedStatements: false sends unnamed statements (PgBouncer, Supavisor transaction mode)", async () => {
    assert.deepEqual(await preparedNames({ preparedStatements: false }), []);
  });

  test("a touch within touchAfter adds nothing to pg_stat_user_tables.n_tup_upd", async () => {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    track(pool);
    const store = new SupabaseSessionStore({ pool, touchAfter: 60 });
    // Stats reach the shared view when a backend flushes: force it in the store's
    // only connection, after its work, then read a fresh snapshot.
    const updates = async () => {
      await pool.query("select pg_stat_force_next_flush()");
      const { rows: [r] } = await admin.query(
        "select pg_stat_clear_snapshot(), n_tup_upd::int as n from pg_stat_user_tables where relname = 'sessions' and schemaname = 'public'",
      );
      return r.n;
    };
    // n_tup_upd is table-wide: other connections of this suite may flush their own earlier
    // updates into it at any moment (idle backends flush late). A store that wrote on a
    // throttled touch could never show "no update" then "exactly one", so a clean attempt
    // among a few proves the property; interference only costs a retry.
    const fresh = new SupabaseSessionStore({ pool, touchAfter: 60 }); // no cache: the database decides
    const attempts = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const sid = newSid();
      const base = inMinutes(30);
      await store.set(sid, sessionWith(base));
      const start = await updates();
      await fresh.touch(sid, sessionWith(new Date(base.getTime() + 30_000)));
      await store.touch(sid, sessionWith(new Date(base.getTime() + 30_000)));
      const throttled = await updates();
      await store.touch(sid, sessionWith(new Date(base.getTime() + 90_000)));
      const written = await updates();
      attempts.push([throttled - start, written - throttled]);
      if (throttled === start && written === start + 1) return;
    }
    assert.fail(`touches within touchAfter added updates in every attempt: ${JSON.stringify(attempts)}`);
  });
});
