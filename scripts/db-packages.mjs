// The Debian packages the local stack runs on (PostgreSQL, pg_cron, pgTAP and pg_prove, the
// transaction pooler), and where the newest installed PostgreSQL is: for scripts/db.mjs,
// which installs what is missing when run as root and otherwise says what to install.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import * as pooler from "./pooler.mjs";

const isRoot = process.getuid?.() === 0;
const PACKAGES = (
  v,
) => [
  `postgresql-${v}`,
  `postgresql-${v}-cron`,
  `postgresql-${v}-pgtap`,
  "libtap-parser-sourcehandler-pgtap-perl",
  pooler.PACKAGE,
];

/** The newest installed PostgreSQL: its major version and bin folder, or null. */
export function pgBinDir() {
  const base = "/usr/lib/postgresql";
  const versions = fs.existsSync(base)
    ? fs.readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))
    : [];
  return versions.length ? { version: versions[0], bin: path.join(base, versions[0], "bin") } : null;
}

function missingPackages() {
  const pg = pgBinDir();
  const v = pg?.version ?? "15";
  const missing = [];
  if (!pg) return { version: v, missing: PACKAGES(v) };
  if (!fs.existsSync(`/usr/lib/postgresql/${v}/lib/pg_cron.so`)) missing.push(`postgresql-${v}-cron`);
  if (!fs.existsSync(`/usr/share/postgresql/${v}/extension/pgtap.control`)) missing.push(`postgresql-${v}-pgtap`);
  if (spawnSync("pg_prove", ["--version"]).status !== 0) missing.push("libtap-parser-sourcehandler-pgtap-perl");
  if (!pooler.installed()) missing.push(pooler.PACKAGE);
  return { version: v, missing };
}

/** Installs the Debian packages the local stack needs when root; otherwise says exactly what to run. */
export function ensurePackages() {
  const { missing } = missingPackages();
  if (missing.length === 0) return pgBinDir();
  const cmd = `apt-get update && apt-get install -y ${missing.join(" ")}`;
  if (!isRoot) {
    throw new Error(`missing system packages: ${missing.join(", ")}\nInstall them with:\n  sudo sh -c '${cmd}'`);
  }
  log(`installing ${missing.join(" ")}`);
  run("sh", ["-c", `DEBIAN_FRONTEND=noninteractive ${cmd}`], { stdio: ["ignore", "inherit", "inherit"] });
  const after = missingPackages();
  if (after.missing.length) throw new Error(`still missing after install: ${after.missing.join(", ")}`);
  return pgBinDir();
}

function log(msg) {
  process.stderr.write(`[db] ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { encoding: "utf8", ...opts });
  if (res.error) throw res.error;
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${res.status}`);
  return res;
}
