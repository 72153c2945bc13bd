// The failing tests a run's own output names, read back from each runner's report, so that
// `npm test`'s summary (the last lines a CI log keeps) says what failed and not only how many.
import path from "node:path";

const indentOf = (line) => line.length - line.trimStart().length;
const firstLines = (text, n = 3) =>
  text.split("\n").map((l) => l.trim()).filter(Boolean).slice(0, n).map((
    l,
  ) => (l.length > 200 ? `${l.slice(0, 199)}…` : l));

/**
 * The failing leaf tests of a node --test TAP report: `{ name, where, error }` each, with the
 * names of the suites and tests they are nested in. Failures that only say a subtest failed
 * are left out, since the subtest is listed itself.
 */
export function nodeTapFailures(tap, root = process.cwd()) {
  const lines = tap.split("\n");
  const failures = [];
  /** Names of the open subtests, by indent. */
  const open = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const indent = indentOf(line);
    const subtest = line.match(/^\s*# Subtest: (.*)$/);
    if (subtest) {
      while (open.length && open.at(-1).indent >= indent) open.pop();
      open.push({ indent, name: subtest[1] });
      continue;
    }
    const notOk = line.match(/^\s*not ok \d+ - (.*?)(?: # .*)?$/);
    if (!notOk) continue;
    const yaml = [];
    for (let j = i + 1; j < lines.length && (indentOf(lines[j]) > indent || !lines[j].trim()); j++) {
      if (lines[j].trim() === "...") break;
      yaml.push(lines[j]);
    }
    const field = (key) => {
      const at = yaml.findIndex((l) => l.trimStart().startsWith(`${key}:`));
      if (at < 0) return "";
      const value = yaml[at].trimStart().slice(key.length + 1).trim();
      if (!/^[|>]/.test(value)) return value.replace(/^'(.*)'$/, "$1").replace(/''/g, "'");
      const block = [];
      const base = indentOf(yaml[at]);
      for (let k = at + 1; k < yaml.length && (indentOf(yaml[k]) > base || !yaml[k].trim()); k++) block.push(yaml[k]);
      return block.join("\n");
    };
    if (field("failureType") === "subtestsFailed") continue;
    const parents = open.filter((o) => o.indent < indent).map((o) => o.name);
    const location = field("location");
    const where = location ? path.relative(root, location.replace(/^file:\/\//, "")) : "";
    failures.push({ name: [...parents, notOk[1]].join(" › "), where, error: firstLines(field("error")) });
  }
  return failures;
}

/** pg_prove --verbose output: each `not ok` with the file it is in. */
export function pgProveFailures(out) {
  const failures = [];
  let file = "";
  for (const line of out.split("\n")) {
    const header = line.match(/^(\S+\.sql) \.+/);
    if (header) file = header[1];
    const notOk = line.match(/^not ok \d+ - (.*)$/);
    if (notOk) failures.push({ name: notOk[1], where: file, error: [] });
  }
  return failures;
}

/** deno test output: the names of its FAILURES section (`name => file:line:col`). */
export function denoFailures(out) {
  const at = out.search(/^\s*FAILURES\s*$/m);
  if (at < 0) return [];
  return out.slice(at).split("\n").map((l) => l.match(/^(.*\S) => (\S+:\d+:\d+)$/))
    .filter(Boolean).map((m) => ({ name: m[1], where: m[2], error: [] }));
}
