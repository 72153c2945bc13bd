#!/usr/bin/env node
// `npm run bench:cost`: what a request costs, as the bill sees it (issue 29), this store side by
// side with connect-pg-simple on the same database and workload:
//
// - requests: WAL bytes, row versions, statement time, database CPU and app CPU per request,
//   for get, touch, set and the request mix (and the mix with touchAfter);
// - vacuum: dead tuples, table and index size after 1M touches at the default autovacuum
//   settings, and the share of touches that were HOT updates;
// - memory: the store's heap over 1M requests against 100k distinct sessions;
// - scale: get and set latency at 100k and at 10M rows.
//
// Starts its own cluster (BENCH_DB_DIR, default .local/bench-cost; BENCH_DB_PORT, default 25470;
// recreated every run), run with hosted Supabase's settings (wal_level = logical,
// pg_stat_statements; scripts/db.mjs). Writes bench/results/<date>-<name>.md and prints it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import * as db from "../scripts/db.mjs";
import { CLIENTS } from "./lib/clients.mjs";
import { fixedLoop, median } from "./lib/measure.mjs";
import { perRequest, snapshot } from "./lib/server-cost.mjs";
import { TOUCH_AFTER_SECONDS, WORKLOADS } from "./lib/workloads.mjs";
import { renderCost } from "./lib/cost-report.mjs";
import { heapOverRequests, latencyAtScale, vacuumAfterTouches } from "./lib/cost-sections.mjs";
import { fill } from "./lib/tables.mjs";

const { values: flags } = parseArgs({
  options: {
    name: { type: "string", default: "cost" },
    only: { type: "string" },
    requests: { type: "string", default: "20000" },
    rounds: { type: "string", default: "2" },
    touches: { type: "string", default: "1000000" },
    "memory-requests": { type: "string", default: "1000000" },
    "scale-rows": { type: "string", default: "10000000" },
    // replica: Postgres as most hosts other than Supabase run it (a HOT update's WAL record then
    // carries only the changed bytes); the default is hosted Supabase's logical.
    "wal-level": { type: "string", default: "logical" },
  },
});
const SECTIONS = ["requests", "vacuum", "memory", "scale"];
const sections = flags.only ? flags.only.split(",") : SECTIONS;
const unknown = sections.filter((s) => !SECTIONS.includes(s));
if (unknown.length) throw new Error(`--only takes ${SECTIONS.join(", ")}; got ${unknown.join(", ")}`);
const count = (name) => {
  const n = Number(flags[name]);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`--${name} takes a whole number of at least 1, got ${flags[name]}`);
  }
  return n;
};
if (!["logical", "replica"].includes(flags["wal-level"])) {
  throw new Error(`--wal-level takes logical or replica, got ${flags["wal-level"]}`);
}
const REQUESTS = count("requests");
const ROUNDS = count("rounds");
const LIVE = 10_000;
const log = (msg) => process.stderr.write(`[bench:cost] ${msg}\n`);

/** The cells of the requests section: [workload id, client id, touchAfter, C]. */
const CELLS = [
  ["get", 8],
  ["get", 32],
  ["touch", 8],
  ["set", 8],
  ["mix", 8],
].flatMap(([w, c]) => [[w, "connect-pg-simple", 0, c], [w, "store-pg", 0, c]])
  .concat([["mix-touchafter", "store-pg", TOUCH_AFTER_SECONDS, 8]]);

/** Both tables hold the same LIVE sessions, vacuumed, then a checkpoint. */
async function resetTables(admin, superuser, live) {
  await fill(admin, live);
  await superuser.query("checkpoint");
}

/** One cell: a fresh state, N requests, and what they cost the server and this process. */
async function measureCell({ admin, superuser, database, workloadId, clientId, touchAfter, concurrency }) {
  const workload = WORKLOADS.find((w) => w.id === workloadId);
  const table = clientId === "connect-pg-simple" ? 'public."session"' : "public.sessions";
  await resetTables(admin, superuser, LIVE);
  await superuser.query("select extensions.pg_stat_statements_reset()");
  const client = await CLIENTS[clientId].create({ dbUrl: database.url, concurrency, touchAfter });
  const op = workload.op(client, LIVE);
  // No warm-up: the pool's backends report their row counts only as they exit (or once a
  // second at most), so a warm-up's writes would land in the window. The N requests include
  // opening C connections and preparing the statements, alike for both stores.
  const before = await snapshot(superuser, { pgdata: database.pgdata, table });
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await fixedLoop(op, { concurrency, requests: REQUESTS });
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu);
  // Closing the pools ends their backends, which report their counters as they exit.
  await client.close();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const after = await snapshot(superuser, { pgdata: database.pgdata, table });
  return {
    ...(await perRequest(superuser, before, after, REQUESTS, { pgBin: database.pgBin, pgdata: database.pgdata })),
    appCpuMicros: (used.user + used.system) / REQUESTS,
    requestsPerSecond: REQUESTS / seconds,
  };
}

/** Every cell, ROUNDS times, the order reversed every other round; the median of each figure. */
async function requestsSection(ctx) {
  const results = new Map();
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? [...CELLS].reverse() : CELLS;
    for (const [workloadId, clientId, touchAfter, concurrency] of order) {
      const key = `${workloadId}|${clientId}|${concurrency}`;
      log(`round ${round + 1}/${ROUNDS}: ${workloadId} ${clientId} C = ${concurrency}`);
      const m = await measureCell({ ...ctx, workloadId, clientId, touchAfter, concurrency });
      results.set(key, [...(results.get(key) ?? []), m]);
    }
  }
  return CELLS.map(([workloadId, clientId, touchAfter, concurrency]) => {
    const samples = results.get(`${workloadId}|${clientId}|${concurrency}`);
    const merged = {};
    for (const k of Object.keys(samples[0])) merged[k] = median(samples.map((s) => s[k]));
    return { workloadId, clientId, touchAfter, concurrency, ...merged, samples };
  });
}

async function main() {
  const loadAtStart = os.loadavg()[0];
  const dbOpts = {
    dir: path.resolve(db.root, process.env.BENCH_DB_DIR ?? ".local/bench-cost"),
    port: Number(process.env.BENCH_DB_PORT ?? 25470),
    settings: { wal_level: flags["wal-level"] },
  };
  db.destroy(dbOpts);
  const started = db.start(dbOpts);
  const database = { ...dbOpts, url: started.url, pgdata: started.pgdata, pgBin: db.pgBinDir().bin };
  const admin = new pg.Client({ connectionString: database.url });
  const superuser = new pg.Client({ connectionString: db.dbUrl(dbOpts, { user: db.ADMIN_ROLE }) });
  await admin.connect();
  await superuser.connect();
  const ctx = { admin, superuser, database, log };
  try {
    const { rows: [settings] } = await superuser.query(
      `select version() as version, current_setting('wal_level') as wal_level,
              current_setting('full_page_writes') as fpw, current_setting('checkpoint_timeout') as checkpoint_timeout,
              current_setting('shared_buffers') as shared_buffers`,
    );
    const report = { when: new Date().toISOString(), settings, requests: REQUESTS, rounds: ROUNDS, live: LIVE };
    if (sections.includes("requests")) report.cells = await requestsSection(ctx);
    if (sections.includes("vacuum")) report.vacuum = await vacuumAfterTouches({ ...ctx, touches: count("touches") });
    if (sections.includes("memory")) {
      report.memory = await heapOverRequests({ ...ctx, requests: count("memory-requests") });
    }
    if (sections.includes("scale")) report.scale = await latencyAtScale({ ...ctx, rows: count("scale-rows") });
    report.load = [loadAtStart, os.loadavg()[0]];
    report.command = `npm run bench:cost -- ${process.argv.slice(2).join(" ")}`.trim();
    const markdown = renderCost(report);
    const file = path.join(db.root, "bench", "results", `${report.when.slice(0, 10)}-${flags.name}.md`);
    fs.writeFileSync(file, markdown);
    process.stdout.write(markdown);
    log(`written to ${path.relative(db.root, file)}`);
  } finally {
    await admin.end();
    await superuser.end();
    db.stop(dbOpts);
  }
}

await main();
