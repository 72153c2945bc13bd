#!/usr/bin/env node
// A PostgREST-compatible RPC gateway for the local stack. It stands in for PostgREST
// and Supabase's API gateway ONLY where they cannot be installed (no Docker, no
// PostgREST package on these machines), so that the real supabase-js can be driven
// against the real database. It is development tooling, never part of the published
// package; where Docker exists, `supabase start` gives the real services.
//
// Covered, following PostgREST 13's documentation and source (errors reference,
// functions/RPC, authentication, media types) and Supabase's gateway key mapping:
//   POST /rest/v1/rpc/<fn>  JSON object of named arguments (an empty body means none).
//   GET|HEAD /rest/v1/rpc/<fn>?arg=value  every query parameter is an argument; the
//                           transaction is READ ONLY, as PostgREST runs GET calls.
//   The function is resolved in an exposed schema (PostgREST's db-schemas: `public` unless
//   exposedSchemas says otherwise, the first one the default) by name and argument names
//   (pg_catalog, cached, reloaded once on a miss), called with named notation; the JSON
//   body is the single bind parameter, typed by the catalog via json_to_record, as
//   PostgREST does. Results: scalar or composite -> its JSON value; setof / returns
//   table -> JSON array; void -> 204 No Content (PostgREST >= 10).
//   Max rows (`maxRows`, env API_MAX_ROWS, default 1000 as on a new hosted project, 0 = no
//   cap): a set-returning function's result is cut to its first maxRows rows, silently,
//   as PostgREST's db-max-rows does. PostgREST (src/library/PostgREST/Plan.hs:
//   callReadPlan builds the RPC's read plan with readPlan, whose treeRestrictRange
//   applies configDbMaxRows to every action but a table mutation; RangeQuery.restrictRange
//   makes it `LIMIT maxRows` on `SELECT ... FROM fn(...)`, Query/Statements.hs mainCall)
//   sends no error and no marker; a single-row (scalar or composite) result is not cut.
//   Request body limit (`bodyLimit`, env API_BODY_LIMIT, default 1 MiB): larger -> 413.
//   Accept: application/json, application/vnd.pgrst.array+json,
//   application/vnd.pgrst.object+json (`.single()`: anything but one row is 406 PGRST116),
//   the `nulls=stripped` parameter; other media types -> 406 PGRST107.
//   Content-Profile (POST) / Accept-Profile (GET, HEAD) pick one of the exposed schemas;
//   any other schema -> 406 PGRST106.
//   Auth, in Supabase's gateway order: an `Authorization` header that is not an sb_ key
//   wins; else the `apikey` sb_secret_ / sb_publishable_ key becomes the service_role /
//   anon JWT; else a JWT `apikey`. An unknown sb_ key is rejected (401). JWTs are HS256,
//   verified in constant time, exp/nbf/iat checked with PostgREST's 30 s skew; the
//   `role` claim picks the role (default anon). No credentials at all -> anon, as
//   PostgREST's anonymous role (Supabase's hosted gateway would require an apikey).
//   Each request: one transaction on a pooled `authenticator` connection, `set local
//   role`, the impersonated role's own settings (e.g. statement_timeout) and the
//   request.jwt.claims / request.method / request.path settings, the call, commit.
//   Errors: PostgREST's {code, message, details, hint} and its SQLSTATE -> HTTP status
//   mapping (see statusFor), PGRST000/001/002/003 for the database being unreachable.
//   /functions/v1/<path> is proxied to functionsUrl + /<path> (method, headers, body
//   streamed), as Supabase's gateway routes Edge Functions.
// Not covered: tables and views, filters/select/order on RPC results, Prefer (count,
// return, tx, params), bulk (array) calls, variadic or unnamed parameters, RAISE
// SQLSTATE 'PGRST' responses, request.headers/cookies settings, CORS, OpenAPI.
// Never logs keys, tokens or bodies.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import http from "node:http";
import https from "node:https";
import path from "node:path";
import { pipeline } from "node:stream";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { localKeys } from "./keys.mjs";

// Supabase exposes `public` (and graphql_public, which this project does not use); a
// project adds its own schemas to the API's exposed schemas in the dashboard.
const DEFAULT_EXPOSED_SCHEMAS = ["public"];
const ANON_ROLE = "anon";
const API_ROLES = new Set([ANON_ROLE, "authenticated", "service_role"]);
/** Default request body limit: 1 MiB (hosted Supabase's own limit is not documented). */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** Default max rows of a set-returning result: a new hosted project's "Max rows". */
export const DEFAULT_MAX_ROWS = 1000;
const JWT_CLOCK_SKEW_SECONDS = 30;
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
]);

class HttpError extends Error {
  constructor(status, body, headers = {}) {
    super(body.message);
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

/** An error in PostgREST's shape, with the Proxy-Status header PostgREST 13 adds. */
function pgrstError(status, code, message, { details = null, hint = null, headers = {} } = {}) {
  return new HttpError(status, { code, message, details, hint }, {
    "proxy-status": `PostgREST; error=${code}`,
    ...headers,
  });
}

/** An error raised by the API gateway itself (Kong answers with a bare message). */
function gatewayError(status, message) {
  return new HttpError(status, { message });
}

function jwtError(code, message) {
  return pgrstError(401, code, message, {
    headers: { "www-authenticate": `Bearer error="invalid_token", error_description=${JSON.stringify(message)}` },
  });
}

// PostgREST's SQLSTATE -> HTTP status mapping (docs: references/errors "HTTP Status
// Codes"; source: PostgREST.Error.pgErrorStatus, including its special cases).
const EXACT_STATUS = {
  "23503": 409,
  "23505": 409,
  "25006": 405,
  "53400": 500,
  "57P01": 503,
  "P0001": 400,
  "42883": 404,
  "42P01": 404,
  "42P17": 500,
};
const PREFIX_STATUS = {
  "08": 503,
  "09": 500,
  "0L": 403,
  "0P": 403,
  "25": 500,
  "28": 403,
  "2D": 500,
  "38": 500,
  "39": 500,
  "3B": 500,
  "40": 500,
  "53": 503,
  "54": 500,
  "55": 500,
  "57": 500,
  "58": 500,
  "F0": 500,
  "HV": 500,
  "P0": 500,
  "XX": 500,
};

function statusFor(code, message, authenticated) {
  if (code === "42501") return authenticated ? 403 : 401;
  if (code === "22023" && /^role .* does not exist$/.test(message)) return 401;
  if (code === "21000") return message.endsWith("requires a WHERE clause") ? 400 : 500;
  if (/^PT\d{3}$/.test(code)) return Number(code.slice(2));
  return EXACT_STATUS[code] ?? PREFIX_STATUS[code.slice(0, 2)] ?? 400;
}

function databaseError(err, role) {
  if (!(err instanceof pg.DatabaseError)) {
    return pgrstError(503, "PGRST001", "Database client error. Retrying the connection.", { details: err.message });
  }
  const status = statusFor(err.code, err.message, role !== ANON_ROLE);
  return pgrstError(status, err.code, err.message, {
    details: err.detail ?? null,
    hint: err.hint ?? null,
    headers: status === 401 ? { "www-authenticate": "Bearer" } : {},
  });
}

function connectionError(err) {
  if (/timeout exceeded when trying to connect/.test(err.message)) {
    return pgrstError(504, "PGRST003", "Timed out acquiring connection from connection pool.");
  }
  return pgrstError(503, "PGRST000", "Database connection error. Retrying the connection.", { details: err.message });
}

// ---------------------------------------------------------------------------
// Authentication

const digest = (value) => createHash("sha256").update(value).digest();

/** Constant-time string equality (hashing first makes the lengths equal). */
function sameSecret(a, b) {
  return timingSafeEqual(digest(a), digest(b));
}

function decodeSegment(segment) {
  const value = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error("not a JSON object");
  return value;
}

/** Verifies an HS256 JWT as PostgREST does; returns its claims or throws its JWT error. */
function verifyJwt(token, secret, now = Date.now() / 1000) {
  if (token === "") throw jwtError("PGRST301", "Empty JWT is sent in Authorization header");
  const parts = token.split(".");
  if (parts.length !== 3) throw jwtError("PGRST301", `Expected 3 parts in JWT; got ${parts.length}`);
  let header;
  try {
    header = decodeSegment(parts[0]);
  } catch {
    throw jwtError("PGRST301", "JWT cryptographic operation failed");
  }
  if (header.alg !== "HS256") throw jwtError("PGRST301", "Wrong or unsupported encoding algorithm");
  const expected = createHmac("sha256", secret).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2], "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw jwtError("PGRST301", "No suitable key or wrong key type");
  }
  let claims;
  try {
    claims = decodeSegment(parts[1]);
  } catch {
    throw jwtError("PGRST303", "Parsing claims failed");
  }
  const timeChecks = [
    ["exp", (t) => t < now - JWT_CLOCK_SKEW_SECONDS, "JWT expired"],
    ["nbf", (t) => t > now + JWT_CLOCK_SKEW_SECONDS, "JWT not yet valid"],
    ["iat", (t) => t > now + JWT_CLOCK_SKEW_SECONDS, "JWT issued at future"],
  ];
  for (const [claim, invalid, message] of timeChecks) {
    if (!(claim in claims)) continue;
    if (typeof claims[claim] !== "number") throw jwtError("PGRST303", `The JWT '${claim}' claim must be a number`);
    if (invalid(claims[claim])) throw jwtError("PGRST303", message);
  }
  return claims;
}

function bearerToken(authorization) {
  const [scheme, token, ...rest] = authorization.split(" ");
  return /^bearer$/i.test(scheme) && token !== undefined && rest.length === 0 ? token : "";
}

/** The database role and JWT claims of a request, from its apikey / Authorization headers. */
function authenticate(headers, keys) {
  const { apikey, authorization } = headers;
  // Supabase's gateway turns the new API keys into the matching legacy JWT before
  // PostgREST sees the request; any other sb_ key is rejected outright.
  let apiKeyToken = apikey;
  if (apikey?.startsWith("sb_")) {
    if (sameSecret(apikey, keys.secretKey)) apiKeyToken = keys.serviceRoleKey;
    else if (sameSecret(apikey, keys.publishableKey)) apiKeyToken = keys.anonKey;
    else throw gatewayError(401, "Invalid API key");
  }
  const userToken = authorization !== undefined && !/^bearer sb_/i.test(authorization)
    ? bearerToken(authorization)
    : undefined;
  // The apikey must itself be a key of this project even when a user token rides along.
  const apiKeyClaims = apiKeyToken === undefined ? undefined : verifyJwt(apiKeyToken, keys.jwtSecret);
  // supabase-js sends a legacy key both as apikey and as the bearer token: verified once.
  const claims = userToken === undefined
    ? apiKeyClaims ?? {}
    : userToken === apiKeyToken
    ? apiKeyClaims
    : verifyJwt(userToken, keys.jwtSecret);
  const role = typeof claims.role === "string" ? claims.role : ANON_ROLE;
  if (!API_ROLES.has(role)) {
    throw pgrstError(403, "42501", `permission denied to set role ${JSON.stringify(role)}`);
  }
  return { role, claims: { ...claims, role } };
}

// ---------------------------------------------------------------------------
// Schema cache: callable functions of the exposed schema and the API roles' settings

const FUNCTIONS_SQL = `
select n.nspname as schema,
       p.proname as name,
       p.proretset as "returnsSet",
       p.prorettype = 'pg_catalog.void'::pg_catalog.regtype as "returnsVoid",
       p.pronargdefaults as "defaults",
       coalesce((select pg_catalog.json_agg(pg_catalog.json_build_object(
                          'name', a.name, 'type', pg_catalog.format_type(a.type, null)) order by a.n)
                   from unnest(coalesce(p.proallargtypes, p.proargtypes::pg_catalog.oid[]),
                                          coalesce(p.proargnames, '{}'),
                                          coalesce(p.proargmodes, pg_catalog.array_fill('i'::"char", array[p.pronargs])))
                        with ordinality as a(type, name, mode, n)
                  where a.mode in ('i', 'b')), '[]') as inputs
  from pg_catalog.pg_proc p
  join pg_catalog.pg_namespace n on n.oid = p.pronamespace
 where n.nspname = any($1)
   and p.prokind = 'f'
   and not ('v' = any(coalesce(p.proargmodes, '{}')))`;

const ROLE_SETTINGS_SQL = `
select r.rolname as role, s.setconfig as config
  from pg_catalog.pg_db_role_setting s
  join pg_catalog.pg_roles r on r.oid = s.setrole
 where r.rolname = any($1)
   and s.setdatabase in (0, (select d.oid from pg_catalog.pg_database d where d.datname = pg_catalog.current_database()))
 order by s.setdatabase`;

/** The schema cache's key of a function. */
const functionKey = (schema, name) => JSON.stringify([schema, name]);

async function loadSchemaCache(pool, schemas) {
  const [functions, settings] = await Promise.all([
    pool.query(FUNCTIONS_SQL, [schemas]),
    pool.query(ROLE_SETTINGS_SQL, [[...API_ROLES]]),
  ]);
  const byName = new Map();
  for (const fn of functions.rows) {
    // Only functions whose every input has a name can be called with named arguments.
    if (fn.inputs.some((input) => !input.name)) continue;
    fn.required = fn.inputs.slice(0, fn.inputs.length - fn.defaults).map((input) => input.name);
    const key = functionKey(fn.schema, fn.name);
    byName.set(key, [...(byName.get(key) ?? []), fn]);
  }
  const roleSettings = new Map([...API_ROLES].map((role) => [role, new Map()]));
  for (const { role, config } of settings.rows) {
    for (const entry of config) {
      const at = entry.indexOf("=");
      roleSettings.get(role).set(entry.slice(0, at), entry.slice(at + 1));
    }
  }
  return { byName, roleSettings };
}

function matchingFunctions(cache, schema, name, argNames) {
  return (cache.byName.get(functionKey(schema, name)) ?? []).filter((fn) =>
    argNames.every((arg) => fn.inputs.some((input) => input.name === arg)) &&
    fn.required.every((arg) => argNames.includes(arg))
  );
}

function functionNotFound(cache, schema, name, argNames) {
  const qualified = `${schema}.${name}`;
  const listed = argNames.length ? `(${argNames.join(", ")})` : " without parameters";
  const searched = argNames.length
    ? ` with parameter${argNames.length > 1 ? "s" : ""} ${argNames.join(", ")}`
    : " without parameters";
  const overload = cache.byName.get(functionKey(schema, name))?.[0];
  return pgrstError(404, "PGRST202", `Could not find the function ${qualified}${listed} in the schema cache`, {
    details:
      `Searched for the function ${qualified}${searched} or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.`,
    hint: overload
      ? `Perhaps you meant to call the function ${qualified}(${overload.inputs.map((i) => i.name).sort().join(", ")})`
      : null,
  });
}

function ambiguousFunction(schema, name, candidates) {
  const signatures = candidates.map((fn) =>
    `${schema}.${name}(${fn.inputs.map((i) => `${i.name} => ${i.type}`).join(", ")})`
  );
  return pgrstError(300, "PGRST203", `Could not choose the best candidate function between: ${signatures.join(", ")}`, {
    hint: "Try renaming the parameters or the function itself in the database so function overloading can be resolved",
  });
}

/**
 * The query that calls `fn` with the given named arguments, passed as one JSON bind
 * parameter typed by the catalog, and returns its result as JSON text plus a row count.
 */
function callQuery(fn, args, stripNulls, maxRows) {
  const ident = pg.escapeIdentifier;
  const inputs = fn.inputs.filter((input) => Object.hasOwn(args, input.name));
  const call = `${ident(fn.schema)}.${ident(fn.name)}(${
    inputs.map((i) => `${ident(i.name)} => _args.${ident(i.name)}`).join(", ")
  })`;
  const from = inputs.length
    ? `pg_catalog.json_to_record($1::json) as _args(${
      inputs.map((i) => `${ident(i.name)} ${i.type}`).join(", ")
    }), ${call} as _r`
    : `${call} as _r`;
  const [json, rows] = fn.returnsSet
    ? ["coalesce(pg_catalog.json_agg(_r), '[]')", "pg_catalog.count(*)::int"]
    : ["pg_catalog.to_json(_r)", "1"];
  const body = stripNulls ? `pg_catalog.json_strip_nulls(${json})` : json;
  // db-max-rows: PostgREST's LIMIT on the rows the function returns, in the function's order.
  const source = fn.returnsSet && maxRows > 0 ? `(select _r from ${from} limit ${maxRows}) as _s(_r)` : from;
  return {
    text: `select ${fn.returnsVoid ? "null" : `(${body})::text`} as body, ${rows} as rows from ${source}`,
    values: inputs.length ? [JSON.stringify(args)] : [],
  };
}

// ---------------------------------------------------------------------------
// HTTP helpers

function send(res, status, body, headers = {}) {
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  }).end(text);
}

/** Reads the request body up to `limit` bytes; a larger one is drained and refused with 413. */
function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const tooLarge = () => gatewayError(413, `Request body exceeds ${limit} bytes`);
    if (Number(req.headers["content-length"] ?? 0) > limit) {
      req.resume();
      reject(tooLarge());
      return;
    }
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on("end", () => (size > limit ? reject(tooLarge()) : resolve(Buffer.concat(chunks).toString("utf8"))));
    req.on("error", reject);
  });
}

/** The response media type PostgREST would pick for this Accept header. */
function negotiate(accept = "*/*") {
  for (const item of accept.split(",")) {
    const [type, ...params] = item.split(";").map((s) => s.trim().toLowerCase());
    const stripNulls = params.includes("nulls=stripped");
    if (type === "application/vnd.pgrst.object+json") return { single: true, stripNulls, type };
    if (type === "application/vnd.pgrst.array+json") return { single: false, stripNulls, type };
    if (["application/json", "application/*", "*/*", ""].includes(type)) {
      return { single: false, stripNulls: false, type: "application/json" };
    }
  }
  throw pgrstError(406, "PGRST107", `None of these media types are available: ${accept}`);
}

/** The schema a request addresses: its profile header's, else the first exposed one. */
function requestSchema(headers, method, exposed) {
  const profile = method === "POST" ? headers["content-profile"] : headers["accept-profile"];
  if (profile === undefined) return exposed[0];
  if (!exposed.includes(profile)) {
    throw pgrstError(406, "PGRST106", `Invalid schema: ${profile}`, {
      hint: `Only the following schemas are exposed: ${exposed.join(", ")}`,
    });
  }
  return profile;
}

async function requestArguments(req, url, bodyLimit) {
  if (req.method !== "POST") {
    return Object.fromEntries(url.searchParams);
  }
  const contentType = req.headers["content-type"];
  if (contentType !== undefined && !/^application\/json\s*(;|$)/i.test(contentType)) {
    throw pgrstError(415, "PGRST107", `None of these media types are available: ${contentType}`);
  }
  const text = await readBody(req, bodyLimit);
  if (text.trim() === "") return {};
  let args;
  try {
    args = JSON.parse(text);
  } catch {
    throw pgrstError(400, "PGRST102", "Empty or invalid json");
  }
  if (args === null || typeof args !== "object" || Array.isArray(args)) {
    throw pgrstError(400, "PGRST102", "Empty or invalid json", {
      details: "This gateway accepts only a JSON object of named arguments",
    });
  }
  return args;
}

// ---------------------------------------------------------------------------

/** A non-negative integer setting from the environment, or its default when unset or empty. */
export function limitFromEnv(env, name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export async function startGateway({
  databaseUrl,
  port = 0,
  host = "127.0.0.1",
  keys = localKeys(),
  functionsUrl,
  exposedSchemas = DEFAULT_EXPOSED_SCHEMAS,
  maxRows = DEFAULT_MAX_ROWS,
  bodyLimit = DEFAULT_BODY_LIMIT,
}) {
  if (!databaseUrl) throw new Error("startGateway: databaseUrl is required");
  if (!Array.isArray(exposedSchemas) || exposedSchemas.length === 0) {
    throw new Error("startGateway: exposedSchemas must name at least one schema");
  }
  if (!Number.isSafeInteger(maxRows) || maxRows < 0) {
    throw new RangeError("startGateway: maxRows must be an integer >= 0 (0: no cap)");
  }
  if (!Number.isSafeInteger(bodyLimit) || bodyLimit < 1) {
    throw new RangeError("startGateway: bodyLimit must be a positive integer");
  }
  // PostgREST logs in as `authenticator` and only ever switches to the API roles; the
  // login role's settings (statement_timeout 8 s) hold for service_role, which has none.
  const authenticatorUrl = new URL(databaseUrl);
  authenticatorUrl.username = "authenticator";
  authenticatorUrl.password = "";
  const pool = new pg.Pool({
    connectionString: authenticatorUrl.toString(),
    max: 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 10000,
    application_name: "supabase-session-store gateway",
  });
  // An idle connection dies when the database restarts; the pool drops it and the
  // next request gets a fresh one. Without a listener the error would crash the process.
  pool.on("error", () => {});
  // The pool listens only to idle clients: a connection terminated while checked out
  // (pg_terminate_backend, a restart) emits 'error' on its client, which would crash the
  // process. The failing query already rejects with that error; release(true) drops it.
  pool.on("connect", (client) => client.on("error", () => {}));

  let schemaCache;
  async function schema({ reload = false } = {}) {
    if (!schemaCache || reload) {
      const loading = loadSchemaCache(pool, exposedSchemas);
      schemaCache = loading;
      loading.catch(() => {
        if (schemaCache === loading) schemaCache = undefined;
      });
    }
    try {
      return await schemaCache;
    } catch (err) {
      process.stderr.write(`[gateway] schema cache load failed: ${err.message}\n`);
      throw pgrstError(503, "PGRST002", "Could not query the database for the schema cache. Retrying.");
    }
  }

  async function resolveFunction(inSchema, name, argNames) {
    let cache = await schema();
    let candidates = matchingFunctions(cache, inSchema, name, argNames);
    if (candidates.length === 0) {
      cache = await schema({ reload: true });
      candidates = matchingFunctions(cache, inSchema, name, argNames);
    }
    if (candidates.length === 0) throw functionNotFound(cache, inSchema, name, argNames);
    if (candidates.length > 1) throw ambiguousFunction(inSchema, name, candidates);
    return { fn: candidates[0], roleSettings: cache.roleSettings };
  }

  async function inTransaction({ role, claims, method, requestPath, readOnly, settings }, query) {
    let client;
    try {
      client = await pool.connect();
    } catch (err) {
      throw connectionError(err);
    }
    let broken = false;
    try {
      await client.query(`begin${readOnly ? " read only" : ""}; set local role ${pg.escapeIdentifier(role)}`);
      await client.query(
        `select pg_catalog.set_config('request.jwt.claims', $1, true),
                pg_catalog.set_config('request.method', $2, true),
                pg_catalog.set_config('request.path', $3, true),
                (select pg_catalog.count(pg_catalog.set_config(k, v, true)) from unnest($4::text[], $5::text[]) as s(k, v))`,
        [JSON.stringify(claims), method, requestPath, [...settings.keys()], [...settings.values()]],
      );
      const result = await client.query(query);
      await client.query("commit");
      return result.rows[0];
    } catch (err) {
      broken = !(err instanceof pg.DatabaseError);
      if (!broken) {
        await client.query("rollback").catch(() => {
          broken = true;
        });
      }
      throw databaseError(err, role);
    } finally {
      client.release(broken);
    }
  }

  async function handleRpc(req, res, url, name) {
    if (!["GET", "HEAD", "POST"].includes(req.method)) {
      throw pgrstError(405, "PGRST101", `Cannot use the ${req.method} method on RPC`);
    }
    const { role, claims } = authenticate(req.headers, keys);
    const inSchema = requestSchema(req.headers, req.method, exposedSchemas);
    const media = negotiate(req.headers.accept);
    const args = await requestArguments(req, url, bodyLimit);
    const argNames = Object.keys(args).sort();
    const { fn, roleSettings } = await resolveFunction(inSchema, name, argNames);
    const row = await inTransaction({
      role,
      claims,
      method: req.method,
      requestPath: `/rpc/${name}`,
      readOnly: req.method !== "POST",
      settings: roleSettings.get(role),
    }, callQuery(fn, args, media.stripNulls, maxRows));
    if (fn.returnsVoid) {
      send(res, 204);
      return;
    }
    let body = row.body;
    if (media.single && fn.returnsSet) {
      if (row.rows !== 1) {
        throw pgrstError(406, "PGRST116", "Cannot coerce the result to a single JSON object", {
          details: `The result contains ${row.rows} rows`,
        });
      }
      body = JSON.stringify(JSON.parse(body)[0]);
    }
    send(res, 200, body ?? "null", { "content-type": `${media.type}; charset=utf-8` });
  }

  function proxyFunction(req, res, url) {
    if (!functionsUrl) throw gatewayError(503, "Edge Functions are not configured on this gateway");
    const target = new URL(functionsUrl);
    target.pathname = path.posix.join(target.pathname, url.pathname.slice("/functions/v1".length) || "/");
    target.search = url.search;
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !HOP_BY_HOP.has(name)));
    const unavailable = () => {
      if (res.headersSent) res.destroy();
      else send(res, 503, { message: "Edge Functions service is unavailable" });
    };
    const upstream = (target.protocol === "https:" ? https : http).request(
      target,
      { method: req.method, headers },
      (up) => {
        const back = Object.fromEntries(Object.entries(up.headers).filter(([name]) => !HOP_BY_HOP.has(name)));
        res.writeHead(up.statusCode, back);
        pipeline(up, res, () => {});
      },
    );
    upstream.on("error", unavailable);
    pipeline(req, upstream, (err) => {
      if (err) upstream.destroy();
    });
  }

  async function handle(req, res) {
    const url = new URL(req.url, "http://gateway.invalid");
    if (url.pathname === "/functions/v1" || url.pathname.startsWith("/functions/v1/")) {
      proxyFunction(req, res, url);
      return;
    }
    if (url.pathname.startsWith("/rest/v1/")) {
      const rpc = /^\/rest\/v1\/rpc\/([^/]+)$/.exec(url.pathname);
      if (!rpc) throw pgrstError(404, "PGRST125", "Invalid path specified in request URL");
      await handleRpc(req, res, url, decodeURIComponent(rpc[1]));
      return;
    }
    throw gatewayError(404, "no Route matched with those values");
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!(err instanceof HttpError)) {
        process.stderr.write(`[gateway] unexpected ${err.name}: ${err.message}\n`);
        err = gatewayError(500, "Internal gateway error");
      }
      if (res.headersSent) res.destroy();
      else send(res, err.status, err.body, err.headers);
      // A request refused before its body was read still has to be drained.
      req.resume();
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  return {
    url: `http://${host}:${server.address().port}`,
    async close() {
      await new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      });
      await pool.end();
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const { DATABASE_URL, GATEWAY_PORT, FUNCTIONS_URL } = process.env;
  if (!DATABASE_URL) {
    process.stderr.write(
      "usage: DATABASE_URL=postgresql://... [GATEWAY_PORT=0] [FUNCTIONS_URL=http://...] [API_MAX_ROWS=1000] [API_BODY_LIMIT=1048576] node scripts/gateway.mjs\n",
    );
    process.exit(2);
  }
  const gateway = await startGateway({
    databaseUrl: DATABASE_URL,
    port: Number(GATEWAY_PORT ?? 0),
    functionsUrl: FUNCTIONS_URL || undefined,
    maxRows: limitFromEnv(process.env, "API_MAX_ROWS", DEFAULT_MAX_ROWS),
    bodyLimit: limitFromEnv(process.env, "API_BODY_LIMIT", DEFAULT_BODY_LIMIT),
  });
  process.stdout.write(`${gateway.url}\n`);
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, () => gateway.close().then(() => process.exit(0)));
  }
}
