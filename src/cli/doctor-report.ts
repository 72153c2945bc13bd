// The doctor's report, as text (one line per check, its fixes indented below) or as
// one JSON document; and the redaction every printed string goes through, so that
// neither the key nor the database password is ever printed.
import { type Check, exitCode } from "./doctor-check.js";

export interface Report {
  database: string;
  schema: string;
  user: string;
  checks: Check[];
}

/** The database URL with its password (in the authority or a `password` parameter) replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    if (u.searchParams.has("password")) u.searchParams.set("password", "***");
    return u.toString().replace(/%2A/g, "*");
  } catch {
    return "(a database URL that does not parse)";
  }
}

/** The secrets of a run: the key, and the database URL's password. */
export function secretsOf(dbUrl: string, key: string | undefined): string[] {
  const secrets = key ? [key] : [];
  try {
    const u = new URL(dbUrl);
    for (const password of [u.password && decodeURIComponent(u.password), u.searchParams.get("password")]) {
      if (password) secrets.push(password, encodeURIComponent(password));
    }
  } catch {
    // Not a URL: nothing to take from it.
  }
  // The URL is printed redacted; scrubbing the rest too is a second line of defence, for
  // secrets long enough not to be ordinary words of the report (a local `postgres`).
  return secrets.filter((s) => s.length >= 12);
}

/** Replaces every occurrence of a secret. */
export function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join("***");
  return out;
}

const LABEL = { pass: "pass", warn: "WARN", fail: "FAIL" } as const;

export function renderText(report: Report): string {
  const lines = [`supabase-session-store doctor: ${report.database} (schema ${report.schema}, as ${report.user})`];
  const width = Math.max(...report.checks.map((c) => c.id.length));
  for (const c of report.checks) {
    lines.push(`${LABEL[c.status]}  ${c.id.padEnd(width)}  ${c.summary}`);
    for (const fix of c.fixes) lines.push(`      fix: ${fix}`);
  }
  const n = (s: Check["status"]) => report.checks.filter((c) => c.status === s).length;
  const warnings = n("warn") === 1 ? "1 warning" : `${n("warn")} warnings`;
  lines.push(`${n("fail")} failed, ${warnings}, ${n("pass")} passed: exit ${exitCode(report.checks)}`);
  return `${lines.join("\n")}\n`;
}

export function renderJson(report: Report): string {
  const n = (s: Check["status"]) => report.checks.filter((c) => c.status === s).length;
  return `${
    JSON.stringify(
      {
        ...report,
        summary: { fail: n("fail"), warn: n("warn"), pass: n("pass") },
        exitCode: exitCode(report.checks),
      },
      null,
      2,
    )
  }\n`;
}
