// `npm start` and `npm test` on a Node this project supports (package.json `engines`). On an
// older one (Node 20 is end of life, and supabase-js 2.110+ declares Node 22) they do not
// run with warnings: they run again on the newest pinned runtime (scripts/runtimes.mjs),
// which npm installs into .local/runtimes/; where it cannot, they stop at once and say what
// to install.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { root } from "./db.mjs";
import { NODE_RUNTIMES, nodeRuntime } from "./runtimes.mjs";

const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
/** The oldest supported Node major, from package.json's `engines.node` (">=22"). */
export const MIN_NODE_MAJOR = Number(/^>=\s*(\d+)/.exec(manifest.engines.node)?.[1]);

/**
 * Returns at once on a supported Node. Otherwise runs this script (same arguments) on the
 * newest pinned runtime, forwards the signals that stop it, and exits with its exit code;
 * never returns then.
 */
export async function onSupportedNode(label) {
  if (Number(process.versions.node.split(".")[0]) >= MIN_NODE_MAJOR) return;
  const newest = Math.max(...Object.keys(NODE_RUNTIMES).map(Number));
  const say = (line) => process.stderr.write(`[${label}] ${line}\n`);
  say(
    `Node ${process.versions.node} is older than this project supports (engines: node ${manifest.engines.node}); ` +
      `running on Node ${NODE_RUNTIMES[newest]} instead (installed by npm into .local/runtimes/ if missing)`,
  );
  let node;
  try {
    node = nodeRuntime(newest);
  } catch (err) {
    say(err.message);
    say(`install Node ${MIN_NODE_MAJOR} or later (for example Node ${newest} LTS), then run it again`);
    process.exit(1);
  }
  const child = spawn(node, [...process.execArgv, process.argv[1], ...process.argv.slice(2)], { stdio: "inherit" });
  // A Ctrl-C in a terminal reaches both processes; a signal sent to this one alone is passed on.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  const code = await new Promise((resolve) => {
    child.on("error", (err) => {
      say(err.message);
      resolve(1);
    });
    child.on("exit", (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
  });
  process.exit(code);
}
