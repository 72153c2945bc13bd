// The doctor's checks of the deployed cleanup-sessions function: it answers, it refuses
// a call without a key, and it accepts the operator's key. Both calls are dry runs, so
// nothing is deleted even where the function ignored the key.
import { type Check, fail, pass } from "./doctor-check.js";

const TIMEOUT_MS = 30_000;
const DEPLOY = "npx supabase functions deploy cleanup-sessions";

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** POSTs a dry run; resolves with the answer, or with the reason none came. */
async function dryRun(endpoint: string, key?: string): Promise<Answer | string> {
  let res: Response;
  try {
    res = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key ? { apikey: key } : {}) },
      body: JSON.stringify({ dryRun: true }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
      redirect: "manual",
    });
  } catch (err) {
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    if (e.name === "TimeoutError") return `no answer within ${TIMEOUT_MS / 1000} s`;
    return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = {};
  }
  return { status: res.status, body: body && typeof body === "object" ? body as Record<string, unknown> : {} };
}

/** A short, printable reason from an answer's body (the function's own `error` text only). */
function reason(answer: Answer): string {
  const text = typeof answer.body.error === "string"
    ? answer.body.error
    : typeof answer.body.message === "string"
    ? answer.body.message
    : "";
  return text ? `: ${text.slice(0, 200)}` : "";
}

export async function functionChecks(url: string, key: string): Promise<Check[]> {
  const endpoint = `${url.replace(/\/+$/, "")}/functions/v1/cleanup-sessions`;
  const unreachable = (id: string, why: string) =>
    fail(
      id,
      `the function at ${endpoint} is unreachable (${why})`,
      `check --url (the project URL, https://<project-ref>.supabase.co), then deploy: ${DEPLOY}`,
    );

  const checks: Check[] = [];
  const anonymous = await dryRun(endpoint);
  const idNoKey = "function.refuses-no-key";
  if (typeof anonymous === "string") {
    checks.push(unreachable(idNoKey, anonymous));
    return checks;
  }
  if (anonymous.status === 404) {
    checks.push(fail(idNoKey, `no function at ${endpoint} (404)${reason(anonymous)}`, DEPLOY));
    return checks;
  }
  checks.push(
    anonymous.status === 401 ? pass(idNoKey, `${endpoint} answers and refuses a call without a key (401)`) : fail(
      idNoKey,
      `${endpoint} answered ${anonymous.status} to a call without a key, expected 401` +
        `${anonymous.status < 300 ? ": anyone can run the cleanup" : reason(anonymous)}`,
      `${DEPLOY}  # the package's function, with verify_jwt = false in supabase/config.toml`,
    ),
  );

  const idKey = "function.accepts-key";
  const keyed = await dryRun(endpoint, key);
  if (typeof keyed === "string") {
    checks.push(unreachable(idKey, keyed));
  } else if (keyed.status === 401) {
    checks.push(fail(
      idKey,
      "the function refuses the key given (401): it is not one of the project's secret keys " +
        "(nor its CLEANUP_SECRET)",
      "pass a secret key (sb_secret_...) from Dashboard → Project Settings → API Keys",
    ));
  } else if (keyed.status !== 200 || keyed.body.dryRun !== true) {
    checks.push(
      fail(
        idKey,
        `the function answered ${keyed.status} to a dry run with the key${reason(keyed)}`,
        "read the function's logs: Dashboard → Edge Functions → cleanup-sessions → Logs",
      ),
    );
  } else {
    checks.push(
      pass(
        idKey,
        `the function accepts the key; dry run: ${keyed.body.expired} expired session${
          keyed.body.expired === 1 ? "" : "s"
        } waiting`,
      ),
    );
  }
  return checks;
}
