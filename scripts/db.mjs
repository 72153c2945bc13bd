#!/usr/bin/env node
// The local Supabase-compatible Postgres, without Docker: a private cluster built
// from the system's PostgreSQL binaries, pg_cron preloaded, pgTAP available, the
// roles, role settings and default privileges of a hosted Supabase database, and the
// project's migrations pushed by the real Supabase CLI as `postgres`, who (as on
// hosted Supabase) is not a superuser.
//
//   node scripts/db.mjs start|stop|status|url|push
//   env: LOCAL_DB_DIR, LOCAL_DB_PORT, LOCAL_DB_DEFAULT_PRIVILEGES (hosted | legacy)
//
// In front of it, on its own port, a transaction-mode pooler (scripts/pooler.mjs), the stand-in
// for Supavisor's port 6543, started and stopped with the server. The server allows hosted
// Micro's 60 connections, so that exhausting them is as real here as there.
//
//   env: LOCAL_DB_POOLER_PORT (54329, the Supabase CLI's local pooler port)
//
// `start` is idempotent: it reuses an existing cluster (and a running server) and
// pushes only new migrations. It reports whether it started the server, so that a
// caller stops only what it started.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ADMIN_ROLE, bootstrapSql, PRIVILEGE_REGIMES } from "./db-bootstrap.mjs";
import { ensurePackages, pgBinDir } from "./db-packages.mjs";
import * as pooler from "./pooler.mjs";
import { logSince, runInOrder, sizeOf } from "./processes.mjs";

export { ADMIN_ROLE, pgBinDir, PRIVILEGE_REGIMES };

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const isRoot = process.getuid?.() === 0;
/** The pooler's port for `npm start` and this command when LOCAL_DB_POOLER_PORT is unset: the Supabase CLI's. */
export const DEFAULT_POOLER_PORT = 54329;
/** Hosted Micro's (and Nano's) `max_connections`, Supabase's compute table. */
export const MAX_CONNECTIONS = 60;
/**
 * Server settings hosted Supabase runs with that change what the database writes and records
 * (supabase/postgres, ansible/files/postgresql_config/postgresql.conf.j2): `wal_level = logical`,
 * under which every updated row is written to the WAL whole, and pg_stat_statements preloaded.
 * On the command line too, so that a cluster made before they were set gets them as well.
 */
const SERVER_SETTINGS = {
  max_connections: MAX_CONNECTIONS,
  wal_level: "logical",
  shared_preload_libraries: "pg_stat_statements,pg_cron",
};

export function defaults(env = process.env) {
  const privileges = env.LOCAL_DB_DEFAULT_PRIVILEGES || "hosted";
  if (!PRIVILEGE_REGIMES.includes(privileges)) {
    throw new Error(
      `LOCAL_DB_DEFAULT_PRIVILEGES must be one of ${PRIVILEGE_REGIMES.join(", ")}, got ${JSON.stringify(privileges)}`,
    );
  }
  return {
    // An empty variable means the default, as for `npm start`'s other settings.
    dir: path.resolve(root, env.LOCAL_DB_DIR || ".local/db"),
    port: Number(env.LOCAL_DB_PORT || 54322),
    // Only when set: a caller that names a cluster by folder and port alone (a test restarting the
    // stack's database) keeps the pooler on the port it has (see start).
    ...(env.LOCAL_DB_POOLER_PORT && { poolerPort: Number(env.LOCAL_DB_POOLER_PORT) }),
    privileges,
  };
}

/**
 * Connection string for the local cluster as `postgres`, the role migrations are pushed as
 * and applications' direct connections use (not a superuser, as on hosted Supabase).
 */
export function dbUrl({ port } = defaults(), { forCli = false, user = "postgres" } = {}) {
  return `postgresql://${user}:postgres@127.0.0.1:${port}/postgres${forCli ? "?sslmode=disable" : ""}`;
}

function log(msg) {
  process.stderr.write(`[db] ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { encoding: "utf8", ...opts });
  if (res.error) throw res.error;
  if (res.status !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${res.status}\n${res.stdout ?? ""}${res.stderr ?? ""}`);
  }
  return res;
}

/** Runs a PostgreSQL server binary as the `postgres` OS user when we are root (initdb and postgres refuse root). */
function runAsOwner(bin, args, opts = {}) {
  return isRoot ? run("runuser", ["-u", "postgres", "--", bin, ...args], opts) : run(bin, args, opts);
}

/**
 * The postgres OS user must be able to reach the data folder. A checkout under a
 * private home (mode 700) is not reachable, so root falls back to a per-checkout
 * folder in the system's temporary directory.
 */
function dataDir(dir) {
  if (!isRoot) return dir;
  const probe = path.dirname(dir);
  fs.mkdirSync(probe, { recursive: true });
  if (spawnSync("runuser", ["-u", "postgres", "--", "test", "-x", probe]).status === 0) return dir;
  const hash = createHash("sha256").update(dir).digest("hex").slice(0, 12);
  const alt = path.join(os.tmpdir(), `supabase-session-store-${hash}`, path.basename(dir));
  log(`${probe} is not reachable by the postgres user; using ${alt}`);
  return alt;
}

function pgctl(bin, pgdata, args, opts) {
  return runAsOwner(path.join(bin, "pg_ctl"), ["-D", pgdata, ...args], opts);
}

/** Where the cluster of `opts` lives (its folder and data directory) and whether initdb has made it. */
function cluster(opts) {
  const base = dataDir(opts.dir);
  const pgdata = path.join(base, "pgdata");
  return { base, pgdata, exists: fs.existsSync(path.join(pgdata, "PG_VERSION")) };
}

function serverUp(bin, pgdata) {
  return pgctl(bin, pgdata, ["status"], { allowFail: true }).status === 0;
}

export function isRunning(opts = defaults()) {
  const pg = pgBinDir();
  if (!pg) return false;
  const { pgdata, exists } = cluster(opts);
  return exists && serverUp(pg.bin, pgdata);
}

function initCluster(bin, base, port) {
  const pgdata = path.join(base, "pgdata");
  fs.mkdirSync(base, { recursive: true });
  if (isRoot) execFileSync("chown", ["-R", "postgres:postgres", base]);
  log(`initialising a cluster in ${pgdata}`);
  // The bootstrap superuser is supabase_admin, as in Supabase's own image; `postgres` is
  // made by the bootstrap below, without superuser.
  runAsOwner(path.join(bin, "initdb"), [
    "-D",
    pgdata,
    "-U",
    ADMIN_ROLE,
    "--auth=trust",
    "--encoding=UTF8",
    "--locale=C.UTF-8",
  ]);
  // Loopback only, trust auth: a private development cluster, like `supabase start`'s
  // well-known password. pg_cron's jobs connect back over libpq as their owner.
  const conf = `
# supabase-session-store local stack
listen_addresses = '127.0.0.1'
port = ${port}
unix_socket_directories = '${base}'
cron.database_name = 'postgres'
shared_buffers = '256MB'
fsync = on
log_min_messages = warning
log_line_prefix = '%m [%p] %u@%d '
`;
  fs.appendFileSync(path.join(pgdata, "postgresql.conf"), conf);
}

function psql(sql, { port } = defaults(), user = "postgres") {
  return run("psql", [dbUrl({ port }, { user }), "-X", "-v", "ON_ERROR_STOP=1", "-q", "-At", "-c", sql]).stdout;
}

/** Bootstraps as supabase_admin; a cluster made before it existed (with `postgres` a superuser) is refused. */
function bootstrap(opts) {
  try {
    psql("select 1", opts, ADMIN_ROLE);
  } catch {
    throw new Error(
      `the cluster in ${cluster(opts).base} predates the hosted-like bootstrap (no ${ADMIN_ROLE} role); ` +
        "stop it and delete that folder, then start again",
    );
  }
  psql(bootstrapSql(opts.privileges ?? "hosted"), opts, ADMIN_ROLE);
}

export function push(opts = defaults()) {
  const { base } = cluster(opts);
  fs.mkdirSync(base, { recursive: true });
  const cli = path.join(root, "node_modules/.bin/supabase");
  const args = ["db", "push", "--db-url", dbUrl(opts, { forCli: true }), "--yes"];
  const { status, out } = runInOrder(cli, args, { cwd: root, logFile: path.join(base, "push.log") });
  if (status !== 0) throw new Error(`supabase db push exited ${status}\n${out}`);
  log(out.split("\n").filter((l) => /Applying|up to date|Finished/i.test(l)).join("\n[db] ") || out);
  return out;
}

/**
 * Starts (or reuses) the cluster, bootstraps it and pushes this project's migrations
 * (`migrate: false` leaves the database as a new Supabase project is: for a test that
 * pushes a consumer project's migrations itself). Then the pooler, on `opts.poolerPort`
 * or, when none is given, on the port it had before in this cluster's folder (a cluster
 * that never had one gets none): a restart brings back what the stack had.
 * `opts.settings` overrides server settings when the server starts (the cost benchmark's
 * `--wal-level replica`, for Postgres outside Supabase); nothing else sets it.
 */
export function start(opts = defaults()) {
  const pg = ensurePackages();
  const { base, pgdata, exists } = cluster(opts);
  if (!exists) initCluster(pg.bin, base, opts.port);
  let started = false;
  if (!serverUp(pg.bin, pgdata)) {
    log(`starting PostgreSQL ${pg.version} on 127.0.0.1:${opts.port}`);
    const settings = Object.entries({ ...SERVER_SETTINGS, ...opts.settings }).map(([name, value]) =>
      `-c ${name}=${value}`
    );
    const serverOptions = [`-p ${opts.port}`, ...settings].join(" ");
    const serverLog = path.join(base, "postgres.log");
    const logged = sizeOf(serverLog);
    const res = pgctl(pg.bin, pgdata, ["start", "-w", "-t", "60", "-o", serverOptions, "-l", serverLog], {
      allowFail: true,
    });
    // pg_ctl only says "Examine the log output": the reason (a port in use, say) is in the server's log.
    if (res.status !== 0) {
      throw new Error(
        `PostgreSQL did not start on 127.0.0.1:${opts.port}; ${serverLog} says:\n${logSince(serverLog, logged)}`,
      );
    }
    started = true;
  }
  bootstrap(opts);
  if (opts.migrate !== false) push(opts);
  const poolerPort = opts.poolerPort ?? pooler.configuredPort(base);
  let pool = null;
  try {
    pool = poolerPort ? pooler.start({ base, port: poolerPort, dbPort: opts.port }) : null;
  } catch (err) {
    if (started) pgctl(pg.bin, pgdata, ["stop", "-m", "fast", "-w"], { allowFail: true }); // nothing left running
    throw err;
  }
  if (pool?.started) log(`starting the transaction pooler (PgBouncer) on 127.0.0.1:${pool.port}`);
  return {
    started,
    url: dbUrl(opts),
    pgdata,
    pooler: pool && { started: pool.started, url: pooler.poolerUrl(pool.port), port: pool.port },
  };
}

/** The running pooler's process id, or null (for a benchmark's CPU accounting). */
export function poolerPid(opts = defaults()) {
  return pooler.runningPid(cluster(opts).base);
}

/** Stops the cluster's pooler alone (the stack stops it so when it started the pooler but not the server). */
export function stopPooler(opts = defaults()) {
  return pooler.stop(cluster(opts).base);
}

export function stop(opts = defaults()) {
  const pg = pgBinDir();
  if (!pg) return false;
  const { base, pgdata, exists } = cluster(opts);
  if (pooler.stop(base)) log("stopped the transaction pooler");
  if (!exists || !serverUp(pg.bin, pgdata)) return false;
  log("stopping PostgreSQL");
  pgctl(pg.bin, pgdata, ["stop", "-m", "fast", "-w"]);
  return true;
}

/** Stops the cluster and deletes its data: the next `start` begins from an empty database. */
export function destroy(opts = defaults()) {
  stop(opts);
  fs.rmSync(dataDir(opts.dir), { recursive: true, force: true });
}

/** Stops the server immediately, as a crash would (for fault tests); `start` recovers it. */
export function kill(opts = defaults()) {
  pgctl(pgBinDir().bin, cluster(opts).pgdata, ["stop", "-m", "immediate", "-w"], { allowFail: true });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const cmd = process.argv[2];
  const opts = defaults();
  try {
    if (cmd === "start") {
      const poolerPort = opts.poolerPort ?? pooler.configuredPort(cluster(opts).base) ?? DEFAULT_POOLER_PORT;
      const { url, pooler: pool } = start({ ...opts, poolerPort });
      process.stdout.write(`${url}\n${pool ? `${pool.url}\n` : ""}`);
    } else if (cmd === "stop") stop(opts);
    else if (cmd === "status") process.stdout.write(isRunning(opts) ? "running\n" : "stopped\n");
    else if (cmd === "url") process.stdout.write(`${dbUrl(opts)}\n`);
    else if (cmd === "push") push(opts);
    else {
      process.stderr.write("usage: node scripts/db.mjs start|stop|status|url|push\n");
      process.exit(2);
    }
  } catch (err) {
    process.stderr.write(`[db] ${err.message}\n`);
    process.exit(1);
  }
}
