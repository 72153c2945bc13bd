#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --soak <seconds>]`: the performance benchmark of issue 6.
//
// Starts its own Postgres (scripts/db.mjs, in its own folder and port: BENCH_DB_DIR,
// BENCH_DB_PORT) and, when the local gateway is available, the API (scripts/stack.mjs)
// for the supabase-js reference row. Then, with the same session, database and
// concurrency for every row: each workload for our store, connect-pg-simple and
// pgbench; cleanup at scale; RSS over a long mix. Writes bench/results/<date>-<name>.md
// and prints it. About 10 minutes; --quick is a ~1-minute smoke run.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import * as db from "../scripts/db.mjs";
import { TOUCH_CACHE_SIZE } from "../dist/esm/index.js";
import { cleanupAtScale } from "./lib/cleanup.mjs";
import { fill } from "./lib/tables.mjs";
import { limitsAtScale } from "./lib/limits.mjs";
import { CLIENTS } from "./lib/clients.mjs";
import { closedLoop, median, sleep, summarize } from "./lib/measure.mjs";
import { pgbench } from "./lib/pgbench.mjs";
import { machine, render } from "./lib/report.mjs";
import { keySql, LIVE_SID_BASE, makeSession, newSid, randomLiveSid, refreshed, sessionJson } from "./lib/session.mjs";
import { getLive, TOUCH_AFTER_SECONDS, WORKLOADS } from "./lib/workloads.mjs";

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    soak: { type: "string" },
    name: { type: "string" },
    only: { type: "string" },
    workloads: { type: "string" },
  },
});

const PROFILES = {
  full: {
    concurrencies: [1, 8, 32],
    rounds: 2,
    warmupMs: 600,
    windowMs: 1250,
    cleanupScale: 1,
    limitsSessions: 1_000_000,
    soakSeconds: 60,
  },
  quick: {
    concurrencies: [8],
    rounds: 2,
    warmupMs: 300,
    windowMs: 700,
    cleanupScale: 0.02,
    limitsSessions: 20_000,
    soakSeconds: 5,
  },
};
const profile = PROFILES[flags.quick ? "quick" : "full"];
const soakSeconds = flags.soak === undefined ? profile.soakSeconds : Number(flags.soak);
if (!Number.isFinite(soakSeconds) || soakSeconds < 0) throw new Error("--soak takes a number of seconds");
// --only workloads,cleanup,limits,memory: a subset of the sections (a long soak on its own, say).
const SECTIONS = ["workloads", "cleanup", "limits", "memory"];
const sections = flags.only ? flags.only.split(",") : SECTIONS;
const unknown = sections.filter((x) => !SECTIONS.includes(x));
if (unknown.length) throw new Error(`--only takes ${SECTIONS.join(", ")}; got ${unknown.join(", ")}`);
// --workloads fastify-mix,fastify-mix-touchafter: a subset of the workloads section.
const workloads = flags.workloads ? WORKLOADS.filter((w) => flags.workloads.split(",").includes(w.id)) : WORKLOADS;
if (flags.workloads && workloads.length !== flags.workloads.split(",").length) {
  throw new Error(`--workloads takes ${WORKLOADS.map((w) => w.id).join(", ")}; got ${flags.workloads}`);
}
const LIVE = 10_000;
const GETTERS = 8;

const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);

/** Every row starts from the same state: only the live sessions, vacuumed, right after a checkpoint. */
async function reset(admin, checkpoint) {
  // This store's table: every row whose key is not one of the LIVE sessions' (the keys
  // carry no order of the ids, so a range of ids is not a range of keys).
  await admin.query(
    `delete from public.sessions s
      where not exists (select from generate_series(1, $2::int) g where s.sid = ${keySql("($1::numeric + g)::text")})`,
    [LIVE_SID_BASE.toString(), LIVE],
  );
  await admin.query(`delete from public."session" where sid >= '${LIVE_SID_BASE + BigInt(LIVE) + 1n}'`);
  // With statistics, as autovacuum keeps them on a live table: without any, the planner guesses that
  // few rows are not destroyed and ANDs the Passport user's partial index (its predicate) into every
  // get's plan, a scan of that whole index per call (get at C = 8: 5,144 -> see the after-analyze run).
  await admin.query('vacuum analyze public.sessions, public."session"');
  await checkpoint();
  // This connection's own counts must be in the statistics before the row's snapshot.
  await admin.query("select pg_stat_force_next_flush()");
}

async function rowsWritten(admin) {
  const { rows: [row] } = await admin.query(
    `select coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint as n
       from pg_stat_user_tables where schemaname = 'public' and relname in ('sessions', 'session')`,
  );
  return Number(row.n);
}

const SQL_NAMES = {
  cps: "connect-pg-simple's SQL",
  store: "the store's SQL",
  raw: "the store functions' bodies as plain SQL",
};

/** Profile rows: what the function call and unnamed statements cost, in pgbench, at one concurrency. */
const PROFILE_ROWS = ["pgbench:store:extended", "pgbench:raw", "pgbench:cps:extended"];
const PROFILE_WORKLOADS = ["get", "touch", "set"];

/**
 * The rows of one workload: pgbench and connect-pg-simple for reference, then our store
 * (supabase-js through the local gateway, a reference only).
 */
function runners(workload, api) {
  if (workload.clients) return workload.clients.filter((id) => id !== "store-supabase-js" || api);
  const list = [];
  if (!workload.storesOnly) list.push("pgbench:cps", "connect-pg-simple");
  list.push("store-pg", "store-pg-unprepared");
  if (workload.writes) list.push("store-pg-relaxed");
  if (api) list.push("store-supabase-js");
  list.push("pgbench:store");
  return list;
}

/** One measuring window of one client: a sample (see summarize) and the round trips its pool sent. */
async function runOnce({ id, workload, concurrency, database, api, payload }) {
  const timing = { warmupMs: profile.warmupMs, windowMs: profile.windowMs };
  const touchAfter = workload.touchAfter ?? 0;
  if (id.startsWith("pgbench:")) {
    // pgbench:<family>[:<mode>]
    const [, family, mode = "prepared"] = id.split(":");
    return pgbench({
      family,
      mode,
      workload: workload.id,
      concurrency,
      port: database.port,
      live: LIVE,
      payload,
      touchAfter,
      ...timing,
    });
  }
  const client = await CLIENTS[id].create({ dbUrl: database.url, concurrency, touchAfter, api });
  let sample;
  try {
    sample = await closedLoop(workload.op(client, LIVE), { concurrency, ...timing });
  } finally {
    await client.close();
  }
  return { ...sample, roundTrips: client.roundTrips() ?? NaN };
}

function label(id) {
  if (!id.startsWith("pgbench:")) return CLIENTS[id].label;
  const [, family, mode = "prepared"] = id.split(":");
  return `pgbench -M ${mode}, ${SQL_NAMES[family]}`;
}

/** RSS of this process over a long touchAfter mix in which new sessions keep arriving. */
async function soak({ database, seconds }) {
  const concurrency = 8;
  const client = await CLIENTS["store-pg"].create({
    dbUrl: database.url,
    concurrency,
    touchAfter: TOUCH_AFTER_SECONDS,
  });
  const warmupSeconds = Math.min(10, Math.max(1, Math.round(seconds / 10)));
  const samples = [];
  let requests = 0;
  const op = async () => {
    const sid = randomLiveSid(LIVE);
    const sess = await getLive(client, sid);
    if (Math.random() < 0.9) await client.touch(sid, refreshed(sess));
    else await client.set(newSid(), makeSession());
    requests++;
  };
  const sampler = setInterval(() => {
    const { rss, heapUsed } = process.memoryUsage();
    samples.push({ rss, heapUsed });
  }, 1000);
  try {
    await closedLoop(op, { concurrency, warmupMs: warmupSeconds * 1000, windowMs: seconds * 1000, record: false });
  } finally {
    clearInterval(sampler);
    await client.close();
  }
  const measured = samples.slice(warmupSeconds);
  if (measured.length < 2) throw new Error("the soak is too short to sample memory");
  const stat = (key) => ({
    start: measured[0][key],
    mid: measured[Math.floor(measured.length / 2)][key],
    end: measured.at(-1)[key],
    max: measured.reduce((m, s) => Math.max(m, s[key]), 0),
  });
  return {
    seconds,
    concurrency,
    warmupSeconds,
    requests,
    cacheBound: TOUCH_CACHE_SIZE,
    rss: stat("rss"),
    heap: stat("heapUsed"),
  };
}

/**
 * The database and, on it, the local API; the database alone when the API cannot start.
 * The cluster is this run's own (main destroys it first): `stop()` stops its server and the API.
 */
async function startServices(dbOpts) {
  try {
    const { startStack } = await import("../scripts/stack.mjs");
    const stack = await startStack({ dir: dbOpts.dir, dbPort: dbOpts.port, functions: false });
    const api = { url: stack.env.SUPABASE_URL, serviceRoleKey: stack.env.SUPABASE_SERVICE_ROLE_KEY };
    return { url: stack.env.DATABASE_URL, api, stop: stack.stop };
  } catch (err) {
    log(`supabase-js reference rows not run: the local API did not start (${err.message.split("\n")[0]})`);
    // The cluster is this run's own (destroyed and created afresh): this run stops it.
    const { url } = db.start(dbOpts);
    return {
      url,
      api: undefined,
      stop: () => {
        db.stop(dbOpts);
      },
    };
  }
}

async function main() {
  const loadAtStart = os.loadavg()[0];
  const dbOpts = {
    dir: path.resolve(db.root, process.env.BENCH_DB_DIR ?? ".local/bench"),
    port: Number(process.env.BENCH_DB_PORT ?? 25450),
  };
  // A fresh cluster every run: the same starting state, and the current migrations.
  db.destroy(dbOpts);
  const services = await startServices(dbOpts);
  const { api } = services;
  const database = { ...dbOpts, url: services.url };
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  // CHECKPOINT needs a superuser (or pg_checkpoint), which postgres is not, as on hosted
  // Supabase: the bench's own maintenance step goes through the bootstrap superuser.
  const superuser = new pg.Client({ connectionString: db.dbUrl(dbOpts, { user: db.ADMIN_ROLE }) });
  await superuser.connect();
  const checkpoint = () => superuser.query("checkpoint");
  try {
    const { rows: [{ server_version: pgVersion }] } = await admin.query("show server_version");
    const payload = sessionJson();
    await fill(admin, LIVE, { payload, vacuum: false }); // reset() vacuums

    // One window of one client, from the same starting state, with the rows it wrote.
    const once = async (id, workload, concurrency) => {
      await reset(admin, checkpoint);
      const before = await rowsWritten(admin);
      const sample = await runOnce({ id, workload, concurrency, database, api, payload });
      // The pool's backends report their counts as they exit.
      await sleep(150);
      return { ...sample, written: (await rowsWritten(admin)) - before };
    };
    // The clients of one workload and concurrency take turns, window by window, the order
    // reversed every other round: a client measured early in one round is measured late in
    // the next, and a burst of load from elsewhere on the machine hits them all alike. A row
    // reports the median of its rounds' ops/s.
    const cell = async (ids, workload, concurrency) => {
      const samples = new Map(ids.map((id) => [id, []]));
      for (let round = 0; round < profile.rounds; round++) {
        for (const id of round % 2 ? [...ids].reverse() : ids) {
          samples.get(id).push(await once(id, workload, concurrency));
        }
      }
      return ids.map((id) => {
        const parts = samples.get(id);
        const summary = summarize(parts);
        summary.roundOpsPerSec = parts.map((p) => summarize([p]).opsPerSec);
        summary.opsPerSec = median(summary.roundOpsPerSec);
        const total = (key) => parts.reduce((n, p) => n + (p[key] ?? NaN), 0);
        const row = {
          workload: workload.id,
          concurrency,
          client: id,
          label: label(id),
          pgbench: CLIENTS[id]?.pgbench,
          ...summary,
          roundTripsPerOp: total("roundTrips") / summary.totalOps,
          // The gateway's long-lived backends report their counts late.
          writesPerOp: id === "store-supabase-js" ? NaN : total("written") / summary.totalOps,
        };
        log(
          `${workload.id} C=${concurrency} ${id}: ${Math.round(row.opsPerSec)} ops/s, ` +
            `p50 ${row.p50.toFixed(2)} ms, p99 ${row.p99.toFixed(2)} ms`,
        );
        return row;
      });
    };
    const rows = [];
    const profiled = [];
    if (sections.includes("workloads")) {
      for (const workload of workloads) {
        for (const concurrency of profile.concurrencies) {
          rows.push(...await cell(runners(workload, api), workload, concurrency));
        }
      }
      const profileC = profile.concurrencies.includes(8) ? 8 : profile.concurrencies[0];
      for (const workload of workloads.filter((w) => PROFILE_WORKLOADS.includes(w.id))) {
        profiled.push(...await cell(PROFILE_ROWS, workload, profileC));
      }
    }

    let cleanup;
    if (sections.includes("cleanup")) {
      log(`cleanup at scale (${profile.cleanupScale})`);
      const getter = await CLIENTS["store-pg"].create({ dbUrl: database.url, concurrency: GETTERS, touchAfter: 0 });
      try {
        cleanup = await cleanupAtScale({
          admin,
          checkpoint,
          client: getter,
          scale: profile.cleanupScale,
          payload,
          getters: GETTERS,
          warmupMs: profile.warmupMs,
          windowMs: Math.max(profile.windowMs, 2000),
        });
      } finally {
        await getter.close();
      }
    }

    let limits;
    if (sections.includes("limits") && api) {
      log(`table-wide operations through supabase-js at ${profile.limitsSessions} sessions`);
      limits = await limitsAtScale({ admin, api, sessions: profile.limitsSessions });
    }

    let memory;
    if (sections.includes("memory") && soakSeconds > 0) {
      log(`memory soak (${soakSeconds} s)`);
      await fill(admin, LIVE, { payload, vacuum: false }); // reset() vacuums
      memory = await soak({ database, seconds: soakSeconds });
    }

    const name = flags.name ?? (flags.quick ? "quick" : "full");
    const when = new Date().toISOString();
    const markdown = render({
      title: `Benchmark: ${name}`,
      when,
      machine: machine({ pgVersion }),
      settings: {
        command: ["npm run bench", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])].join(" "),
        payloadBytes: Buffer.byteLength(payload),
        live: LIVE,
        loadAtStart,
        ...profile,
      },
      workloads,
      concurrencies: profile.concurrencies,
      rows,
      profiled,
      cleanup,
      limits,
      memory,
      notes: api ? [] : ["The supabase-js reference rows were not run: the local API gateway was not available."],
    });
    const file = path.join(db.root, "bench", "results", `${when.slice(0, 10)}-${name}.md`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${markdown}\n`);
    process.stdout.write(`${markdown}\n`);
    log(`written to ${path.relative(db.root, file)}`);
  } finally {
    await admin.end();
    await superuser.end();
    await services.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`[bench] ${err.stack ?? err}\n`);
  process.exitCode = 1;
});
