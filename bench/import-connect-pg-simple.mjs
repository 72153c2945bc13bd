#!/usr/bin/env node
// The import rate of `supabase-session-store switch-from-connect-pg-simple import`: a
// connect-pg-simple table (its own table.sql) of ROWS sessions (the benchmark's ~1.2 KB
// express-session-shaped session; 5% expired), imported by the command as an operator runs
// it, then imported again (every row already here: the cost of resuming), and counted by a
// dry run. Its own cluster (BENCH_DB_DIR, default .local/bench-import; BENCH_DB_PORT, default
// 25452), destroyed first; writes bench/results/<date>-import-connect-pg-simple.md.
//
//   npm run build && node bench/import-connect-pg-simple.mjs [--rows 100000] [--batch-size 1000]
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import * as db from "../scripts/db.mjs";
import { machine } from "./lib/report.mjs";
import { sessionJson } from "./lib/session.mjs";

const { values } = parseArgs({ options: { rows: { type: "string" }, "batch-size": { type: "string" } } });
const ROWS = Number(values.rows ?? 100_000);
const BATCH = values["batch-size"] ?? "1000";
const bin = path.join(db.root, "bin/supabase-session-store.mjs");
const log = (s) => process.stderr.write(`[bench] ${s}\n`);

function importRun(url, args) {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [bin, "switch-from-connect-pg-simple", "import", "--db-url", url, "--batch-size", BATCH, ...args],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`${error.message}\n${stderr}`));
        const seconds = (performance.now() - started) / 1000;
        const count = (label) => Number(stdout.match(new RegExp(`${label}\\s+(\\d+)`))?.[1]);
        resolve({
          seconds,
          rate: ROWS / seconds,
          imported: count("(?:imported|to import)"),
          held: count("already here"),
          expired: count("expired"),
          stdout,
        });
      },
    );
  });
}

async function main() {
  const loadAtStart = os.loadavg()[0];
  const opts = {
    dir: path.resolve(db.root, process.env.BENCH_DB_DIR ?? ".local/bench-import"),
    port: Number(process.env.BENCH_DB_PORT ?? 25452),
  };
  db.destroy(opts);
  const { url } = db.start(opts);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const { rows: [{ server_version: pgVersion }] } = await admin.query("show server_version");
    const tableSql = fs.readFileSync(path.join(db.root, "node_modules/connect-pg-simple/table.sql"), "utf8");
    await admin.query(tableSql);
    const payload = sessionJson();
    const fill = performance.now();
    // As connect-pg-simple writes them: expire is to_timestamp(epoch) in the connection's TimeZone.
    await admin.query(
      `insert into "session" (sid, sess, expire)
       select 'bench-import-' || lpad(i::text, 19, '0'), $1::json,
              to_timestamp(extract(epoch from now()) + case when i % 20 = 0 then -3600 else 86400 end)
         from generate_series(1, $2::int) as i`,
      [payload, ROWS],
    );
    await admin.query('vacuum analyze "session"');
    log(`${ROWS} rows in "session" in ${((performance.now() - fill) / 1000).toFixed(1)} s`);

    const dry = await importRun(url, ["--dry-run"]);
    log(`dry run: ${dry.rate.toFixed(0)} rows/s`);
    const first = await importRun(url, ["--old-instances-stopped"]);
    log(`import: ${first.rate.toFixed(0)} rows/s`);
    const again = await importRun(url, ["--old-instances-stopped"]);
    log(`second import: ${again.rate.toFixed(0)} rows/s`);
    const stored = Number((await admin.query("select count(*) as n from public.sessions")).rows[0].n);

    const m = machine({ pgVersion });
    const when = new Date().toISOString();
    const row = (name, r) =>
      `| ${name} | ${r.seconds.toFixed(2)} | ${
        Math.round(r.rate).toLocaleString("en")
      } | ${r.imported} | ${r.held} | ${r.expired} |`;
    const report = `# Benchmark: import from connect-pg-simple

${when} · \`npm run build && node bench/import-connect-pg-simple.mjs --rows ${ROWS} --batch-size ${BATCH}\`

## Machine

${m.cpus} CPUs (${m.cpuModel}), ${
      m.memoryGiB.toFixed(1)
    } GiB memory, ${m.platform}; PostgreSQL ${m.pgVersion} (local cluster of scripts/db.mjs, loopback TCP, fsync on); Node ${m.node}. Load average (1 min) at the start of the run ${
      loadAtStart.toFixed(2)
    }, at the end ${os.loadavg()[0].toFixed(2)}: anything else running on the machine competes with the benchmark.

## Settings

- connect-pg-simple's own \`table.sql\`, ${ROWS.toLocaleString("en")} rows of the benchmark's ${
      Buffer.byteLength(payload)
    }-byte session (5% expired), \`vacuum analyze\`d; an empty \`public.sessions\`.
- Each run is the command as an operator runs it (\`switch-from-connect-pg-simple import\`, a new process, batches of ${BATCH}), timed from spawn to exit; rows/s is the table's rows (read, checked, and stored or skipped) per second of that.

## Result

| run | seconds | rows/s | imported (dry run: to import) | already here | expired |
|---|--:|--:|--:|--:|--:|
${row("dry run (counts, writes nothing)", dry)}
${row("import into an empty store", first)}
${row("import again (every row already here: resuming costs this)", again)}

${stored.toLocaleString("en")} rows in \`public.sessions\` afterwards.
`;
    const file = path.join(db.root, "bench", "results", `${when.slice(0, 10)}-import-connect-pg-simple.md`);
    fs.writeFileSync(file, report);
    process.stdout.write(report);
    log(`written to ${path.relative(db.root, file)}`);
  } finally {
    await admin.end();
    db.stop(opts);
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exitCode = 1;
});
