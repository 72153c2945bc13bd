// The README's commands as tests run them. A fenced block is marked for a test by the
// comment line right above it:
//   <!-- readme-test: <tags> <action> [argument] -->
// <tags> is a comma-separated list (consumer, schema); <action> is `run` (a shell block,
// run in the project), `sql` (run with psql), `file <path>` (written to that path),
// `append <path>` (appended to it) or `skip <reason>` (cannot run here, mostly for want
// of a hosted Supabase project;
// the test lists it with the reason).
import fs from "node:fs";
import path from "node:path";
import { root } from "../../../scripts/db.mjs";

const MARKER = /^\s*<!-- readme-test: (\S+) (run|sql|file|append|skip)(?: (.+?))? -->\s*$/;
const FENCE = /^(\s*)```(\w*)\s*$/;

export function readme() {
  return fs.readFileSync(path.join(root, "README.md"), "utf8");
}

/** Every fenced block: { lang, code, line, section, marker } (marker: { tags, action, arg } or null). */
export function fencedBlocks(text = readme()) {
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

/** The blocks marked for `tag`, in README order. */
export function blocksFor(tag, text = readme()) {
  return fencedBlocks(text).filter((b) => b.marker?.tags.includes(tag));
}
