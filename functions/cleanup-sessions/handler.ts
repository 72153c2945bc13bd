// One cleanup request, from authentication to the JSON answer, with exactly one
// structured log line per request. Nothing here throws: every failure becomes a
// JSON error response, so a bad request or a database outage never takes the
// isolate down.
import { acceptedKeys, ConfigError, type Env, isAuthorized, presentedKeys, serviceKeys } from "./auth.ts";
import { connect, DatabaseError } from "./db.ts";
import { readOptions, RequestError } from "./options.ts";
import { purge, PurgeError } from "./purge.ts";

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
    let service, accepted;
    try {
      service = serviceKeys(deps.env);
      accepted = acceptedKeys(deps.env, service);
    } catch (err) {
      if (err instanceof ConfigError) return respond(500, { error: err.message });
      throw err;
    }
    if (accepted.length === 0) {
      return respond(500, {
        error: "no key is configured: set SUPABASE_SECRET_KEYS, SUPABASE_SERVICE_ROLE_KEY or CLEANUP_SECRET",
      });
    }
    const presented = presentedKeys(req.headers);
    if (!(await isAuthorized(presented, accepted))) {
      return respond(401, { error: "a valid secret key is required in the apikey header" }, {
        reason: presented.length ? "wrong key" : "no key",
      });
    }
    if (req.method !== "POST") {
      return respond(405, { error: "only POST is allowed" }, { method: req.method }, { allow: "POST" });
    }

    let options;
    try {
      options = await readOptions(req);
    } catch (err) {
      if (err instanceof RequestError) return respond(err.status, { error: err.message });
      throw err;
    }

    const url = deps.env("SUPABASE_URL");
    const [serviceKey] = service;
    if (!url || !serviceKey) {
      return respond(500, {
        error: "SUPABASE_URL and a secret key (SUPABASE_SECRET_KEYS or SUPABASE_SERVICE_ROLE_KEY) must be configured",
      });
    }
    // Where `supabase-session-store migrations --schema <name>` installed the sessions.
    const schema = deps.env("SESSIONS_SCHEMA") || "public";
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
      return respond(500, { error: "SESSIONS_SCHEMA must be a lower-case schema name" });
    }
    let rpc;
    try {
      rpc = connect(url, serviceKey, schema);
    } catch {
      return respond(500, { error: "SUPABASE_URL is not a valid URL" });
    }

    try {
      return respond(200, { ...await purge(rpc, options) }, { batchSize: options.batchSize });
    } catch (err) {
      if (!(err instanceof PurgeError)) throw err;
      const cause = err.failure;
      const unavailable = !(cause instanceof DatabaseError) || cause.unavailable;
      return respond(
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
  } catch (err) {
    return respond(500, { error: "internal error" }, { detail: err instanceof Error ? err.message : String(err) });
  }
}
