// Cleanup at scale: a table of expired sessions among live ones, purged through
// cleanup_expired_sessions in batches (one call, one transaction each), then the same
// data regenerated and removed by one unbatched DELETE; live `get` latency is measured
// idle and during each purge.
import { performance } from "node:perf_hooks";
import { backgroundLoop, closedLoop, summarize } from "./measure.mjs";
import { keySql, LIVE_SID_BASE, randomLiveSid } from "./session.mjs";
import { getLive } from "./workloads.mjs";

const BATCH = 10_000;

/**
 * Replaces every session with `live` live ones and `expired` expired ones (each its own
 * Passport user), keyed as the store keys them: the live ones are the ids the getters read.
 */
async function load(admin, checkpoint, { live, expired, payload }) {
  await admin.query("truncate public.sessions");
  await admin.query(
    `insert into public.sessions (sid, data, expires_at)
     select ${keySql("'e' || g")}, jsonb_set($1::jsonb, '{passport,user}', to_jsonb('u' || g)),
            now() - interval '1 hour' - g * interval '1 millisecond'
       from generate_series(1, $2::int) g`,
    [payload, expired],
  );
  await admin.query(
    `insert into public.sessions (sid, data, expires_at)
     select ${
      keySql("($3::numeric + g)::text")
    }, jsonb_set($1::jsonb, '{passport,user}', to_jsonb('l' || g)), now() + interval '1 day'
       from generate_series(1, $2::int) g`,
    [payload, live, LIVE_SID_BASE.toString()],
  );
  await admin.query("vacuum analyze public.sessions");
  await checkpoint();
}

async function counts(admin) {
  const { rows: [row] } = await admin.query(
    `select count(*) filter (where expires_at > now())::int as live,
            count(*) filter (where expires_at <= now())::int as expired
       from public.sessions`,
  );
  return row;
}

/** Runs `purge()` while `getters` callers read live sessions; returns rows/s and get latency. */
async function during(client, live, getters, purge) {
  const readers = backgroundLoop(() => getLive(client, randomLiveSid(live)), getters);
  const t0 = performance.now();
  let deleted;
  let failure;
  try {
    deleted = await purge();
  } catch (err) {
    failure = err;
  }
  const seconds = (performance.now() - t0) / 1000;
  const get = await readers.stop();
  if (failure) throw failure;
  return { deleted, seconds, rowsPerSec: deleted / seconds, get };
}

/**
 * scale: 1 = 1,000,000 expired among 100,000 live. `client` is a store client (get),
 * `admin` a pg client for loading and purging, `checkpoint()` runs a CHECKPOINT.
 */
export async function cleanupAtScale({ admin, checkpoint, client, scale, payload, getters, warmupMs, windowMs }) {
  const live = Math.round(100_000 * scale);
  const expired = Math.round(1_000_000 * scale);
  const idleGet = async () =>
    summarize([
      await closedLoop(() => getLive(client, randomLiveSid(live)), { concurrency: getters, warmupMs, windowMs }),
    ]);
  const results = { live, expired, batch: BATCH, getters };

  let t = performance.now();
  await load(admin, checkpoint, { live, expired, payload });
  results.loadSeconds = (performance.now() - t) / 1000;
  results.batchedIdle = await idleGet();
  results.batched = await during(client, live, getters, async () => {
    let total = 0;
    for (;;) {
      const { rows: [row] } = await admin.query("select public.cleanup_expired_sessions($1) as n", [BATCH]);
      total += row.n;
      if (row.n < BATCH) return total;
    }
  });
  results.batchedAfter = await counts(admin);

  t = performance.now();
  await load(admin, checkpoint, { live, expired, payload });
  results.reloadSeconds = (performance.now() - t) / 1000;
  results.unbatchedIdle = await idleGet();
  results.unbatched = await during(client, live, getters, async () => {
    const { rowCount } = await admin.query("delete from public.sessions where expires_at < now()");
    return rowCount;
  });
  results.unbatchedAfter = await counts(admin);

  for (const after of [results.batchedAfter, results.unbatchedAfter]) {
    if (after.expired !== 0 || after.live !== live) {
      throw new Error(`purge left ${after.expired} expired and ${after.live} of ${live} live sessions`);
    }
  }
  await admin.query("truncate public.sessions");
  return results;
}
