// The shipped pgTAP tests check the package's own functions only (a user's project has
// functions of its own in public), by a list each catalog-wide file carries. The list must
// be the functions the migrations create: one the migrations add is checked at once.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "../..");
const read = (dir) =>
  fs.readdirSync(path.join(root, dir)).filter((f) => f.endsWith(".sql")).sort()
    .map((f) => ({ file: f, text: fs.readFileSync(path.join(root, dir, f), "utf8") }));

const migrations = read("supabase/migrations");
const created = migrations.flatMap(({ text }) =>
  [...text.matchAll(/^create function public\.(\w+)\(/gm)].map((m) => m[1])
);

// The baseline: the five concern files of 0.1.0 (version 20261201…), where each object is
// defined once. A later migration may redefine one of their functions (`create or replace`,
// as the conversion of pre-release databases does) but creates nothing twice.
const isBaseline = (file) => file.startsWith("20261201");
const definitions = (files) =>
  files.flatMap(({ file, text }) =>
    [...text.matchAll(/^create (or replace )?(function|view|table|trigger|index) (?:public\.)?(\w+)/gm)]
      .map((m) => ({ file, replace: Boolean(m[1]), key: `${m[2]} ${m[3]}` }))
  );

test("the baseline defines each object in one place", () => {
  const seen = new Map();
  for (const { file, key } of definitions(migrations.filter(({ file }) => isBaseline(file)))) {
    assert.ok(!seen.has(key), `${key} is defined in ${seen.get(key)} and again in ${file}`);
    seen.set(key, file);
  }
  assert.ok(created.length >= 20, `found only ${created.length} functions`);
});

test("a later migration creates nothing twice, and redefines only with create or replace", () => {
  const seen = new Set(definitions(migrations.filter(({ file }) => isBaseline(file))).map(({ key }) => key));
  const later = migrations.filter(({ file }) => !isBaseline(file));
  assert.ok(later.length >= 1, "the pre-release conversion is a later migration");
  for (const { file, replace, key } of definitions(later)) {
    // An index has no create or replace: a migration that drops one may create it anew.
    const dropped = new RegExp(`^drop ${key.replace(" ", " (?:public\\.)?")};`, "m").test(
      later.find((m) => m.file === file).text,
    );
    if (dropped) seen.delete(key);
    if (seen.has(key)) assert.ok(replace, `${file} creates ${key} again: a redefinition says create or replace`);
    else assert.ok(!replace, `${file} says create or replace for ${key}, which nothing defined before`);
    seen.add(key);
  }
});

test("every catalog-wide pgTAP file lists exactly the functions the migrations create", () => {
  const scoped = read("supabase/tests/database").filter(({ text }) => text.includes("package_functions"));
  assert.ok(scoped.length >= 3, "the catalog-wide files use package_functions");
  for (const { file, text } of scoped) {
    const list = /create temporary table package_functions[\s\S]*?= any \(\s*array\[([\s\S]*?)\]\);/.exec(text);
    assert.ok(list, `${file}: package_functions is built from an array of names`);
    const names = [...list[1].matchAll(/'(\w+)'/g)].map((m) => m[1]);
    assert.deepEqual([...names].sort(), [...created].sort(), `${file}: the list of package functions`);
  }
});
