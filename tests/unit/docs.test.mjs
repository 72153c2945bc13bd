// The documentation holds together: every relative link in the README, CONTRIBUTING.md,
// ARCHITECTURE.md and docs/*.md reaches a file that exists, and an anchor that exists on
// it, and the README stays a front page (at most 250 lines) while the rest lives in docs/.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { docPages, readPage } from "../node/support/readme.mjs";

const root = path.resolve(import.meta.dirname, "../..");
const PAGES = [...docPages(), "ARCHITECTURE.md"];
const README_MAX_LINES = 250;

/** The page's lines outside fenced code blocks, with their line numbers. */
function prose(text) {
  const out = [];
  let fence = false;
  text.split("\n").forEach((line, i) => {
    if (/^\s*```/.test(line)) fence = !fence;
    else if (!fence) out.push({ line, number: i + 1 });
  });
  return out;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen. */
function slug(heading) {
  return heading.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors a Markdown page's headings define, with GitHub's -1, -2 for repeats. */
function anchors(text) {
  const seen = new Map();
  const out = new Set();
  for (const { line } of prose(text)) {
    const heading = /^#{1,6} +(.+?) *#* *$/.exec(line);
    if (!heading) continue;
    const base = slug(heading[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Every relative link and image of a page: { target, where }; code spans are not links. */
function relativeLinks(page) {
  const links = [];
  for (const { line, number } of prose(readPage(page))) {
    for (const m of line.replace(/`[^`]*`/g, "``").matchAll(/\]\(([^)\s]+)(?: "[^"]*")?\)/g)) {
      if (!/^[a-z][a-z+.-]*:/i.test(m[1])) links.push({ target: m[1], where: `${page}:${number}` });
    }
  }
  return links;
}

test("every relative link in the docs reaches a file that exists, and an anchor that exists on it", () => {
  const broken = [];
  let checked = 0;
  for (const page of PAGES) {
    for (const { target, where } of relativeLinks(page)) {
      checked++;
      const [file, anchor] = target.split("#");
      const resolved = file ? path.join(path.dirname(path.join(root, page)), decodeURI(file)) : path.join(root, page);
      if (!fs.existsSync(resolved)) {
        broken.push(`${where}: ${target} (no such file)`);
      } else if (
        anchor !== undefined && resolved.endsWith(".md") && !anchors(fs.readFileSync(resolved, "utf8")).has(anchor)
      ) {
        broken.push(`${where}: ${target} (no heading with that anchor)`);
      }
    }
  }
  assert.ok(checked > 30, `the checker finds the links (${checked})`);
  assert.deepEqual(broken, []);
});

test("the anchors are GitHub's: punctuation and code marks dropped, spaces made hyphens", () => {
  assert.equal(
    slug("Another schema: beside a `sessions` table of your own"),
    "another-schema-beside-a-sessions-table-of-your-own",
  );
  assert.equal(slug("What `npm test` runs"), "what-npm-test-runs");
  assert.equal(slug("A user's own sessions"), "a-users-own-sessions");
  assert.deepEqual([...anchors("# Notes\n## Notes\n```sh\n# not a heading\n```\n")], ["notes", "notes-1"]);
});

test(`the README is a front page: at most ${README_MAX_LINES} lines, the rest in docs/`, () => {
  const lines = readPage("README.md").trimEnd().split("\n").length;
  assert.ok(lines <= README_MAX_LINES, `README.md has ${lines} lines`);
});

test("every page the docs' tests read exists, the README first and CONTRIBUTING.md last", () => {
  const pages = docPages();
  assert.equal(pages[0], "README.md");
  assert.equal(pages.at(-1), "CONTRIBUTING.md");
  for (const page of pages) assert.ok(fs.existsSync(path.join(root, page)), page);
});

test("the README and CHANGELOG.md name every command the package ships", () => {
  const main = fs.readFileSync(path.join(root, "src/cli/main.ts"), "utf8");
  const table = main.slice(main.indexOf("const COMMANDS"), main.indexOf("\n};", main.indexOf("const COMMANDS")));
  const commands = [...table.matchAll(/^ {2}(\w+): \{/gm)].map((m) => m[1]);
  assert.deepEqual(
    commands.toSorted(),
    ["doctor", "init", "migrations", "purge"],
    "the commands as src/cli/main.ts lists them",
  );
  for (const page of ["README.md", "CHANGELOG.md"]) {
    const missing = commands.filter((c) => !new RegExp(`\`${c}[\` ]`).test(readPage(page)));
    assert.deepEqual(missing, [], `${page} names each command`);
  }
});
