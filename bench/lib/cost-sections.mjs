// The long sections of bench/cost.mjs: vacuum after 1M touches, the store's heap over 1M
// requests, and latency at 10M rows. Each takes the bench's context ({ admin, superuser,
// database, log }) and returns plain figures for the report.
import { CLIENTS } from "./clients.mjs";
import { closedLoop, fixedLoop, summarize } from "./measure.mjs";
import { makeSession, newSid, randomLiveSid } from "./session.mjs";
import { fill } from "./tables.mjs";
import { TOUCH_AFTER_SECONDS, WORKLOADS } from "./workloads.mjs";

const TABLES = { "connect-pg-simple": 'public."session"', "store-pg": "public.sessions" };

async function tableState(superuser, table) {
  const { rows: [row] } = await superuser.query(
    `select n_live_tup, n_dead_tup, n_tup_upd, n_tup_hot_upd, autovacuum_count,
            pg_table_size($1::regclass) as table_bytes, pg_indexes_size($1::regclass) as index_bytes
       from pg_stat_user_tables where relid = $1::regclass`,
    [table],
  );
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
}

/**
 * 1M touches (C = 32) of 100k live sessions through each client, autovacuum at its defaults;
 * the table's dead tuples, size and HOT share right after, and once autovacuum has had a minute.
 */
export async function vacuumAfterTouches({ admin, superuser, database, log, touches, live = 100_000 }) {
  log(`vacuum: ${live.toLocaleString("en-US")} sessions, ${touches.toLocaleString("en-US")} touches per client`);
  await fill(admin, live, { log });
  await superuser.query("checkpoint");
  const results = [];
  for (const clientId of ["connect-pg-simple", "store-pg"]) {
    const table = TABLES[clientId];
    const before = await tableState(superuser, table);
    const client = await CLIENTS[clientId].create({ dbUrl: database.url, concurrency: 32, touchAfter: 0 });
    const t0 = performance.now();
    await fixedLoop(() => client.touch(randomLiveSid(live), makeSession()), { concurrency: 32, requests: touches });
    const seconds = (performance.now() - t0) / 1000;
    await client.close();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = await tableState(superuser, table);
    log(`  ${clientId}: ${Math.round(touches / seconds)} touches/s; waiting a minute for autovacuum`);
    await new Promise((resolve) => setTimeout(resolve, 65_000));
    const later = await tableState(superuser, table);
    results.push({ clientId, live, touches, seconds, before, after, later });
  }
  return results;
}

/**
 * The store's heap (after a forced GC) over `requests` of the touchAfter mix against 100k
 * distinct sessions, C = 32: at the end of a warm-up of a tenth, then every tenth after.
 */
export async function heapOverRequests({ admin, database, log, requests, live = 100_000 }) {
  if (typeof globalThis.gc !== "function") throw new Error("the memory section needs node --expose-gc");
  log(`memory: ${requests.toLocaleString("en-US")} requests over ${live.toLocaleString("en-US")} sessions`);
  await fill(admin, live, { log });
  const client = await CLIENTS["store-pg"].create({
    dbUrl: database.url,
    concurrency: 32,
    touchAfter: TOUCH_AFTER_SECONDS,
  });
  const op = WORKLOADS.find((w) => w.id === "mix-touchafter").op(client, live);
  const step = Math.ceil(requests / 10);
  const heap = () => {
    globalThis.gc();
    return process.memoryUsage().heapUsed;
  };
  let done = step;
  await fixedLoop(op, { concurrency: 32, requests: step });
  const samples = [{ requests: done, heapUsed: heap() }];
  const t0 = performance.now();
  while (done < step + requests) {
    await fixedLoop(op, { concurrency: 32, requests: step });
    done += step;
    samples.push({ requests: done, heapUsed: heap() });
    log(`  ${done.toLocaleString("en-US")} requests, heap ${(samples.at(-1).heapUsed / 2 ** 20).toFixed(1)} MiB`);
  }
  const seconds = (performance.now() - t0) / 1000;
  await client.close();
  return { live, requests, seconds, samples };
}

async function latencies(database, live) {
  const client = await CLIENTS["store-pg"].create({ dbUrl: database.url, concurrency: 8, touchAfter: 0 });
  const out = {};
  try {
    for (
      const [id, op] of [
        ["get", () => client.get(randomLiveSid(live))],
        ["set", () => client.set(newSid(), makeSession())],
      ]
    ) {
      const samples = [];
      for (let round = 0; round < 2; round++) {
        samples.push(await closedLoop(op, { concurrency: 8, warmupMs: 1000, windowMs: 5000 }));
      }
      out[id] = summarize(samples);
    }
  } finally {
    await client.close();
  }
  return out;
}

/**
 * get and set p50/p99 (C = 8) at 100k rows, then with the table filled to `rows`: of the same
 * 100k sessions, and of any row.
 */
export async function latencyAtScale({ admin, superuser, database, log, rows, small = 100_000 }) {
  log(`scale: latency at ${small.toLocaleString("en-US")} rows`);
  await fill(admin, small, { log });
  await superuser.query("checkpoint");
  const atSmall = await latencies(database, small);
  log(`scale: filling to ${rows.toLocaleString("en-US")} rows`);
  const t0 = performance.now();
  await fill(admin, rows, { from: small + 1, log });
  const fillSeconds = (performance.now() - t0) / 1000;
  await superuser.query("checkpoint");
  const { rows: [size] } = await superuser.query(
    "select pg_total_relation_size('public.sessions') as bytes, (select count(*) from public.sessions) as n",
  );
  log(`scale: latency at ${Number(size.n).toLocaleString("en-US")} rows`);
  // The same 100k sessions in use (the rest idle, as most of a large table's sessions are): what
  // the table's size costs an operation. Then gets of any of the rows, which read a table far
  // larger than memory at random: what a working set beyond RAM costs.
  const atLarge = await latencies(database, small);
  log("scale: gets of any row of the whole table");
  const anyRow = await latencies(database, rows);
  return { small, rows, fillSeconds, totalBytes: Number(size.bytes), count: Number(size.n), atSmall, atLarge, anyRow };
}
