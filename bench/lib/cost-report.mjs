// The markdown report of bench/cost.mjs: per-request costs side by side with
// connect-pg-simple, issue 29's targets, vacuum, memory and latency at scale.
import os from "node:os";
import { WORKLOADS } from "./workloads.mjs";

const fmt = (n, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "—";
const ratio = (n) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : "—");
const mib = (bytes) => `${fmt(bytes / 2 ** 20, 1)} MiB`;
const mark = (ok) => (ok ? "✅" : "❌");
const LABEL = { "connect-pg-simple": "connect-pg-simple", "store-pg": "this store (pg)" };

function clientLabel(cell) {
  return `${LABEL[cell.clientId]}${cell.touchAfter ? `, touchAfter ${cell.touchAfter} s` : ""}`;
}

function title(id) {
  return WORKLOADS.find((w) => w.id === id).title;
}

/** connect-pg-simple's cell for a cell (the plain mix for the touchAfter mix). */
function baseline(cells, cell) {
  const w = WORKLOADS.find((x) => x.id === cell.workloadId);
  return cells.find((c) =>
    c.clientId === "connect-pg-simple" && c.workloadId === (w.baseline ?? w.id) && c.concurrency === cell.concurrency
  );
}

function requestsTables(cells) {
  const lines = [
    "## Per request",
    "",
    "| workload | C | client | requests/s | WAL bytes | WAL records' bytes | full-page images' bytes (count per 1,000) | row versions | HOT share of updates | statement time µs | statements | database CPU µs | app CPU µs |",
    "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
  ];
  for (const c of cells) {
    lines.push(
      `| ${title(c.workloadId)} | ${c.concurrency} | ${clientLabel(c)} | ${fmt(c.requestsPerSecond)} | ${
        fmt(c.walBytes)
      } | ${fmt(c.walRecordBytes)} | ${fmt(c.walFpiBytes)} (${fmt(c.fullPageImages * 1000)}) | ${
        fmt(c.rowVersions, 2)
      } | ${Number.isFinite(c.hotShare) ? `${fmt(c.hotShare * 100)}%` : "—"} | ${fmt(c.execMicros, 1)} | ${
        fmt(c.statements, 2)
      } | ${fmt(c.dbCpuMicros, 1)} | ${fmt(c.appCpuMicros, 1)} |`,
    );
  }
  lines.push(
    "",
    "## This store's cost over connect-pg-simple's",
    "",
    "| workload | C | client | WAL bytes | WAL records' bytes | statement time | database CPU | app CPU |",
    "|---|--:|---|--:|--:|--:|--:|--:|",
  );
  for (const c of cells.filter((x) => x.clientId !== "connect-pg-simple")) {
    const b = baseline(cells, c);
    // A read-only run writes a few bytes of WAL at most (a hint bit, a prune): no ratio of those.
    const r = (key) => (key.startsWith("wal") && b[key] < 50 ? "—" : ratio(c[key] / b[key]));
    lines.push(
      `| ${title(c.workloadId)} | ${c.concurrency} | ${clientLabel(c)} | ${r("walBytes")} | ${r("walRecordBytes")} | ${
        r("execMicros")
      } | ${r("dbCpuMicros")} | ${r("appCpuMicros")} |`,
    );
  }
  return lines;
}

function targets(report) {
  const rows = [];
  const cells = report.cells ?? [];
  const at = (w, client, c, touchAfter = 0) =>
    cells.find((x) =>
      x.workloadId === w && x.clientId === client && x.concurrency === c && x.touchAfter === touchAfter
    );
  const check = (name, cell, key, limit) => {
    if (!cell) return;
    const value = cell[key] / baseline(cells, cell)[key];
    rows.push(`| ${name} | ≤ ${limit}× | ${ratio(value)} | ${mark(value <= limit)} |`);
  };
  check("WAL bytes per request, request mix, touchAfter", at("mix-touchafter", "store-pg", 8, 600), "walBytes", 0.5);
  check("WAL bytes per request, request mix", at("mix", "store-pg", 8), "walBytes", 0.8);
  check(
    "WAL records' bytes per request (full-page images aside), request mix, touchAfter",
    at("mix-touchafter", "store-pg", 8, 600),
    "walRecordBytes",
    0.5,
  );
  check(
    "WAL records' bytes per request (full-page images aside), request mix",
    at("mix", "store-pg", 8),
    "walRecordBytes",
    0.8,
  );
  for (const w of ["get", "touch", "set", "mix"]) {
    check(`database time (statement time) per request, ${w}`, at(w, "store-pg", 8), "execMicros", 0.7);
    check(`database CPU per request, ${w}`, at(w, "store-pg", 8), "dbCpuMicros", 0.7);
  }
  check("app CPU per get, C = 8", at("get", "store-pg", 8), "appCpuMicros", 0.7);
  check("app CPU per get, C = 32", at("get", "store-pg", 32), "appCpuMicros", 0.7);
  if (report.memory) {
    const growth = memoryGrowth(report.memory);
    rows.push(`| heap growth after warm-up | < 5 MiB | ${mib(growth)} | ${mark(growth < 5 * 2 ** 20)} |`);
  }
  if (report.scale) {
    for (const op of ["get", "set"]) {
      for (const q of ["p50", "p99"]) {
        const value = report.scale.atLarge[op][q] / report.scale.atSmall[op][q];
        rows.push(
          `| ${op} ${q} at ${fmt(report.scale.rows)} rows over ${fmt(report.scale.small)} | ≤ 1.2× | ${
            ratio(value)
          } | ${mark(value <= 1.2)} |`,
        );
      }
    }
  }
  if (!rows.length) return [];
  return ["## Targets (issue 29)", "", "| target | limit | measured | met |", "|---|--:|--:|:-:|", ...rows];
}

function memoryGrowth(memory) {
  return memory.samples.at(-1).heapUsed - memory.samples[0].heapUsed;
}

function vacuumTable(vacuum) {
  const lines = [
    "## After 1M touches (default autovacuum)",
    "",
    "| client | sessions | touches/s | HOT share | dead tuples right after | autovacuums | dead tuples a minute later | table before → after | indexes before → after |",
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
  ];
  for (const v of vacuum) {
    const upd = v.after.n_tup_upd - v.before.n_tup_upd;
    const hot = (v.after.n_tup_hot_upd - v.before.n_tup_hot_upd) / upd;
    lines.push(
      `| ${LABEL[v.clientId]} | ${fmt(v.live)} | ${fmt(v.touches / v.seconds)} | ${fmt(hot * 100)}% | ${
        fmt(v.after.n_dead_tup)
      } | ${fmt(v.later.autovacuum_count - v.before.autovacuum_count)} | ${fmt(v.later.n_dead_tup)} | ${
        mib(v.before.table_bytes)
      } → ${mib(v.later.table_bytes)} | ${mib(v.before.index_bytes)} → ${mib(v.later.index_bytes)} |`,
    );
  }
  return lines;
}

function memoryTable(memory) {
  return [
    "## The store's heap (touchAfter mix, 100k sessions, C = 32, after a forced GC)",
    "",
    `${fmt(memory.requests)} requests in ${fmt(memory.seconds)} s after a warm-up of ${
      fmt(memory.samples[0].requests)
    }.`,
    "",
    "| requests | heap used |",
    "|--:|--:|",
    ...memory.samples.map((s) => `| ${fmt(s.requests)} | ${mib(s.heapUsed)} |`),
    "",
    `Growth after warm-up: ${mib(memoryGrowth(memory))}.`,
  ];
}

function scaleTable(scale) {
  const row = (label, m) =>
    ["get", "set"].map((op) =>
      `| ${label} | ${op} | ${fmt(m[op].opsPerSec)} | ${m[op].p50.toFixed(2)} | ${m[op].p99.toFixed(2)} |`
    );
  return [
    "## Latency at scale (this store, pg, C = 8, two 5 s windows)",
    "",
    `Filled from ${fmt(scale.small)} to ${fmt(scale.count)} rows in ${fmt(scale.fillSeconds)} s; ` +
    `the table with its indexes is ${mib(scale.totalBytes)}, this machine's memory ${
      fmt(os.totalmem() / 2 ** 30, 1)
    } GiB. ` +
    `Gets read random sessions of the ${fmt(scale.small)} in use (the rest idle, as in a large table most are), ` +
    "then, in the last row, of any row of the table; sets write new sessions.",
    "",
    "| rows | operation | ops/s | p50 ms | p99 ms |",
    "|--:|---|--:|--:|--:|",
    ...row(fmt(scale.small), scale.atSmall),
    ...row(fmt(scale.count), scale.atLarge),
    ...(scale.anyRow ? row(`${fmt(scale.count)}, gets of any row`, scale.anyRow).slice(0, 1) : []),
  ];
}

export function renderCost(report) {
  const s = report.settings;
  const lines = [
    `# Cost per request: ${report.when.slice(0, 10)}`,
    "",
    `\`${report.command}\` · ${report.when}`,
    "",
    "## Machine and settings",
    "",
    `${os.availableParallelism()} CPUs (${os.cpus()[0]?.model ?? "unknown"}), ${fmt(os.totalmem() / 2 ** 30, 1)} GiB; ${
      s.version.split(" on ")[0]
    }, wal_level = ${s.wal_level}${
      s.wal_level === "logical" ? " (hosted Supabase's)" : " (not hosted Supabase's: `--wal-level replica`)"
    }, full_page_writes ${s.fpw}, ` +
    `checkpoint_timeout ${s.checkpoint_timeout}, shared_buffers ${s.shared_buffers}; Node ${process.version}. ` +
    `Load average (1 min) ${fmt(report.load[0], 2)} at the start, ${fmt(report.load[1], 2)} at the end.`,
    "",
  ];
  const method = [
    `- Every cell starts from the same state: ${fmt(report.live)} live sessions of ~1.2 KB in each store's table, ` +
    "vacuumed, then a checkpoint, so each cell pays the full-page images of the pages it dirties first.",
    `- Then ${fmt(report.requests)} requests from C callers (closed loop; opening the C connections included, ` +
    "no warm-up: a pool's backends report their row counts as they exit, so a warm-up's would be counted); " +
    `each figure is the median of ${report.rounds} rounds (the order of cells reversed every other round).`,
    "- WAL bytes: `pg_current_wal_lsn()` difference, split by `pg_waldump --stats` into the records' bytes and the " +
    "full-page images' (their count from `pg_stat_wal.wal_fpi`); row versions: " +
    "inserted + updated + deleted rows of the client's table (`pg_stat_user_tables`), HOT share from `n_tup_hot_upd`.",
    "- Statement time: `pg_stat_statements.total_exec_time` of the client's role (top-level statements; " +
    "planning is not in it). Database CPU: user + system time of every server process (`/proc`), " +
    "the walwriter, checkpointer and autovacuum included. App CPU: this Node process's `process.cpuUsage()`.",
    "- Mix rows count requests (a get, then a touch for 90% or a set of the modified session for 10%).",
    "",
  ];
  if (report.cells) lines.push(...method, ...targets(report), "", ...requestsTables(report.cells), "");
  else lines.push(...targets(report), "");
  if (report.vacuum) lines.push(...vacuumTable(report.vacuum), "");
  if (report.memory) lines.push(...memoryTable(report.memory), "");
  if (report.scale) lines.push(...scaleTable(report.scale), "");
  return `${lines.join("\n")}\n`;
}
