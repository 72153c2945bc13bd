// Files a reader can hold in mind: nothing in src/, scripts/, functions/ or examples/ over
// 300 lines unless ARCHITECTURE.md's "Files a reader can hold in mind" gives the reason.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "../..");
const MAX_LINES = 300;
const CODE = /\.(ts|mjs|cjs|js)$/;

function files(dir) {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : files(rel);
    return CODE.test(entry.name) ? [rel] : [];
  });
}

/** The files that section names, each on a line "- `path`: reason". */
function explained() {
  const text = fs.readFileSync(path.join(root, "ARCHITECTURE.md"), "utf8");
  const section = text.slice(text.indexOf("## Files a reader can hold in mind"));
  return new Set([...section.matchAll(/^- `([^`]+)`: \S.*$/gm)].map((m) => m[1]));
}

test("no file in src/, scripts/, functions/ or examples/ is over 300 lines without a reason in ARCHITECTURE.md", () => {
  const all = ["src", "scripts", "functions", "examples"].flatMap(files);
  assert.ok(all.length > 50, `found only ${all.length} files`);
  const reasons = explained();
  const long = all
    .map((file) => ({ file, lines: fs.readFileSync(path.join(root, file), "utf8").split("\n").length - 1 }))
    .filter(({ file, lines }) => lines > MAX_LINES && !reasons.has(file));
  assert.deepEqual(long, []);
});
