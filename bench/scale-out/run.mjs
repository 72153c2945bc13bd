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
    seconds: { type: "string", default: "10" },
    "warmup-seconds": { type: "string", default: "2" },
    "pool-max": { type: "string", default: "5" },
    rounds: { type: "string", default: "2" },
    name: { type: "string", default: "scale-out" },
  },
});
const instances = Number(args.instances);
const users = Number(args.users);
const seconds = Number(args.seconds);
const warmupSeconds = Number(args["warmup-seconds"]);
const poolMax = Number(args["pool-max"]);
const rounds = Number(args.rounds);
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
  const stop = () => Promise.all(apps.map((app) => app.terminate(5_000)));
  const urls = [];
  try {
    for (const app of apps) urls.push((await app.match)[1]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { urls, stop };
}

/** Server connections of the app's role (`postgres`) right now, through a superuser's reserved slot. */
async function sampleConnections(monitor, peak) {
  const { rows } = await monitor.query(
    "select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and usename = 'postgres'",
  );
  peak.value = Math.max(peak.value, rows[0].n);
}

/** CPU seconds (user + system) the process `pid` has used so far, or null when it cannot be read. */
function cpuSeconds(pid) {
  if (!pid) return null;
  try {
    // /proc/<pid>/stat: utime and stime are fields 14 and 15, after the parenthesised name.
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

/** A user's counter, read through the instances in turn until one answers (null when none does). */
async function readCount(urls, u, cookie) {
  for (let i = 0; i < urls.length; i++) {
    try {
      const res = await fetch(`${urls[(u + i) % urls.length]}/count`, { headers: { cookie } });
      if (res.status === 200) return (await res.json()).count;
      await res.arrayBuffer();
    } catch {
      // that instance did not answer: the next one
    }
  }
  return null;
}

/**
 * Waits until the stopped instances' server processes have exited (they go a moment after
 * their clients), so that the next row starts with the whole connection budget.
 */
async function connectionsGone() {
  const monitor = new pg.Client({ connectionString: db.dbUrl(dbOpts, { user: db.ADMIN_ROLE }) });
  await monitor.connect();
  try {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const { rows } = await monitor.query(
        "select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and usename = 'postgres'",
      );
      if (rows[0].n === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await monitor.end();
  }
}

async function hit(url, cookie) {
  const res = await fetch(`${url}/hit`, { method: "POST", headers: cookie ? { cookie } : {} });
  const body = await res.text();
  const set = res.headers.get("set-cookie");
  // The app's error answer names the store's error (a Postgres code or message), never a session id.
  const error = res.status === 200 ? undefined : `${res.status} ${JSON.parse(body || "{}").error ?? ""}`.trim();
  return { ok: res.status === 200, error, cookie: set ? set.slice(0, set.indexOf(";")) : cookie };
}

/** One row: its instances started, measured, and stopped whatever happens. */
async function scenario(row) {
  log(`${row.label}: ${instances} instances, pool max ${row.max} each`);
  const apps = await startApps(row.url, row.max);
  try {
    return await measure(row, apps);
  } finally {
    await apps.stop();
  }
}

async function measure({ label, url, max }, apps) {
  const monitor = new pg.Client({ connectionString: db.dbUrl(dbOpts, { user: db.ADMIN_ROLE }) });
  monitor.on("error", () => {}); // a query in flight fails too, and is reported there
  await monitor.connect();
  const peak = { value: 0 };
  const sampler = setInterval(() => sampleConnections(monitor, peak).catch(() => {}), 200);
  const start = performance.now();
  const windowStart = start + warmupSeconds * 1000;
  const end = windowStart + seconds * 1000;
  const latencies = [];
  const poolerPid = db.poolerPid(dbOpts);
  let poolerCpuAtWindow = null;
  const cpuMark = setTimeout(() => (poolerCpuAtWindow = cpuSeconds(poolerPid)), warmupSeconds * 1000);
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
        else errors.set(res.error, (errors.get(res.error) ?? 0) + 1);
      } catch (err) {
        const what = `${err.message}${err.cause?.code ? ` (${err.cause.code})` : ""}`;
        errors.set(what, (errors.get(what) ?? 0) + 1);
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
  clearTimeout(cpuMark);
  const poolerCpuAtEnd = cpuSeconds(poolerPid);
  // Read every user's counter back, through any instance.
  let lost = 0;
  let extra = 0;
  let unreadable = 0;
  await Promise.all(state.map(async (user, u) => {
    if (!user.cookie) return;
    const count = await readCount(apps.urls, u, user.cookie);
    if (count === null) {
      unreadable++;
      return;
    }
    lost += Math.max(0, user.ok - count);
    extra += Math.max(0, count - user.ok);
  }));
  await sampleConnections(monitor, peak).catch(() => {});
  await monitor.end();
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
    poolerCpu: url === dbOpts.poolerUrl && poolerCpuAtWindow !== null && poolerCpuAtEnd !== null
      ? (poolerCpuAtEnd - poolerCpuAtWindow) / seconds
      : null,
    latencies,
    errors,
  };
  log(
    `${label}: ${okInWindow + failedInWindow} requests, ${failedInWindow} failed, ${lost} lost, ${
      Math.round(result.rps)
    }/s, peak ${peak.value} server connections${
      errors.size ? `; failures: ${[...errors].map(([w, n]) => `${n} × ${w}`).join("; ")}` : ""
    }`,
  );
  return result;
}

/** One row from the rounds of one scenario: counts summed, requests/s averaged, latency over all rounds. */
function merge(runs) {
  const sum = (key) => runs.reduce((n, r) => n + r[key], 0);
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  const errors = new Map();
  for (const r of runs) for (const [what, n] of r.errors) errors.set(what, (errors.get(what) ?? 0) + n);
  const cpu = runs.map((r) => r.poolerCpu);
  return {
    ...runs[0],
    peak: Math.max(...runs.map((r) => r.peak)),
    ...Object.fromEntries(
      ["requests", "failed", "failedTotal", "hits", "lost", "extra", "unreadable"].map((k) => [k, sum(k)]),
    ),
    rps: sum("rps") / runs.length,
    rpsEach: runs.map((r) => r.rps),
    poolerCpu: cpu.includes(null) ? null : cpu.reduce((a, b) => a + b, 0) / cpu.length,
    p50: pct(0.5),
    p99: pct(0.99),
    errors: [...errors].map(([what, n]) => `${n} × ${what}`).join("; "),
  };
}

function report(results, { loadAtStart, loadAtEnd, version, command }) {
  const fmt = (n) => Math.round(n).toLocaleString("en-US");
  const rows = results.map((r) =>
    `| ${r.label} | ${r.max} | ${r.clients} | ${r.peak} | ${fmt(r.requests)} | ${r.failed} | ${r.lost} | ${
      fmt(r.rps)
    } (${r.rpsEach.map(fmt).join(" / ")}) | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${
      r.poolerCpu === null ? "" : `${Math.round(r.poolerCpu * 100)}%`
    } |`
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
- ${warmupSeconds} s warm-up, then a ${seconds} s window: requests, failures, requests/s and latency are the window's. ${rounds} rounds, the order of the rows reversed every other round (the pooler restarted after its row, giving back its server connections): counts are summed over the rounds, requests/s is their mean (each round's in brackets), latency is over all rounds.
- Failed: a request not answered 200 (the app answers 500 when the store's call fails) or not answered at all.
- Lost writes: after the run each user's counter is read back through an instance; lost = hits answered 200 (warm-up included) missing from the counter, summed over users.
- PgBouncer CPU: the pooler process's user + system CPU time in the window, as a share of one core (it is single-threaded).
- Server connections: the peak of \`pg_stat_activity\`'s client backends of the app's role (\`postgres\`), sampled every 200 ms. The database's ${db.MAX_CONNECTIONS} connections leave ${APP_CONNECTION_BUDGET} to non-superusers.

## Results

| connections | pool max per instance | app clients (instances × max) | server connections (peak) | requests | failed | lost writes | requests/s (rounds) | p50 ms | p99 ms | PgBouncer CPU |
|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|
${rows.join("\n")}
${results.filter((r) => r.errors).map((r) => `\nFailures of "${r.label}": ${r.errors}.`).join("\n")}
`;
}

async function main() {
  const loadAtStart = os.loadavg()[0];
  db.destroy(dbOpts);
  const started = db.start(dbOpts);
  dbOpts.poolerUrl = started.pooler.url;
  const admin = new pg.Client({ connectionString: started.url });
  await admin.connect();
  const version = (await admin.query("select version()")).rows[0].version.split(" on ")[0];
  await admin.end();
  // What fits directly: the largest pool each instance can have within the connection budget.
  const directMax = Math.max(1, Math.floor(APP_CONNECTION_BUDGET / instances));
  const scenarios = [
    { label: "direct, pool sized to fit", url: started.url, max: directMax },
    ...(poolMax !== directMax ? [{ label: "direct, same pool as pooled", url: started.url, max: poolMax }] : []),
    { label: "transaction pooler", url: started.pooler.url, max: poolMax },
  ];
  const runs = new Map(scenarios.map((s) => [s.label, []]));
  try {
    // The order reversed every other round, so that neither mode always runs on the busier machine.
    for (let round = 0; round < rounds; round++) {
      for (const s of round % 2 ? [...scenarios].reverse() : scenarios) {
        runs.get(s.label).push(await scenario(s));
        // The pooler keeps the server connections it opened: a restart gives them back before a direct row.
        if (s.url === started.pooler.url) {
          db.stopPooler(dbOpts);
          db.start(dbOpts);
        }
        await connectionsGone();
      }
    }
  } finally {
    db.destroy(dbOpts);
  }
  const results = scenarios.map((s) => merge(runs.get(s.label)));
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
