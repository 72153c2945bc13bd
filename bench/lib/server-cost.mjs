// What the database spends, read from the server itself: WAL written (LSN and pg_stat_wal),
// row versions (pg_stat_user_tables), statement time (pg_stat_statements) and the CPU time of
// every server process (/proc). A snapshot before and after a run of requests gives each as a
// difference; the bench divides by the requests.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const TICKS_PER_SECOND = 100; // Linux USER_HZ, what /proc/<pid>/stat counts in

/** user + system CPU ticks of one process, with its waited-for children's when `children`. */
function processTicks(pid, children) {
  try {
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); utime, stime, cutime, cstime are fields 14-17.
    const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
    return { ppid: Number(fields[1]), ticks: utime + stime + (children ? cutime + cstime : 0) };
  } catch {
    return undefined; // exited meanwhile: its time is in the postmaster's children's time
  }
}

/**
 * CPU seconds used by the cluster so far: the postmaster with the children it has reaped (a
 * backend that exited counts there) plus every live child. Linux only; NaN elsewhere.
 */
export function clusterCpuSeconds(pgdata) {
  if (os.platform() !== "linux") return NaN;
  const postmaster = Number(fs.readFileSync(path.join(pgdata, "postmaster.pid"), "utf8").split("\n")[0]);
  let ticks = processTicks(postmaster, true)?.ticks ?? NaN;
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === postmaster) continue;
    const p = processTicks(entry, false);
    if (p?.ppid === postmaster) ticks += p.ticks;
  }
  return ticks / TICKS_PER_SECOND;
}

/**
 * A snapshot of the server's counters, read through `superuser` (pg_stat_statements of every
 * role, the WAL position). `table` is the session table whose row counts are taken.
 */
export async function snapshot(superuser, { pgdata, table, role = "postgres" }) {
  const { rows: [row] } = await superuser.query(
    `select pg_current_wal_lsn() as lsn,
            w.wal_records, w.wal_fpi, w.wal_bytes,
            t.n_tup_ins, t.n_tup_upd, t.n_tup_hot_upd, t.n_tup_del, t.n_dead_tup,
            (select coalesce(sum(s.total_exec_time), 0) from extensions.pg_stat_statements s
              where s.userid = $2::regrole) as exec_ms,
            (select coalesce(sum(s.calls), 0) from extensions.pg_stat_statements s
              where s.userid = $2::regrole) as calls
       from pg_stat_wal w, pg_stat_user_tables t
      where t.relid = $1::regclass`,
    [table, role],
  );
  return { ...row, cpuSeconds: clusterCpuSeconds(pgdata) };
}

/**
 * The WAL between two positions as pg_waldump --stats counts it: records, the bytes of the
 * records themselves and the bytes of the full-page images they carry. Full-page images are
 * written once per page per checkpoint, so their share depends on the checkpoint interval and
 * on how many distinct pages the traffic dirties; the record bytes are what every request
 * costs whatever the interval.
 */
export function walStats(pgBin, pgdata, startLsn, endLsn) {
  let out;
  try {
    out = execFileSync(
      path.join(pgBin, "pg_waldump"),
      ["-p", path.join(pgdata, "pg_wal"), "-s", startLsn, "-e", endLsn, "--stats"],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
  } catch (err) {
    // A range with no whole record in it (a read-only run writes next to nothing).
    if (/could not find a valid record/.test(err.stderr)) return { records: 0, recordBytes: 0, fpiBytes: 0 };
    throw err;
  }
  const total = out.split("\n").find((l) => l.startsWith("Total"));
  const [records, recordBytes, fpiBytes] = (total?.match(/\d+(?![^[]*\])/g) ?? []).map(Number);
  if (!Number.isFinite(fpiBytes)) throw new Error(`pg_waldump printed no totals:\n${out}`);
  return { records, recordBytes, fpiBytes };
}

/** What happened between two snapshots, per request (`requests` of them). */
export async function perRequest(superuser, before, after, requests, { pgBin, pgdata } = {}) {
  const { rows: [{ wal }] } = await superuser.query("select pg_wal_lsn_diff($1, $2)::float8 as wal", [
    after.lsn,
    before.lsn,
  ]);
  const diff = (key) => (Number(after[key]) - Number(before[key])) / requests;
  const updates = Number(after.n_tup_upd) - Number(before.n_tup_upd);
  const dump = pgBin ? walStats(pgBin, pgdata, before.lsn, after.lsn) : undefined;
  return {
    walBytes: wal / requests,
    walRecordBytes: dump ? dump.recordBytes / requests : NaN,
    walFpiBytes: dump ? dump.fpiBytes / requests : NaN,
    walRecords: diff("wal_records"),
    fullPageImages: diff("wal_fpi"),
    rowVersions: diff("n_tup_ins") + diff("n_tup_upd") + diff("n_tup_del"),
    hotShare: updates > 0 ? (Number(after.n_tup_hot_upd) - Number(before.n_tup_hot_upd)) / updates : NaN,
    execMicros: (diff("exec_ms") * 1000),
    statements: diff("calls"),
    dbCpuMicros: diff("cpuSeconds") * 1e6,
  };
}
