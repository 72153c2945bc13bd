// The doctor's checks of the deployed cleanup-sessions function: it answers, it refuses
// a call without a key, and it accepts the operator's key. Both calls are dry runs, so
// nothing is deleted even where the function ignored the key.
import { type Check, fail, pass } from "./doctor-check.js";

const TIMEOUT_MS = 30_000;
export const DEPLOY = "npx supabase functions deploy cleanup-sessions";
/** The function's own answer to a call without a valid key (functions/cleanup-sessions/handler.ts). */
const REFUSAL = "a valid secret key is required in the apikey header";

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** POSTs a dry run; resolves with the answer, or with the reason none came. */
export async function dryRun(endpoint: string, key?: string): Promise<Answer | string> {
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
export function reason(answer: Answer): string {
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

/**
 * Where the cleanup job sends its request, from the Vault secret holding the project URL (built as
 * dispatch_session_cleanup builds it), called without a key: the function refuses (401), so it is
 * there; a 404 there is a typo in the secret (another project's ref, a path after the URL).
 */
export async function vaultUrlCheck(secret: string, projectUrl: string): Promise<Check> {
  const id = "schedule.vault-url";
  const endpoint = `${projectUrl.replace(/\/+$/, "")}/functions/v1/cleanup-sessions`;
  const update = `select vault.update_secret((select id from vault.secrets where name = '${secret}'), ` +
    "'https://<project-ref>.supabase.co'); -- the project URL alone: the job adds /functions/v1/cleanup-sessions";
  const answer = await dryRun(endpoint);
  const from = `the Vault secret ${secret} sends the cleanup job to ${endpoint}`;
  if (typeof answer === "string") return fail(id, `${from}, which is unreachable (${answer})`, update);
  if (answer.status === 404) {
    return fail(
      id,
      `${from}, which answers 404${reason(answer)}: no function there (a wrong project ref, or a path after the ` +
        "project URL?), so every run's request fails",
      update,
      `${DEPLOY}  # if the URL is right and the function is not deployed yet`,
    );
  }
  if (answer.status !== 401 || answer.body.error !== REFUSAL) {
    return fail(
      id,
      `${from}, which answered ${answer.status} to a call without a key${reason(answer)}: not the function's ` +
        "refusal, so something else answers there",
      update,
    );
  }
  return pass(id, `${from}, where the function answers (401 to a call without a key)`);
}
