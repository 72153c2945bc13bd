// Child processes for end-to-end tests: start one (scripts/processes.mjs, as the stack
// and `npm start` do) and list process trees (to prove nothing is left behind).
import { execFileSync } from "node:child_process";

export { startProcess } from "../../../scripts/processes.mjs";

/** Every process now running whose ancestry includes `pid` (not `pid` itself). */
export function descendants(pid) {
  const table = execFileSync("ps", ["-e", "-o", "pid=,ppid="], { encoding: "utf8" })
    .trim().split("\n").map((line) => line.trim().split(/\s+/).map(Number));
  const found = [];
  let frontier = [pid];
  while (frontier.length) {
    const children = table.filter(([, ppid]) => frontier.includes(ppid)).map(([p]) => p);
    found.push(...children);
    frontier = children;
  }
  return found;
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
