// `supabase-session-store purge`: asks the cleanup-sessions Edge Function to delete
// expired sessions now, prints its JSON answer, and exits non-zero on any failure.
// The key is never printed, whatever the server or the network layer says.
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, parseFlags, UsageError } from "./io.js";

export const PURGE_USAGE = `usage: supabase-session-store purge [--url <project URL>] [--key <key>]
                                    [--batch-size <n>] [--time-budget-ms <n>] [--dry-run]

Calls <project URL>/functions/v1/cleanup-sessions and prints its JSON answer.
  --url             the project URL (default: SUPABASE_URL)
  --key             a secret key (default: SUPABASE_SECRET_KEY, SUPABASE_SERVICE_ROLE_KEY or
                    CLEANUP_SECRET, in that order; prefer the environment: command lines are
                    visible to other local users)
  --batch-size      rows per cleanup_expired_sessions call, 1 to 100000 (the function's default: 10000)
  --time-budget-ms  stop starting batches after this long, 0 to 120000 (the function's default: 25000)
  --dry-run         only count what would be deleted
Exit codes: 0 done, 1 the function or the network failed, 2 usage error.
`;

// The Edge Functions wall-clock limit; the function answers well before it.
const REQUEST_TIMEOUT_MS = 150_000;

interface PurgeRequest {
  endpoint: URL;
  key: string;
  body: { batchSize?: number; timeBudgetMs?: number; dryRun?: boolean };
}

// The function's own bounds (LIMITS in functions/cleanup-sessions/options.ts): a value it would
// refuse is a usage error here, exit 2, and nothing is sent. purge-cli.test.mjs pins the pair.
const BOUNDS = { "--batch-size": [1, 100_000], "--time-budget-ms": [0, 120_000] } as const;

function integer(flag: keyof typeof BOUNDS, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const [min, max] = BOUNDS[flag];
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function parse(argv: string[], env: CliIo["env"]): PurgeRequest | "help" {
  const values = parseFlags(argv, {
    url: { type: "string" },
    key: { type: "string" },
    "batch-size": { type: "string" },
    "time-budget-ms": { type: "string" },
    "dry-run": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) return "help";
  const url = values.url ?? env.SUPABASE_URL;
  const key = values.key ?? (env.SUPABASE_SECRET_KEY || env.SUPABASE_SERVICE_ROLE_KEY || env.CLEANUP_SECRET);
  if (!url) throw new UsageError("no project URL: set SUPABASE_URL or pass --url");
  if (!key) {
    throw new UsageError(
      "no key: set SUPABASE_SECRET_KEY (or SUPABASE_SERVICE_ROLE_KEY, CLEANUP_SECRET) or pass --key",
    );
  }
  let endpoint;
  try {
    endpoint = new URL(`${url.replace(/\/+$/, "")}/functions/v1/cleanup-sessions`);
  } catch {
    throw new UsageError(`not a URL: ${url}`);
  }
  return {
    endpoint,
    key,
    // Unset options (undefined) are left out by JSON.stringify.
    body: {
      batchSize: integer("--batch-size", values["batch-size"]),
      timeBudgetMs: integer("--time-budget-ms", values["time-budget-ms"]),
      dryRun: values["dry-run"],
    },
  };
}

/** Runs the purge; resolves with the exit code. */
export async function runPurge(argv: string[], io: CliIo): Promise<number> {
  let request;
  try {
    request = parse(argv, io.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`purge: ${err.message}\n`);
    return EXIT_USAGE;
  }
  if (request === "help") {
    io.stdout(PURGE_USAGE);
    return EXIT_OK;
  }
  const { key } = request;
  const redact = (text: string) => text.split(key).join("[redacted]");

  let res;
  let text;
  try {
    res = await fetch(request.endpoint, {
      method: "POST",
      headers: { apikey: key, "content-type": "application/json" },
      body: JSON.stringify(request.body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    text = await res.text();
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const reason = e.cause?.code ?? e.cause?.message ?? e.message;
    io.stderr(redact(`purge: could not reach ${request.endpoint.origin}: ${reason}\n`));
    return EXIT_FAILURE;
  }
  if (!res.ok) {
    io.stderr(redact(`purge: ${res.status} ${res.statusText}: ${text.trim()}\n`));
    return EXIT_FAILURE;
  }
  let result;
  try {
    result = JSON.parse(text);
  } catch {
    io.stderr(redact(`purge: the answer is not JSON: ${text.slice(0, 200)}\n`));
    return EXIT_FAILURE;
  }
  io.stdout(`${redact(JSON.stringify(result, null, 2))}\n`);
  return EXIT_OK;
}
