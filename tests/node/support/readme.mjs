// The docs' commands as tests run them: README.md, docs/*.md and CONTRIBUTING.md. A fenced
// block is marked for a test by the comment line right above it:
//   <!-- readme-test: <tags> <action> [argument] -->
// <tags> is a comma-separated list (consumer, schema); <action> is `run` (a shell block,
// run in the project), `sql` (run with psql), `file <path>` (written to that path),
// `append <path>` (appended to it) or `skip <reason>` (cannot run here, mostly for want
// of a hosted Supabase project;
// the test lists it with the reason).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

// Not scripts/db.mjs's root: the unit tier reads the docs too, and needs nothing of the stack.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const MARKER = /^\s*<!-- readme-test: (\S+) (run|sql|file|append|skip)(?: (.+?))? -->\s*$/;
const FENCE = /^(\s*)```(\w*)\s*$/;
// The pages a user follows, in the order they follow them; the other guides come after.
const READING_ORDER = ["README.md", "docs/production.md"];

/**
 * Every documentation page, as paths relative to the repository: the README, then the production
 * guide, the other docs/*.md by name, then CONTRIBUTING.md. Marked blocks run in this order.
 */
export function docPages() {
  const guides = fs.readdirSync(path.join(root, "docs")).filter((f) => f.endsWith(".md")).sort()
    .map((f) => `docs/${f}`);
  return [...READING_ORDER, ...guides.filter((g) => !READING_ORDER.includes(g)), "CONTRIBUTING.md"];
}

/** A page's text; `page` is relative to the repository's root. */
export function readPage(page) {
  return fs.readFileSync(path.join(root, page), "utf8");
}

export function readme() {
  return readPage("README.md");
}

/**
 * Every fenced block of one page: { page, where, lang, code, line, section, marker }, where
 * `where` is `page:line` and marker is { tags, action, arg } or null.
 */
export function fencedBlocks(page = "README.md", text = readPage(page)) {
  const lines = text.split("\n");
  const blocks = [];
  let section = "";
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith("## ")) section = lines[i].slice(3).trim();
    const open = FENCE.exec(lines[i]);
    if (!open) continue;
    const [, indent, lang] = open;
    const body = [];
    let j = i + 1;
    while (j < lines.length && lines[j].trim() !== "```") body.push(lines[j++]);
    const m = i > 0 ? MARKER.exec(lines[i - 1]) : null;
    blocks.push({
      page,
      where: `${page}:${i + 1}`,
      lang,
      code: `${body.map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart())).join("\n")}\n`,
      line: i + 1,
      section,
      marker: m && { tags: m[1].split(","), action: m[2], arg: m[3] ?? "" },
    });
    i = j;
  }
  return blocks;
}

/** The blocks marked for `tag` on every page, in reading order (docPages), each page top to bottom. */
export function blocksFor(tag, pages = docPages()) {
  return pages.flatMap((page) => fencedBlocks(page)).filter((b) => b.marker?.tags.includes(tag));
}
