// The gateway's answers when something is refused or fails: PostgREST's error JSON
// ({code, message, details, hint}) with its SQLSTATE -> HTTP status mapping, and the
// bare messages the API gateway in front of PostgREST answers with itself.
import pg from "pg";
import { ANON_ROLE } from "./roles.mjs";

/** A refusal or failure, carried up to the request handler and answered as is. */
export class HttpError extends Error {
  constructor(status, body, headers = {}) {
    super(body.message);
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

/** An error in PostgREST's shape, with the Proxy-Status header PostgREST 13 adds. */
export function pgrstError(status, code, message, { details = null, hint = null, headers = {} } = {}) {
  return new HttpError(status, { code, message, details, hint }, {
    "proxy-status": `PostgREST; error=${code}`,
    ...headers,
  });
}

/** An error raised by the API gateway itself (Kong answers with a bare message, at most a hint). */
export function gatewayError(status, message, { hint, headers = {} } = {}) {
  return new HttpError(status, hint === undefined ? { message } : { message, hint }, headers);
}

export function jwtError(code, message) {
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
  // Insufficient privilege: 401 for the anonymous role, so an anon JWT or a publishable
  // key calling a session function gets 401; 403 for any other role. PostgREST decides
  // "authenticated" by the role, not by whether a JWT came (App.hs:
  // `Error.PgError (Just authRole /= configDbAnonRole)`; Error.hs: `"42501" -> if authed
  // then HTTP.status403 else HTTP.status401`), as its errors reference documents.
  if (code === "42501") return authenticated ? 403 : 401;
  if (code === "22023" && /^role .* does not exist$/.test(message)) return 401;
  if (code === "21000") return message.endsWith("requires a WHERE clause") ? 400 : 500;
  if (/^PT\d{3}$/.test(code)) return Number(code.slice(2));
  return EXACT_STATUS[code] ?? PREFIX_STATUS[code.slice(0, 2)] ?? 400;
}

export function databaseError(err, role) {
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

export function connectionError(err) {
  if (/timeout exceeded when trying to connect/.test(err.message)) {
    return pgrstError(504, "PGRST003", "Timed out acquiring connection from connection pool.");
  }
  return pgrstError(503, "PGRST000", "Database connection error. Retrying the connection.", { details: err.message });
}
