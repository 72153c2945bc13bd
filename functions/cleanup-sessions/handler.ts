// One cleanup request, from authentication to the JSON answer, with exactly one
// structured log line per request. Each step either passes or throws a Refusal (its
// status and body); nothing escapes: any other failure is a 500, so a bad request or a
// database outage never takes the isolate down.
import { acceptedKeys, type Env, isAuthorized, presentedKeys, serviceKeys } from "./auth.ts";
import { connect, DatabaseError, type Rpc } from "./db.ts";
import { type PurgeOptions, readOptions } from "./options.ts";
import { purge, PurgeError } from "./purge.ts";
import { Refusal, refuse } from "./refusal.ts";

export interface Deps {
  env: Env;
  /** Receives the invocation's log line (JSON); defaults to console.log. */
  log?: (line: string) => void;
}

type LogFields = Record<string, unknown>;

export async function handle(req: Request, deps: Deps): Promise<Response> {
  const log = deps.log ?? console.log;
  const started = performance.now();
  const respond = (status: number, body: LogFields, fields: LogFields = {}, headers: HeadersInit = {}) => {
    // Only counts, codes and fixed messages are logged: never a header value, so never a key.
    log(JSON.stringify({
      fn: "cleanup-sessions",
      level: status >= 500 ? "error" : status >= 400 ? "warn" : "info",
      status,
      ms: Math.round(performance.now() - started),
      ...fields,
      ...body,
    }));
    return Response.json(body, { status, headers: { "cache-control": "no-store", ...headers } });
  };

  try {
    const { service, accepted } = configuredKeys(deps.env);
    await authorize(req.headers, accepted);
    if (req.method !== "POST") throw refuse(405, "only POST is allowed", { method: req.method }, { allow: "POST" });
    const options = await readOptions(req);
    const rpc = database(deps.env, service);
    const result = await purge(rpc, options).catch((err) => Promise.reject(purgeRefusal(err, options)));
    return respond(200, { ...result }, { batchSize: options.batchSize });
  } catch (err) {
    if (err instanceof Refusal) return respond(err.status, err.body, err.logFields, err.headers);
    return respond(500, { error: "internal error" }, { detail: err instanceof Error ? err.message : String(err) });
  }
}

/** The service keys and every accepted key; none configured is the operator's error (500). */
function configuredKeys(env: Env): { service: string[]; accepted: string[] } {
  const service = serviceKeys(env);
  const accepted = acceptedKeys(env, service);
  if (accepted.length === 0) {
    throw refuse(500, "no key is configured: set SUPABASE_SECRET_KEYS, SUPABASE_SERVICE_ROLE_KEY or CLEANUP_SECRET");
  }
  return { service, accepted };
}

/** Passes when the caller presents an accepted key; 401 otherwise (the log says whether any key came). */
async function authorize(headers: Headers, accepted: string[]): Promise<void> {
  const presented = presentedKeys(headers);
  if (!(await isAuthorized(presented, accepted))) {
    throw refuse(401, "a valid secret key is required in the apikey header", {
      reason: presented.length ? "wrong key" : "no key",
    });
  }
}

/** The project's API with the first service key, in the schema holding the sessions; a bad configuration is a 500. */
function database(env: Env, service: string[]): Rpc {
  const url = env("SUPABASE_URL");
  const [serviceKey] = service;
  if (!url || !serviceKey) {
    throw refuse(
      500,
      "SUPABASE_URL and a secret key (SUPABASE_SECRET_KEYS or SUPABASE_SERVICE_ROLE_KEY) must be configured",
    );
  }
  // Where `supabase-session-store migrations --schema <name>` installed the sessions.
  const schema = env("SESSIONS_SCHEMA") || "public";
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw refuse(500, "SESSIONS_SCHEMA must be a lower-case schema name");
  try {
    return connect(url, serviceKey, schema);
  } catch {
    throw refuse(500, "SUPABASE_URL is not a valid URL");
  }
}

/**
 * A purge that failed part-way: 503 when the database is unreachable, 502 when it
 * reported an error, with what was already done. Anything else stays an internal error.
 */
function purgeRefusal(err: unknown, options: PurgeOptions): unknown {
  if (!(err instanceof PurgeError)) return err;
  const cause = err.failure;
  const unavailable = !(cause instanceof DatabaseError) || cause.unavailable;
  return new Refusal(
    unavailable ? 503 : 502,
    {
      error: unavailable ? "the database is unavailable" : "the database reported an error",
      ...(cause instanceof DatabaseError && cause.code ? { code: cause.code } : {}),
      deleted: err.deleted,
      batches: err.batches,
      dryRun: options.dryRun,
    },
    { detail: err.message },
  );
}
