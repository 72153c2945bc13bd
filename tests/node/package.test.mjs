// What users install: the packed tarball, resolved through its `exports` map from a
// separate project, by `import` and by `require`, with the type declarations the map
// names. Catches a file left out of `files` or an export condition pointing nowhere.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { root } from "../../scripts/db.mjs";

let project;
let files;

before(() => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), "session-store-package-"));
  // --ignore-scripts: the suite has just built dist/; prepack would only rebuild it.
  const [packed] = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", project], {
      cwd: root,
      encoding: "utf8",
    }),
  );
  files = packed.files.map((f) => f.path);
  const target = path.join(project, "node_modules", "supabase-session-store");
  fs.mkdirSync(target, { recursive: true });
  execFileSync("tar", ["-xzf", path.join(project, packed.filename), "-C", target, "--strip-components=1"]);
  // The peer dependencies, as the user's project would have them.
  for (const peer of ["express-session", "pg"]) {
    fs.symlinkSync(path.join(root, "node_modules", peer), path.join(project, "node_modules", peer), "dir");
  }
  fs.writeFileSync(path.join(project, "package.json"), '{ "name": "consumer", "private": true }\n');
});

after(() => fs.rmSync(project, { recursive: true, force: true }));

function runIn(code, flag) {
  return execFileSync(process.execPath, [flag, code], { cwd: project, encoding: "utf8" }).trim();
}

test("the tarball ships the builds, their types, the sources maps point at, the migrations and the function", () => {
  for (
    const file of [
      "dist/esm/index.js",
      "dist/esm/index.d.ts",
      "dist/cjs/index.js",
      "dist/cjs/index.d.ts",
      "dist/cjs/package.json",
      "src/index.ts",
      "supabase/migrations/20261201000000_sessions_table.sql",
      "functions/cleanup-sessions/index.ts",
      "README.md",
      "LICENSE",
      "CHANGELOG.md",
      "bin/supabase-session-store.mjs",
      "dist/esm/cli/main.js",
      "supabase/tests/database/privileges.test.sql",
    ]
  ) {
    assert.ok(files.includes(file), `${file} is in the package`);
  }
  for (const prefix of ["tests/", "scripts/", "bench/", "examples/", ".local/", "node_modules/"]) {
    assert.ok(!files.some((f) => f.startsWith(prefix)), `nothing under ${prefix} is published`);
  }
});

test("the guides the README links to ship beside it, so its links work in node_modules too", () => {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
  const guides = [...new Set([...readme.matchAll(/\]\((docs\/[^)#\s]+\.md)/g)].map((m) => m[1]))];
  assert.ok(guides.includes("docs/production.md"), "the README links to its guides");
  assert.deepEqual(guides.filter((g) => !files.includes(g)), []);
});

test("everything the docs tell a user to take from node_modules/supabase-session-store/ is in the package", () => {
  const pages = [
    "README.md",
    ...fs.readdirSync(path.join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`),
    "examples/express-passport/README.md",
  ];
  const taken = pages.flatMap((page) =>
    [...fs.readFileSync(path.join(root, page), "utf8").matchAll(/node_modules\/supabase-session-store\/([^\s`)"']+)/g)]
      .map((m) => ({ page, ref: m[1] }))
  );
  assert.ok(taken.length >= 3, "the docs name the package's migrations, function and pgTAP tests");
  // A reference is a file, a folder (its files), or a folder's files by one `*` pattern.
  const matches = (ref) => {
    const pattern = new RegExp(
      `^${ref.replace(/\/$/, "").replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")}(/.+)?$`,
    );
    return files.some((f) => pattern.test(f));
  };
  assert.deepEqual(taken.filter(({ ref }) => !matches(ref)), []);
});

test("import and require both resolve the store through the exports map", () => {
  const esm = runIn(
    `import("supabase-session-store").then((m) => console.log(typeof m.SupabaseSessionStore,
    m.DEFAULT_TTL_SECONDS, Object.getPrototypeOf(m.SupabaseSessionStore).name))`,
    "-e",
  );
  assert.equal(esm, "function 86400 Store");
  const cjs = runIn(
    `const m = require("supabase-session-store"); console.log(typeof m.SupabaseSessionStore,
    require.resolve("supabase-session-store").includes("dist/cjs"))`,
    "-e",
  );
  assert.equal(cjs, "function true");
});

test("every path the exports map names exists in the package", () => {
  const manifest = JSON.parse(
    fs.readFileSync(path.join(project, "node_modules/supabase-session-store/package.json"), "utf8"),
  );
  const targets = [];
  const walk = (v) => (typeof v === "string" ? targets.push(v) : Object.values(v).forEach(walk));
  walk(manifest.exports);
  targets.push(manifest.main, manifest.module, manifest.types);
  for (const t of targets) {
    assert.ok(fs.existsSync(path.join(project, "node_modules/supabase-session-store", t)), `${t} exists`);
  }
});

test("the bin the manifest names is in the package and answers --help", () => {
  const manifest = JSON.parse(
    fs.readFileSync(path.join(project, "node_modules/supabase-session-store/package.json"), "utf8"),
  );
  const bin = path.join(project, "node_modules/supabase-session-store", manifest.bin["supabase-session-store"]);
  const help = execFileSync(process.execPath, [bin, "--help"], { cwd: project, encoding: "utf8" });
  assert.match(help, /^usage: supabase-session-store <command>/);
});
