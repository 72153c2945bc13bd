#!/usr/bin/env node
// `npm run purge`: asks the cleanup-sessions Edge Function to delete expired
// sessions now, prints its JSON answer and exits non-zero on any failure.
//
//   npm run purge -- [--url <project URL>] [--key <key>] [--batch-size <n>]
//                    [--time-budget-ms <n>] [--dry-run]
//
// The project URL defaults to SUPABASE_URL, the key to SUPABASE_SECRET_KEY,
// SUPABASE_SERVICE_ROLE_KEY or CLEANUP_SECRET (in that order). Prefer the
// environment to --key: command lines are visible to other local users.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

// The Edge Functions wall-clock limit; the function answers well before it.
const REQUEST_TIMEOUT_MS = 150_000;

class UsageError extends Error {}

function integer(flag, value) {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) {
    throw new UsageError(`${flag} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function parse(argv, env) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        url: { type: "string" },
        key: { type: "string" },
        "batch-size": { type: "string" },
        "time-budget-ms": { type: "string" },
        "dry-run": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    throw new UsageError(err.message);
  }
  if (values.help) return { help: true };
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
  const body = {
    batchSize: integer("--batch-size", values["batch-size"]),
    timeBudgetMs: integer("--time-budget-ms", values["time-budget-ms"]),
    dryRun: values["dry-run"],
  };
  return { endpoint, key, body }; // unset options (undefined) are left out by JSON.stringify
}

/** Runs the purge; resolves with the exit code (0 success, 1 failure, 2 usage). */
async function main(argv, env, out = process.stdout, err = process.stderr) {
  let request;
  try {
    request = parse(argv, env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err.write(`purge: ${e.message}\n`);
    return 2;
  }
  if (request.help) {
    out.write(
      "usage: npm run purge -- [--url <project URL>] [--key <key>] [--batch-size <n>] " +
        "[--time-budget-ms <n>] [--dry-run]\n",
    );
    return 0;
  }
  // Whatever a server or the network layer says, the key is never echoed.
  const redact = (text) => text.split(request.key).join("[redacted]");

  let res;
  let text;
  try {
    res = await fetch(request.endpoint, {
      method: "POST",
      headers: { apikey: request.key, "content-type": "application/json" },
      body: JSON.stringify(request.body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    text = await res.text();
  } catch (e) {
    const reason = e.cause?.code ?? e.cause?.message ?? e.message;
    err.write(redact(`purge: could not reach ${request.endpoint.origin}: ${reason}\n`));
    return 1;
  }
  if (!res.ok) {
    err.write(redact(`purge: ${res.status} ${res.statusText}: ${text.trim()}\n`));
    return 1;
  }
  let result;
  try {
    result = JSON.parse(text);
  } catch {
    err.write(redact(`purge: the answer is not JSON: ${text.slice(0, 200)}\n`));
    return 1;
  }
  out.write(`${redact(JSON.stringify(result, null, 2))}\n`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  process.exitCode = await main(process.argv.slice(2), process.env);
}
