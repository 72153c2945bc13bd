// pgbench with `-M prepared` (or `-M extended`: unnamed statements) running the very statements the Node clients send: the
// store's function calls (as its pg backend words them) and connect-pg-simple's raw
// SQL, so each Node row has a like-for-like Postgres ceiling. Variables come from
// `-D` and are sent as bind parameters, as the drivers do.
//
// This store's table is keyed by the hex SHA-256 of each id, which the store computes in
// Node before its call. pgbench cannot hash on the client, so its statements for this table
// (the store's and the raw ones) send the id and compute the key in the statement itself
// (KEY, keySql of the id): the same statement, one round trip, the same rows, plus one
// SHA-256 of a 19-byte id and its hex encoding on the server per statement. That is about a
// microsecond of database CPU (docs/performance.md has the figures) where the store spends
// as much in Node, on the same two cores here, against a statement that costs tens to
// hundreds of microseconds: these rows stay a like-for-like ceiling, a hair pessimistic for the store's SQL.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pgBinDir } from "../../scripts/db.mjs";
import { keySql, LIVE_SID_BASE, MAX_AGE_MS, NEW_SID_BASE, NEW_SID_SPAN } from "./session.mjs";

const LIVE = `\\set sid ${LIVE_SID_BASE} + random(1, :live)`;
const NEW = `\\set sid ${NEW_SID_BASE} + random(1, ${NEW_SID_SPAN})`;
/** The stored key of the session :sid (see above). */
const KEY = keySql(":sid");

// The store's statements (pg backend) for a call carrying one session, which is what each
// pgbench client (one operation at a time) would make the store send: select * from
// "<schema>".fn($1, ...) for rows, select "<schema>".fn(...) as value for scalars; null
// arguments are sent as NULL.
const STORE = {
  get: `select * from "public".session_get_one(${KEY});`,
  touch: `select "public".session_touch_one(${KEY}, :expires, :touch_after, NULL, true) as value;`,
  set: `select "public".session_save_one(${KEY}, :payload, :expires, NULL, true) as value;`,
};

// connect-pg-simple 10's statements, with its client-side clock as parameters.
const CPS = {
  get: `SELECT sess FROM "session" WHERE sid = :sid AND expire >= to_timestamp(:now_epoch);`,
  touch: `UPDATE "session" SET expire = to_timestamp(:expire_epoch) WHERE sid = :sid RETURNING sid;`,
  set: `INSERT INTO "session" (sess, expire, sid) SELECT :payload, to_timestamp(:expire_epoch), :sid ` +
    `ON CONFLICT (sid) DO UPDATE SET sess=:payload, expire=to_timestamp(:expire_epoch) RETURNING sid;`,
};

/** One pgbench transaction per workload operation (a request, for the mixes). */
function script(sql, workload) {
  switch (workload) {
    case "get":
      return [LIVE, sql.get];
    case "touch":
      return [LIVE, sql.touch];
    case "set":
      return [NEW, sql.set];
    case "mix":
      return [LIVE, "\\set r random(1, 100)", sql.get, "\\if :r <= 90", sql.touch, "\\else", sql.set, "\\endif"];
    case "mix-touchafter":
      // What the store sends when touchAfter spares the touch its round trip: the get,
      // and the set of the 10% of requests that modify the session.
      return [LIVE, "\\set r random(1, 100)", sql.get, "\\if :r > 90", sql.set, "\\endif"];
    default:
      throw new Error(`no pgbench script for workload ${workload}`);
  }
}

// The store functions' bodies as plain statements, for profiling what the function call costs.
const RAW = {
  get: `select s.data, s.expires_at from public.sessions s where s.sid = ${KEY} and s.expires_at > now();`,
  touch: `update public.sessions s set expires_at = :expires where s.sid = ${KEY} and s.destroyed_at is null ` +
    `and s.expires_at > now() and abs(extract(epoch from :expires::timestamptz - s.expires_at)) >= :touch_after;`,
  set: `insert into public.sessions as s (sid, data, expires_at) values (${KEY}, :payload, :expires) ` +
    `on conflict (sid) do update set data = excluded.data, expires_at = excluded.expires_at where s.destroyed_at is null;`,
};

export const FAMILIES = { store: STORE, cps: CPS, raw: RAW };

/** pgbench of the newest installed PostgreSQL (the one scripts/db.mjs runs). */
export function pgbenchPath() {
  const bin = path.join(pgBinDir()?.bin ?? "", "pgbench");
  if (!fs.existsSync(bin)) throw new Error("pgbench not found: install the postgresql package");
  return bin;
}

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`pgbench exited ${code}:\n${out}`))));
  });
}

/**
 * Runs one workload for warmupMs + windowMs with `concurrency` clients and resolves with the
 * sample of the transactions that ran in the last windowMs (from pgbench's per-transaction log).
 */
export async function pgbench(
  { family, mode = "prepared", workload, concurrency, warmupMs, windowMs, port, live, payload, touchAfter },
) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-pgbench-"));
  try {
    const file = path.join(tmp, "script.sql");
    fs.writeFileSync(file, `${script(FAMILIES[family], workload).join("\n")}\n`);
    const now = Date.now();
    const expiresMs = now + MAX_AGE_MS;
    const seconds = Math.ceil((warmupMs + windowMs) / 1000);
    await run(pgbenchPath(), [
      "-n",
      "-M",
      mode,
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-U",
      "postgres",
      "-c",
      String(concurrency),
      "-j",
      String(Math.min(concurrency, os.availableParallelism())),
      "-T",
      String(seconds),
      "-f",
      file,
      "-l",
      `--log-prefix=${path.join(tmp, "tx")}`,
      "-D",
      `live=${live}`,
      "-D",
      `payload=${payload}`,
      "-D",
      `expires=${new Date(expiresMs).toISOString()}`,
      "-D",
      `touch_after=${touchAfter}`,
      "-D",
      `now_epoch=${Math.ceil(now / 1000)}`,
      "-D",
      `expire_epoch=${Math.ceil(expiresMs / 1000)}`,
      "postgres",
    ]);
    return windowFromLogs(tmp, windowMs);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Log lines: client_id transaction_no latency_us script_no epoch_s epoch_us (completion time). */
function windowFromLogs(dir, windowMs) {
  const done = [];
  for (const f of fs.readdirSync(dir).filter((n) => n.startsWith("tx"))) {
    for (const line of fs.readFileSync(path.join(dir, f), "utf8").split("\n")) {
      const p = line.split(" ");
      if (p.length < 6) continue;
      done.push([Number(p[4]) * 1e3 + Number(p[5]) / 1e3, Number(p[2]) / 1e3]);
    }
  }
  if (done.length === 0) throw new Error("pgbench logged no transaction");
  const end = done.reduce((max, [t]) => Math.max(max, t), 0);
  const inWindow = done.filter(([t, lat]) => t - lat >= end - windowMs).map(([, lat]) => lat);
  return { latencies: inWindow, seconds: windowMs / 1000, totalOps: done.length, cpuMicros: NaN };
}
