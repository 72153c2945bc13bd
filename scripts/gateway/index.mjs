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
//   `role` claim picks the role (default anon). A /rest/v1 request without an `apikey`
//   header is refused with 401 before anything else, whatever its Authorization, as
//   Supabase's hosted gateway refuses it (auth.mjs requireApiKey cites its answer); the
//   hosted gateway's `?apikey=` URL parameter is not accepted.
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
//
// One concern per module: auth.mjs (keys and JWTs to a role), rpc.mjs (one RPC call),
// request.mjs (what PostgREST reads from a request, the JSON answer), schema-cache.mjs
// (function signatures, role settings), database.mjs (authenticator pool, transaction,
// the call's query), limits.mjs (body limit, max rows), errors.mjs (PostgREST's error
// JSON and status codes), functions-proxy.mjs (/functions/v1); this file starts and
// stops the gateway and routes a request.
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { localKeys } from "../keys.mjs";
import { requireApiKey } from "./auth.mjs";
import { authenticatorPool } from "./database.mjs";
import { gatewayError, HttpError, pgrstError } from "./errors.mjs";
import { proxyFunction } from "./functions-proxy.mjs";
import { checkLimits, DEFAULT_BODY_LIMIT, DEFAULT_MAX_ROWS, limitFromEnv } from "./limits.mjs";
import { send } from "./request.mjs";
import { rpcHandler } from "./rpc.mjs";
import { createSchemaCache } from "./schema-cache.mjs";

export { DEFAULT_BODY_LIMIT, DEFAULT_MAX_ROWS, limitFromEnv };

// Supabase exposes `public` (and graphql_public, which this project does not use); a
// project adds its own schemas to the API's exposed schemas in the dashboard.
const DEFAULT_EXPOSED_SCHEMAS = ["public"];

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
  checkLimits({ maxRows, bodyLimit });
  const pool = authenticatorPool(databaseUrl);
  const schemaCache = createSchemaCache(pool, exposedSchemas);
  const handleRpc = rpcHandler({ pool, schemaCache, keys, exposedSchemas, maxRows, bodyLimit });

  async function handle(req, res) {
    const url = new URL(req.url, "http://gateway.invalid");
    if (url.pathname === "/functions/v1" || url.pathname.startsWith("/functions/v1/")) {
      proxyFunction(req, res, url, functionsUrl);
      return;
    }
    if (url.pathname.startsWith("/rest/v1/")) {
      // The API gateway checks the key of every /rest/v1 request before PostgREST sees it.
      requireApiKey(req.headers);
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
      "usage: DATABASE_URL=postgresql://... [GATEWAY_PORT=0] [FUNCTIONS_URL=http://...] [API_MAX_ROWS=1000] [API_BODY_LIMIT=1048576] node scripts/gateway/index.mjs\n",
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
