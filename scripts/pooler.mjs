// The local stand-in for Supavisor's transaction mode (hosted port 6543): Debian's PgBouncer
// with `pool_mode = transaction`, in front of the local cluster, its files in the cluster's
// folder. Debian 12's PgBouncer (1.18) tracks no protocol-level prepared statements (that
// came in 1.21), so a named statement fails here as behind a pooler that does not track them,
// and no session state (`set` without `local`, temporary tables, advisory locks) outlives a
// transaction: it is never more forgiving than Supavisor's transaction mode.
//
// Started and stopped by scripts/db.mjs with the database; not a command of its own.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { logSince, sizeOf } from "./processes.mjs";

export const PACKAGE = "pgbouncer";
const BINARY = "/usr/sbin/pgbouncer";
/**
 * Hosted Micro's limits (Supabase's compute table): 200 pooler clients; server connections
 * per user and database kept to 40% of the database's 60, Supabase's advice for a project
 * that also serves its API (PostgREST) from the same database.
 */
export const MAX_CLIENT_CONNECTIONS = 200;
export const POOL_SIZE = 24;

const isRoot = process.getuid?.() === 0;

export function installed() {
  return fs.existsSync(BINARY);
}

function files(base) {
  return {
    ini: path.join(base, "pgbouncer.ini"),
    users: path.join(base, "pgbouncer-users.txt"),
    pid: path.join(base, "pgbouncer.pid"),
    log: path.join(base, "pgbouncer.log"),
  };
}

/** The pooler's connection string: `pgbouncer=true` tells the store (and Prisma) it pools by transaction. */
export function poolerUrl(port, { user = "postgres" } = {}) {
  return `postgresql://${user}:postgres@127.0.0.1:${port}/postgres?pgbouncer=true`;
}

/** The port of the pooler configured in `base`, or null when none was ever configured there. */
export function configuredPort(base) {
  const { ini } = files(base);
  if (!fs.existsSync(ini)) return null;
  const m = fs.readFileSync(ini, "utf8").match(/^listen_port = (\d+)$/m);
  return m ? Number(m[1]) : null;
}

/** The process id of the pooler running for the cluster in `base`, or null. */
export function runningPid(base) {
  const { pid } = files(base);
  let text;
  try {
    text = fs.readFileSync(pid, "utf8");
  } catch (err) {
    // No pid file, or PgBouncer removed it as it exited (stop() polls while it does).
    if (err.code === "ENOENT") return null;
    throw err;
  }
  const n = Number(text.trim());
  if (!Number.isInteger(n) || n <= 0) return null;
  try {
    process.kill(n, 0);
    return n;
  } catch {
    return null;
  }
}

export function isRunning(base) {
  return runningPid(base) !== null;
}

// Clients log in with the cluster's well-known development password (SCRAM, as Supavisor
// requires a password); PgBouncer then reaches the loopback-only, trust-auth cluster as
// the same user.
function config({ base, port, dbPort }) {
  const f = files(base);
  return `;; supabase-session-store local stack: Supavisor transaction mode's stand-in
[databases]
postgres = host=127.0.0.1 port=${dbPort} dbname=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = ${f.users}
pool_mode = transaction
max_client_conn = ${MAX_CLIENT_CONNECTIONS}
default_pool_size = ${POOL_SIZE}
pidfile = ${f.pid}
logfile = ${f.log}
log_connections = 0
log_disconnections = 0
`;
}

/**
 * Waits (synchronously, as scripts/db.mjs's start is) until the pooler answers on `port`; fails at once,
 * with what PgBouncer logged since `logged` bytes, when it has exited (a port in use, say).
 */
function waitForPort(base, port, logged, timeoutMs) {
  const { log } = files(base);
  const said = () => `; ${log} says:\n${logSince(log, logged)}`;
  const started = Date.now();
  const deadline = started + timeoutMs;
  let seen = false;
  // pg_isready (PostgreSQL's client tools) answers for anything speaking the protocol.
  while (spawnSync("pg_isready", ["-q", "-h", "127.0.0.1", "-p", String(port), "-t", "1"]).status !== 0) {
    // The daemon writes its pid file a moment after `-d` returns: gone means gone once seen, or after a grace.
    if (isRunning(base)) seen = true;
    else if (seen || Date.now() - started > 2_000) {
      throw new Error(`the pooler (PgBouncer) exited before it listened on port ${port}${said()}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`the pooler is not answering on port ${port} after ${timeoutMs} ms${said()}`);
    }
    spawnSync("sleep", ["0.05"]);
  }
}

function asOwner(args) {
  // PgBouncer refuses to run as root, as PostgreSQL does.
  const [cmd, argv] = isRoot ? ["runuser", ["-u", "postgres", "--", BINARY, ...args]] : [BINARY, args];
  const res = spawnSync(cmd, argv, { encoding: "utf8" });
  if (res.error) throw res.error;
  if (res.status !== 0) throw new Error(`pgbouncer exited ${res.status}: ${res.stdout}${res.stderr}`);
}

/**
 * Starts (or reuses) the pooler of the cluster in `base` on `port` (a running one is
 * reused on its own port). Returns whether it started it, and its port.
 */
export function start({ base, port, dbPort }) {
  if (!installed()) throw new Error(`the pooler needs the ${PACKAGE} package (apt-get install -y ${PACKAGE})`);
  const f = files(base);
  const running = isRunning(base);
  if (running) return { started: false, port: configuredPort(base) };
  fs.writeFileSync(f.ini, config({ base, port, dbPort }), { mode: 0o600 });
  fs.writeFileSync(f.users, '"postgres" "postgres"\n', { mode: 0o600 });
  if (isRoot) spawnSync("chown", ["postgres:postgres", f.ini, f.users]);
  fs.rmSync(f.pid, { force: true });
  const logged = sizeOf(f.log);
  asOwner(["-d", "-q", f.ini]);
  waitForPort(base, port, logged, 10_000);
  return { started: true, port };
}

/** Stops the pooler of the cluster in `base` if one runs; waits until it has exited. */
export function stop(base) {
  const pid = runningPid(base);
  if (pid === null) return false;
  // SIGTERM: PgBouncer's immediate shutdown (closes its client and server connections).
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (isRunning(base)) {
    if (Date.now() > deadline) {
      process.kill(pid, "SIGKILL");
      break;
    }
    spawnSync("sleep", ["0.05"]);
  }
  return true;
}
