// Invariant 8: cleanup deletes only expired rows, in bounded batches, never waits on
// live session traffic, and concurrent cleanups neither deadlock nor double count.
// pgTAP runs in one transaction, so the concurrent cases live here, on real
// connections to the test database.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { drainExpired } from "./support/cleanup.mjs";
import { requireEnv } from "./support/env.mjs";
import { keyOf, keySql } from "./support/keys.mjs";

const { DATABASE_URL: url } = requireEnv("DATABASE_URL");

const PREFIX = `cleanup-conc-${process.pid}-`;
let pool;

before(async () => {
  pool = new pg.Pool({ connectionString: url, max: 8 });
  // Start from a table with nothing for cleanup to take, so every count below is ours.
  await drainExpired(pool, 100000);
});

after(async () => {
  await pool.query("delete from public.sessions where data->>'seed' like $1 or sid = any($2)", [
    `${PREFIX}%`,
    [`${PREFIX}held`, `${PREFIX}free`].map(keyOf),
  ]);
  await pool.end();
});

test("four concurrent cleanups delete every expired row exactly once, without deadlock", async () => {
  const expired = 20000;
  await pool.query(
    `insert into public.sessions (sid, data, expires_at)
     select ${keySql("$1 || 'old-' || n")}, jsonb_build_object('cookie', '{}'::jsonb, 'seed', $1 || 'old-' || n),
            now() - make_interval(secs => n)
       from generate_series(1, $2::int) n`,
    [PREFIX, expired],
  );
  await pool.query(
    `insert into public.sessions (sid, data, expires_at)
     select ${keySql("$1 || 'live-' || n")}, jsonb_build_object('cookie', '{}'::jsonb, 'seed', $1 || 'live-' || n),
            now() + interval '1 hour'
       from generate_series(1, 100) n`,
    [PREFIX],
  );

  const runs = await Promise.all(Array.from({ length: 4 }, async () => {
    const client = await pool.connect();
    try {
      return await drainExpired(client, 500);
    } finally {
      client.release();
    }
  }));

  const total = runs.flat().reduce((a, b) => a + b, 0);
  assert.equal(total, expired, "the counts add up to exactly the expired rows: none counted twice");
  assert.ok(runs.flat().every((n) => n <= 500), "no call deleted more than its batch size");
  assert.ok(runs.every((counts) => counts.some((n) => n > 0)), "all four cleanups took part (none was blocked out)");
  const { rows: [left] } = await pool.query(
    `select count(*) filter (where data->>'seed' like $1)::int as old,
            count(*) filter (where data->>'seed' like $2)::int as live
       from public.sessions`,
    [`${PREFIX}old-%`, `${PREFIX}live-%`],
  );
  assert.deepEqual(left, { old: 0, live: 100 }, "every expired row is gone and every live one stays");
});

test("cleanup skips a row a live request holds instead of waiting, and never deletes it once it is live again", async () => {
  const sid = `${PREFIX}held`;
  await pool.query(
    `insert into public.sessions (sid, data, expires_at) values
       ($1, '{"cookie": {}}', now() - interval '1 minute'),
       ($2, '{"cookie": {}}', now() - interval '1 minute')`,
    [keyOf(sid), keyOf(`${PREFIX}free`)],
  );

  // A request revives the expired session (a set in flight): it holds the row's lock.
  const request = await pool.connect();
  const cleaner = await pool.connect();
  try {
    await request.query("begin");
    await request.query("update public.sessions set expires_at = now() + interval '1 hour' where sid = $1", [
      keyOf(sid),
    ]);

    // If cleanup waited for that lock, this statement timeout would fail it.
    await cleaner.query("set statement_timeout = '2s'");
    const started = Date.now();
    const { rows: [{ n }] } = await cleaner.query("select public.cleanup_expired_sessions(100) as n");
    assert.equal(n, 1, "cleanup took the free expired row and skipped the held one");
    assert.ok(Date.now() - started < 2000, "cleanup did not wait on the live request's lock");

    await request.query("commit");
    const { rows: [{ n: after }] } = await cleaner.query("select public.cleanup_expired_sessions(100) as n");
    assert.equal(after, 0, "the revived session is live: nothing expired is left");
    const { rowCount } = await pool.query("select 1 from public.sessions where sid = $1 and expires_at > now()", [
      keyOf(sid),
    ]);
    assert.equal(rowCount, 1, "the session the request made live again was not deleted");
  } finally {
    await request.query("rollback").catch(() => {});
    request.release();
    await cleaner.query("reset statement_timeout").catch(() => {});
    cleaner.release();
  }
});
