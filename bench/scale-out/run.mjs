#!/usr/bin/env node
// Scale-out load test: N app instances (bench/scale-out/app.mjs, each an Express app with
// express-session and this store on its own pg pool) against one database that allows
// hosted Micro's 60 connections, once through the transaction pooler (PgBouncer, the local
// stand-in for Supavisor's port 6543) and, for comparison, on direct connections: with the
// pool each instance can have within 60 connections, and with the same pool as pooled.
//
//   npm run bench:scale-out [-- --instances 20 --users 100 --seconds 15 --pool-max 5 --name <name>]
//   env: BENCH_DB_DIR (.local/bench-scale-out), BENCH_DB_PORT (25460), BENCH_POOLER_PORT (25461)
//
// Each virtual user is a closed loop of POST /hit (its session's counter + 1, a `set`),
// spread round-robin over every instance (sessions are shared through the store). At the
// end each user's counter is read back (GET /count): a hit answered 200 but missing from
// the counter is a lost write. Writes bench/results/<date>-<name>.md and prints it; exits 1
// when the pooled run failed a request or lost a write.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import * as db from "../../scripts/db.mjs";
import { startProcess } from "../../scripts/processes.mjs";
import { MAX_CLIENT_CONNECTIONS, POOL_SIZE } from "../../scripts/pooler.mjs";

const { values: args } = parseArgs({
  options: {
    instances: { type: "string", default: "20" },
    users: { type: "string", default: "100" },
    seconds: { type: "string", default: "15" },
    "warmup-seconds": { type: "string", default: "2" },
    "pool-max": { type: "string", default: "5" },
    name: { type: "string", default: "scale-out" },
  },
});
const instances = Number(args.instances);
const users = Number(args.users);
const seconds = Number(args.seconds);
const warmupSeconds = Number(args["warmup-seconds"]);
const poolMax = Number(args["pool-max"]);
const dbOpts = {
  dir: path.resolve(db.root, process.env.BENCH_DB_DIR ?? ".local/bench-scale-out"),
  port: Number(process.env.BENCH_DB_PORT ?? 25460),
  poolerPort: Number(process.env.BENCH_POOLER_PORT ?? 25461),
};
// Superusers' reserved slots (superuser_reserved_connections, 3) are not the app's.
const APP_CONNECTION_BUDGET = db.MAX_CONNECTIONS - 3;

const log = (line) => process.stderr.write(`[scale-out] ${line}\n`);

async function startApps(url, max) {
  const apps = [];
  for (let i = 0; i < instances; i++) {
    apps.push(startProcess(process.execPath, [path.join(db.root, "bench/scale-out/app.mjs")], {
      cwd: db.root,
      env: { ...process.env, DATABASE_URL: url, POOL_MAX: String(max), SESSION_SECRET: "bench-scale-out-secret" },
      ready: /listening on (http:\/\/\S+)/,
      retain: false,
    }));
  }
  const urls = [];
  for (const app of apps) urls.push((await app.match)[1]);
  return { urls, stop: () => Promise.all(apps.map((app) => app.terminate(5_000))) };
}

/** Server connections of the app's role (`postgres`) right now, through a superuser's reserved slot. */
async function sampleConnections(monitor, peak) {
  const { rows } = await monitor.query(
    "select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and usename = 'postgres'",
  );
  peak.value = Math.max(peak.value, rows[0].n);
}

async function hit(url, cookie) {
  const res = await fetch(`${url}/hit`, { method: "POST", headers: cookie ? { cookie } : {} });
  await res.arrayBuffer();
  const set = res.headers.get("set-cookie");
  return { ok: res.status === 200, cookie: set ? set.slice(0, set.indexOf(";")) : cookie };
}

async function scenario({ label, url, max }) {
  log(`${label}: ${instances} instances, pool max ${max} each`);
  const apps = await startApps(url, max);
  const monitor = new pg.Client({ connectionString: db.dbUrl(dbOpts, { user: db.ADMIN_ROLE }) });
  await monitor.connect();
  const peak = { value: 0 };
  const sampler = setInterval(() => sampleConnections(monitor, peak).catch(() => {}), 200);
  const start = performance.now();
  const windowStart = start + warmupSeconds * 1000;
  const end = windowStart + seconds * 1000;
  const latencies = [];
  let failed = 0;
  let failedInWindow = 0;
  let okInWindow = 0;
  const state = Array.from({ length: users }, () => ({ cookie: undefined, ok: 0, failed: 0 }));
  const errors = new Map();
  await Promise.all(state.map(async (user, u) => {
    for (let i = 0; performance.now() < end; i++) {
      const t0 = performance.now();
      let ok = false;
      try {
        const res = await hit(apps.urls[(u + i) % apps.urls.length], user.cookie);
        ok = res.ok;
        if (ok) user.cookie = res.cookie;
      } catch (err) {
        errors.set(err.message, (errors.get(err.message) ?? 0) + 1);
      }
      const t1 = performance.now();
      if (ok) user.ok++;
      else {
        user.failed++;
        failed++;
      }
      if (t0 >= windowStart) {
        latencies.push(t1 - t0);
        if (ok) okInWindow++;
        else failedInWindow++;
      }
    }
  }));
  clearInterval(sampler);
  // Read every user's counter back, through any instance.
  let lost = 0;
  let extra = 0;
  let unreadable = 0;
  await Promise.all(state.map(async (user, u) => {
    if (!user.cookie) return;
    const res = await fetch(`${apps.urls[u % apps.urls.length]}/count`, { headers: { cookie: user.cookie } });
    if (res.status !== 200) {
      unreadable++;
      return;
    }
    const { count } = await res.json();
    lost += Math.max(0, user.ok - count);
    extra += Math.max(0, count - user.ok);
  }));
  await sampleConnections(monitor, peak).catch(() => {});
  await monitor.end();
  await apps.stop();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  const result = {
    label,
    max,
    clients: instances * max,
    peak: peak.value,
    requests: okInWindow + failedInWindow,
    failed: failedInWindow,
    failedTotal: failed,
    hits: state.reduce((n, s) => n + s.ok, 0),
    lost,
    extra,
    unreadable,
    rps: okInWindow / seconds,
    p50: pct(0.5),
    p99: pct(0.99),
  };
  log(`${label}: ${JSON.stringify(result)}`);
  return result;
}

function report(results, { loadAtStart, loadAtEnd, version, command }) {
  const fmt = (n) => Math.round(n).toLocaleString("en-US");
  const rows = results.map((r) =>
    `| ${r.label} | ${r.max} | ${r.clients} | ${r.peak} | ${fmt(r.requests)} | ${r.failed} | ${r.lost} | ${
      fmt(r.rps)
    } | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} |`
  );
  return `# Benchmark: ${args.name}

${new Date().toISOString()} · \`${command}\`

## Machine

${os.cpus().length} CPUs (${os.cpus()[0]?.model}), ${
    (os.totalmem() / 2 ** 30).toFixed(1)
  } GiB memory; ${version} (local cluster of scripts/db.mjs, \`max_connections = ${db.MAX_CONNECTIONS}\`, fsync on); PgBouncer 1.18, \`pool_mode = transaction\`, ${POOL_SIZE} server connections, ${MAX_CLIENT_CONNECTIONS} clients at most (scripts/pooler.mjs); Node ${process.version}. The load generator, the ${instances} app processes, PgBouncer and Postgres share these CPUs. Load average (1 min) at the start ${
    loadAtStart.toFixed(2)
  }, at the end ${loadAtEnd.toFixed(2)}.

## Settings

- ${instances} app instances (bench/scale-out/app.mjs: Express 5, express-session with \`resave: false\`, this store on its own \`pg.Pool\`), started afresh for each row.
- ${users} virtual users, each a closed loop of \`POST /hit\` (the session's counter + 1: a \`get\` and a \`set\`), request *i* of user *u* sent to instance (*u* + *i*) mod ${instances}: every request after the first lands on another instance than the last, so sessions are shared only through the store.
- ${warmupSeconds} s warm-up, then a ${seconds} s window: requests, failures, requests/s and latency are the window's.
- Failed: a request not answered 200 (the app answers 500 when the store's call fails) or not answered at all.
- Lost writes: after the run each user's counter is read back through an instance; lost = hits answered 200 (warm-up included) missing from the counter, summed over users.
- Server connections: the peak of \`pg_stat_activity\`'s client backends of the app's role (\`postgres\`), sampled every 200 ms. The database's ${db.MAX_CONNECTIONS} connections leave ${APP_CONNECTION_BUDGET} to non-superusers.

## Results

| connections | pool max per instance | app clients (instances × max) | server connections (peak) | requests | failed | lost writes | requests/s | p50 ms | p99 ms |
|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|
${rows.join("\n")}
`;
}

async function main() {
  const loadAtStart = os.loadavg()[0];
  db.destroy(dbOpts);
  const started = db.start(dbOpts);
  const admin = new pg.Client({ connectionString: started.url });
  await admin.connect();
  const version = (await admin.query("select version()")).rows[0].version.split(" on ")[0];
  await admin.end();
  // What fits directly: the largest pool each instance can have within the connection budget.
  const directMax = Math.max(1, Math.floor(APP_CONNECTION_BUDGET / instances));
  const results = [];
  try {
    // Direct first: the pooler keeps its server connections open once it has made them.
    results.push(await scenario({ label: "direct, pool sized to fit", url: started.url, max: directMax }));
    if (poolMax !== directMax) {
      results.push(await scenario({ label: "direct, same pool as pooled", url: started.url, max: poolMax }));
    }
    results.push(await scenario({ label: "transaction pooler", url: started.pooler.url, max: poolMax }));
  } finally {
    db.destroy(dbOpts);
  }
  const command = `npm run bench:scale-out -- ${process.argv.slice(2).join(" ")}`.trim().replace(/ --$/, "");
  const md = report(results, { loadAtStart, loadAtEnd: os.loadavg()[0], version, command });
  const file = path.join(db.root, "bench/results", `${new Date().toISOString().slice(0, 10)}-${args.name}.md`);
  fs.writeFileSync(file, md);
  process.stdout.write(`${md}\nwritten to ${path.relative(process.cwd(), file)}\n`);
  const pooled = results.at(-1);
  if (pooled.failedTotal > 0 || pooled.lost > 0 || pooled.unreadable > 0) {
    process.stderr.write("the pooled run failed requests or lost writes\n");
    process.exitCode = 1;
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exitCode = 1;
});
