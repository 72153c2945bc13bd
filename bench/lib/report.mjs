// The markdown report: machine, settings, one table per workload, the issue's targets
// checked against this run, cleanup at scale and memory.
import os from "node:os";

const fmt = (n, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "—";
const ms = (n) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n.toFixed(1)) : "—");
const ratio = (n) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : "—");
const mark = (ok) => (ok ? "✅" : "❌");

export function machine({ pgVersion }) {
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryGiB: os.totalmem() / 2 ** 30,
    pgVersion,
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
  };
}

/** Finds the row of `client` for a workload and concurrency. */
function find(rows, workload, concurrency, client) {
  return rows.find((r) => r.workload === workload && r.concurrency === concurrency && r.client === client);
}

/** The rows each row is compared with: connect-pg-simple (same or baseline workload) and pgbench with the same SQL. */
function references(rows, workloads, row) {
  const w = workloads.find((x) => x.id === row.workload);
  const cps = find(rows, w.baseline ?? w.id, row.concurrency, "connect-pg-simple");
  const pgbench = row.pgbench ? find(rows, row.workload, row.concurrency, `pgbench:${row.pgbench}`) : undefined;
  return { cps, pgbench };
}

function table(rows, workloads, workload) {
  const lines = [
    "| C | client | ops/s (median) | rounds' ops/s | p50 ms | p99 ms | × connect-pg-simple | × pgbench same SQL | round trips/op | rows written/op | client CPU µs/op |",
    "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
  ];
  for (const row of rows.filter((r) => r.workload === workload.id)) {
    const { cps, pgbench } = references(rows, workloads, row);
    const isPgbench = row.client.startsWith("pgbench:");
    lines.push(
      `| ${row.concurrency} | ${row.label} | ${fmt(row.opsPerSec)} | ${
        (row.roundOpsPerSec ?? []).map((n) => fmt(n)).join(" / ")
      } | ` +
        `${ms(row.p50)} | ${ms(row.p99)} | ` +
        `${ratio(cps ? row.opsPerSec / cps.opsPerSec : NaN)} | ` +
        `${isPgbench ? "—" : ratio(pgbench ? row.opsPerSec / pgbench.opsPerSec : NaN)} | ` +
        `${Number.isFinite(row.roundTripsPerOp) ? row.roundTripsPerOp.toFixed(2) : "—"} | ` +
        `${Number.isFinite(row.writesPerOp) ? row.writesPerOp.toFixed(2) : "—"} | ${fmt(row.cpuMicrosPerOp)} |`,
    );
  }
  return lines.join("\n");
}

/** Issue 18's targets: the pg backend's ops/s over connect-pg-simple's, by workload and C. */
function needed(w, c) {
  if (w.touchAfter) return 3;
  if (c === 1) return 1.2;
  if (c === 8) return w.id === "get" ? 2 : 1.5;
  return w.id === "get" ? 2.5 : 2;
}

/** Per workload, the store's ratio to connect-pg-simple at each C side by side (pg backend, supabase-js for reference). */
function sideBySide(rows, workloads, concurrencies) {
  const out = [
    `| workload | client | ${concurrencies.map((c) => `C = ${c}`).join(" | ")} |`,
    `|---|---|${concurrencies.map(() => "--:").join("|")}|`,
  ];
  for (const w of workloads) {
    for (
      const [client, name] of [["store-pg", "pg backend"], [
        "store-supabase-js",
        "supabase-js via the local gateway (reference)",
      ]]
    ) {
      const cells = concurrencies.map((c) => {
        const row = find(rows, w.id, c, client);
        const { cps } = row ? references(rows, workloads, row) : {};
        return row && cps
          ? `${ratio(row.opsPerSec / cps.opsPerSec)} (${fmt(row.opsPerSec)} / ${fmt(cps.opsPerSec)})`
          : "—";
      });
      if (cells.some((c) => c !== "—")) out.push(`| ${w.title} | ${name} | ${cells.join(" | ")} |`);
    }
  }
  return out.join("\n");
}

function targets(rows, workloads, concurrencies) {
  const out = ["| target | C | measured | met |", "|---|--:|---|:-:|"];
  const add = (target, c, measured, ok) => out.push(`| ${target} | ${c} | ${measured} | ${mark(ok)} |`);
  for (const w of workloads) {
    for (const c of concurrencies) {
      const store = find(rows, w.id, c, "store-pg");
      if (!store) continue;
      const { cps, pgbench } = references(rows, workloads, store);
      if (!cps || !pgbench) continue;
      const vsCps = store.opsPerSec / cps.opsPerSec;
      const needCps = needed(w, c);
      add(
        `${w.title}: pg backend ≥ ${needCps}× connect-pg-simple${w.baseline ? ` (${w.baseline})` : ""}`,
        c,
        ratio(vsCps),
        vsCps >= needCps,
      );
      const unprepared = find(rows, w.id, c, "store-pg-unprepared");
      if (unprepared) {
        const r = unprepared.opsPerSec / cps.opsPerSec;
        add(`${w.title}: unprepared (pooler mode) beats connect-pg-simple`, c, ratio(r), r > 1);
      }
      if (w.touchAfter) {
        add(
          `${w.title}: rows written per request ≈ 0.10, ≤ 0.12 (only the 10% sets write)`,
          c,
          store.writesPerOp.toFixed(3),
          store.writesPerOp <= 0.12,
        );
        add(
          `${w.title}: round trips per request ≈ 1.10, ≤ 1.12 (the get, and the 10% sets)`,
          c,
          store.roundTripsPerOp.toFixed(3),
          store.roundTripsPerOp <= 1.12,
        );
      }
    }
  }
  return out.join("\n");
}

function relaxedGain(rows, workloads, concurrencies) {
  const out = ["| workload | C | prepared ops/s | relaxedDurability ops/s | gain |", "|---|--:|--:|--:|--:|"];
  for (const w of workloads) {
    for (const c of concurrencies) {
      const base = find(rows, w.id, c, "store-pg");
      const relaxed = find(rows, w.id, c, "store-pg-relaxed");
      if (base && relaxed) {
        out.push(
          `| ${w.title} | ${c} | ${fmt(base.opsPerSec)} | ${fmt(relaxed.opsPerSec)} | ${
            ratio(relaxed.opsPerSec / base.opsPerSec)
          } |`,
        );
      }
    }
  }
  return out.join("\n");
}

function cleanupSection(c) {
  const row = (name, purge, idle) =>
    `| ${name} | ${fmt(purge.deleted)} | ${purge.seconds.toFixed(1)} | ${fmt(purge.rowsPerSec)} | ${ms(idle.p99)} | ` +
    `${ms(purge.get.p99)} | ${ratio(purge.get.p99 / idle.p99)} | ${mark(purge.get.p99 <= 3 * idle.p99)} |`;
  return [
    `${fmt(c.expired)} expired sessions among ${fmt(c.live)} live ones (each ~1.2 KB, its own Passport user); ` +
    `data loaded in ${c.loadSeconds.toFixed(0)} s and again in ${c.reloadSeconds.toFixed(0)} s. ` +
    `Meanwhile ${c.getters} callers read live sessions through the store (pg backend).`,
    "",
    "| purge | rows deleted | seconds | rows/s | live get p99 idle ms | live get p99 during ms | during / idle | p99 ≤ 3× idle |",
    "|---|--:|--:|--:|--:|--:|--:|:-:|",
    row(`cleanup_expired_sessions(${fmt(c.batch)}) in a loop, one transaction per call`, c.batched, c.batchedIdle),
    row("one unbatched `DELETE ... WHERE expires_at < now()`", c.unbatched, c.unbatchedIdle),
    "",
    `After each purge: ${c.batchedAfter.expired} / ${c.unbatchedAfter.expired} expired rows left, ` +
    `${fmt(c.batchedAfter.live)} / ${fmt(c.unbatchedAfter.live)} live rows intact.`,
  ].join("\n");
}

function limitsSection(l) {
  return [
    `${fmt(l.sessions)} sessions (90% live, 10% expired; ${fmt(l.users)} Passport users), loaded in ` +
    `${l.loadSeconds.toFixed(0)} s. Each operation through the store's supabase-js backend (or supabase-js .rpc()) ` +
    `on the local API with hosted limits: max rows 1000, service_role under authenticator's ` +
    `${l.timeoutMs / 1000} s statement_timeout. "Slowest call" is the slowest single HTTP round trip: the one that ` +
    `must stay within the timeout.`,
    "",
    "| operation | round trips | total ms | slowest call ms | slowest / 8 s | as expected | error |",
    "|---|--:|--:|--:|--:|:-:|---|",
    ...l.rows.map((r) =>
      `| ${r.name} | ${fmt(r.roundTrips)} | ${fmt(r.ms)} | ${fmt(r.slowestMs)} | ` +
      `${(r.slowestMs / l.timeoutMs * 100).toFixed(1)}% | ${mark(r.ok)} | ${r.error ?? ""} |`
    ),
  ].join("\n");
}

function memorySection(m) {
  const mb = (b) => `${(b / 2 ** 20).toFixed(1)} MB`;
  // A leak grows the second half of the run as much as the first; warm-up growth (heap
  // sizing, compiled code, pool buffers) happens early.
  const secondHalf = (m.rss.end - m.rss.mid) / m.rss.mid;
  return [
    `${m.seconds} s of the request mix with touchAfter (pg backend, C = ${m.concurrency}, 10% of requests save a new ` +
    `session so that the session ids keep growing), ${fmt(m.requests)} requests, RSS sampled every second after a ` +
    `${m.warmupSeconds} s warm-up. The store's only cache (touchAfter's expiry cache) is bounded to ` +
    `${fmt(m.cacheBound)} sessions (least recently used evicted).`,
    "",
    "| | start | middle | end | max |",
    "|---|--:|--:|--:|--:|",
    `| RSS | ${mb(m.rss.start)} | ${mb(m.rss.mid)} | ${mb(m.rss.end)} | ${mb(m.rss.max)} |`,
    `| V8 heap used | ${mb(m.heap.start)} | ${mb(m.heap.mid)} | ${mb(m.heap.end)} | ${mb(m.heap.max)} |`,
    "",
    `RSS over the second half: ${secondHalf >= 0 ? "+" : ""}${(secondHalf * 100).toFixed(1)}% ` +
    `${mark(secondHalf <= 0.05)} (flat: within 5%; over the whole run ` +
    `${((m.rss.end - m.rss.start) / m.rss.start * 100).toFixed(1)}%).`,
  ].join("\n");
}

/** pgbench variants next to the main rows of the same workload and concurrency. */
function profileSection(rows, profiled, workloads) {
  const out = [
    "| workload | C | statements | ops/s | p50 ms | p99 ms | client CPU µs/op |",
    "|---|--:|---|--:|--:|--:|--:|",
  ];
  for (const w of workloads) {
    const extra = profiled.filter((r) => r.workload === w.id);
    if (extra.length === 0) continue;
    const c = extra[0].concurrency;
    const same = rows.filter((r) => r.workload === w.id && r.concurrency === c && r.client !== "store-supabase-js");
    for (const r of [...same, ...extra]) {
      out.push(
        `| ${w.title} | ${c} | ${r.label} | ${fmt(r.opsPerSec)} | ${ms(r.p50)} | ${ms(r.p99)} | ${
          fmt(r.cpuMicrosPerOp)
        } |`,
      );
    }
  }
  return out.join("\n");
}

export function render(
  { title, when, machine: m, settings, workloads, concurrencies, rows, profiled, cleanup, limits, memory, notes },
) {
  const parts = [
    `# ${title}`,
    "",
    `${when} · \`${settings.command}\``,
    "",
    "## Machine",
    "",
    `${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB.toFixed(1)} GiB memory, ${m.platform}; ` +
    `PostgreSQL ${m.pgVersion} (local cluster of scripts/db.mjs, loopback TCP, fsync on); Node ${m.node}. ` +
    `Load average (1 min) at the start of the run ${settings.loadAtStart.toFixed(2)}, at the end ` +
    `${os.loadavg()[0].toFixed(2)}: anything else running on the machine competes with the benchmark.`,
    "",
    "## Settings",
    "",
    `- Session: ${settings.payloadBytes} bytes of JSON, express-session-shaped (cookie with a 1-day maxAge, ` +
    `Passport user, CSRF secret, cart, flags); ${fmt(settings.live)} live sessions in each store's table.`,
    `- Closed loop: C callers each start their next operation when the last one settles; ` +
    `each row is ${settings.rounds} round(s) of a ${settings.warmupMs / 1000} s warm-up then a ` +
    `${
      settings.windowMs / 1000
    } s measuring window, the clients of one workload and C taking turns, the order reversed ` +
    `every other round; ops/s is the median of the rounds (p50/p99 over all of them). ` +
    `Node clients get a pg Pool of size C; pgbench runs \`-M prepared -c C -j min(C, CPUs)\`.`,
    "- Before every row: sessions created by earlier `set` rows deleted, `VACUUM`, `CHECKPOINT`.",
    "- Mix rows count requests (a get plus a touch or a set), not single operations.",
    "- Client CPU µs/op: this Node process's user + system CPU time in the window, per operation.",
    "- Round trips/op: queries the client's pool sent, per operation (warm-up included). Rows written/op: " +
    "inserted + updated + deleted rows of the session tables (pg_stat_user_tables), per operation.",
    "- `× pgbench`: against pgbench running the same statements (the store's function calls, or " +
    "connect-pg-simple's raw SQL) with `-M prepared`. The touchAfter mix's pgbench script sends what the " +
    "store sends there: the get, and the set of 10% of requests.",
    ...(notes ?? []).map((n) => `- ${n}`),
    "",
  ];
  if (rows.length) {
    parts.push(
      "## Summary: × connect-pg-simple (this store's ops/s / connect-pg-simple's)",
      "",
      sideBySide(rows, workloads, concurrencies),
      "",
      "## Targets (issue 18)",
      "",
      targets(rows, workloads, concurrencies),
      "",
      "## Results",
      "",
    );
  }
  for (const w of workloads) {
    if (!rows.some((r) => r.workload === w.id)) continue;
    parts.push(`### ${w.title}`, "", table(rows, workloads, w), "");
  }
  if (profiled?.length) {
    parts.push(
      "## Profile: statement form and protocol",
      "",
      "`-M extended` sends unnamed statements (parsed and planned on every call, as connect-pg-simple and the " +
        'store\'s unprepared mode do); `-M prepared` parses once per connection. "Plain SQL" is the body of the ' +
        "store's function sent as a statement, to isolate the PL/pgSQL call's own cost. Client CPU: the Node " +
        "process's CPU time per operation (driver + store), which competes with Postgres for the same cores.",
      "",
      profileSection(rows, profiled, workloads),
      "",
    );
  }
  if (rows.length) {
    parts.push(
      "## Relaxed durability (`relaxedDurability: true`: `synchronous_commit = off` in the store's write transactions)",
      "",
      "A database crash can lose the last moments of session writes (at most about 3 × wal_writer_delay, " +
        "600 ms by default); nothing is corrupted.",
      "",
      relaxedGain(rows, workloads, concurrencies),
      "",
    );
  }
  if (cleanup) parts.push("## Cleanup at scale", "", cleanupSection(cleanup), "");
  if (limits) parts.push("## Table-wide operations within the API's limits", "", limitsSection(limits), "");
  if (memory) parts.push("## Memory", "", memorySection(memory), "");
  return parts.join("\n");
}
