// Authentication: a request's apikey / Authorization headers to the database role and
// JWT claims it runs with, as Supabase's API gateway and PostgREST together map them.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { gatewayError, jwtError, pgrstError } from "./errors.mjs";
import { ANON_ROLE, API_ROLES } from "./roles.mjs";

const JWT_CLOCK_SKEW_SECONDS = 30;

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

/**
 * Refuses a request that carries no `apikey` header, as hosted Supabase's API gateway does
 * before the request reaches PostgREST, whatever its Authorization header holds. What it
 * answers, as found (late 2026):
 * - Supabase's troubleshooting guide "Auth error: {401: UNAUTHORIZED_MISSING_API_KEY} on
 *   admin endpoints" (supabase.com/kb/troubleshooting): HTTP 401, header
 *   `sb-error-code: UNAUTHORIZED_MISSING_API_KEY`, "No API key found in request", also when
 *   the key is sent only as `Authorization: Bearer`.
 * - The body users quote from the hosted API (e.g. github.com/writingmate/chatlabs/issues/118,
 *   a 401 in github.com/supabase/supabase-flutter/issues/190):
 *   {"message":"No API key found in request","hint":"No `apikey` request header or url param was found."}
 * - A Supabase maintainer in github.com/supabase/supabase-js/pull/1293: the API gateway
 *   "ignores checking the Authorization header and only looks at the apikey header".
 * The hosted gateway also takes the key as an `apikey` URL parameter; this stand-in does
 * not (stricter, never more forgiving).
 */
export function requireApiKey(headers) {
  if (headers.apikey === undefined || headers.apikey === "") {
    throw gatewayError(401, "No API key found in request", {
      hint: "No `apikey` request header or url param was found.",
      headers: { "sb-error-code": "UNAUTHORIZED_MISSING_API_KEY" },
    });
  }
}

/** The database role and JWT claims of a request that has passed requireApiKey. */
export function authenticate(headers, keys) {
  const { apikey, authorization } = headers;
  // Supabase's gateway turns the new API keys into the matching legacy JWT before
  // PostgREST sees the request; any other sb_ key is rejected outright.
  let apiKeyToken = apikey;
  if (apikey.startsWith("sb_")) {
    if (sameSecret(apikey, keys.secretKey)) apiKeyToken = keys.serviceRoleKey;
    else if (sameSecret(apikey, keys.publishableKey)) apiKeyToken = keys.anonKey;
    else throw gatewayError(401, "Invalid API key");
  }
  const userToken = authorization !== undefined && !/^bearer sb_/i.test(authorization)
    ? bearerToken(authorization)
    : undefined;
  // The apikey must itself be a key of this project even when a user token rides along.
  const apiKeyClaims = verifyJwt(apiKeyToken, keys.jwtSecret);
  // supabase-js sends a legacy key both as apikey and as the bearer token: verified once.
  const claims = userToken === undefined || userToken === apiKeyToken
    ? apiKeyClaims
    : verifyJwt(userToken, keys.jwtSecret);
  const role = typeof claims.role === "string" ? claims.role : ANON_ROLE;
  if (!API_ROLES.has(role)) {
    throw pgrstError(403, "42501", `permission denied to set role ${JSON.stringify(role)}`);
  }
  return { role, claims: { ...claims, role } };
}
