// One line of the doctor's report: what was checked, how it went, and for a warning
// or a failure the exact fix (an SQL line or a command).

export type Status = "pass" | "warn" | "fail";

export interface Check {
  /** Stable identifier, e.g. `schedule.job.cleanup-expired-sessions` (for --json readers). */
  id: string;
  status: Status;
  /** One line: what was found. */
  summary: string;
  /** For a warning or a failure: what to run, one SQL line or command each. */
  fixes: string[];
}

export const pass = (id: string, summary: string): Check => ({ id, status: "pass", summary, fixes: [] });
export const warn = (id: string, summary: string, ...fixes: string[]): Check => ({
  id,
  status: "warn",
  summary,
  fixes,
});
export const fail = (id: string, summary: string, ...fixes: string[]): Check => ({
  id,
  status: "fail",
  summary,
  fixes,
});

/** Exit code of a finished run: 1 when a check failed, else 0 (warnings allowed). */
export function exitCode(checks: Check[]): 0 | 1 {
  return checks.some((c) => c.status === "fail") ? 1 : 0;
}
