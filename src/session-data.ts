import { CorruptSessionError } from "./errors.js";

/**
 * Longest session id the store takes. The table holds the id's hash, whatever its length;
 * the bound is the one pre-release tables checked, kept so that no id that worked before
 * stops working and none that never could is taken now (express-session's are 32).
 */
export const MAX_SID_LENGTH = 255;

export function checkSid(sid: unknown): asserts sid is string {
  if (typeof sid !== "string" || sid.length === 0) {
    throw new TypeError(`session id must be a non-empty string, got ${sid === "" ? "an empty string" : typeof sid}`);
  }
  if (sid.length > MAX_SID_LENGTH) {
    throw new RangeError(`session id must be at most ${MAX_SID_LENGTH} characters, got ${sid.length}`);
  }
  if (sid.includes("\0")) throw new TypeError("session id must not contain a NUL character");
  // UTF-8 encoding turns every lone surrogate into U+FFFD, so two different ids would hash to one key.
  if (LONE_SURROGATE.test(sid)) throw new TypeError("session id must be well-formed UTF-16 (it has a lone surrogate)");
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// A \u0000 escape that JSON.stringify produced (preceded by an even number of backslashes):
// Postgres jsonb rejects it, so it is refused before any round trip.
const NUL_ESCAPE = /(?:^|[^\\])(?:\\\\)*\\u0000/;
// JSON.stringify escapes exactly the lone surrogates as \udXXX; Postgres jsonb rejects them.
const LONE_SURROGATE_ESCAPE = /(?:^|[^\\])(?:\\\\)*\\ud[89a-f]/;

/**
 * The session as JSON text and its size in UTF-8 bytes, or a TypeError/RangeError saying
 * why it cannot be stored. A session without `cookie` is stored (with the store's ttl, see
 * cookieExpiry), as MemoryStore and the peer stores do; a `cookie` that is there must be
 * an object, so that everything `set` accepts `get` returns (parseStoredSession).
 */
export function serializeSession(sess: unknown, maxBytes: number): { json: string; bytes: number } {
  if (!isObject(sess)) throw new TypeError("session data must be an object");
  if (sess.cookie !== undefined && !isObject(sess.cookie)) {
    throw new TypeError("session cookie must be an object (express-session's) when present");
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(sess);
  } catch (err) {
    throw new TypeError(`session data cannot be serialised to JSON: ${(err as Error).message}`, { cause: err });
  }
  if (json === undefined || !json.startsWith("{")) throw new TypeError("session data must serialise to a JSON object");
  if (NUL_ESCAPE.test(json)) {
    throw new TypeError("session data must not contain NUL characters (Postgres jsonb cannot store them)");
  }
  if (LONE_SURROGATE_ESCAPE.test(json)) {
    throw new TypeError(
      "session data must be well-formed UTF-16: it has a lone surrogate (Postgres jsonb cannot store it)",
    );
  }
  const bytes = Buffer.byteLength(json, "utf8");
  if (bytes > maxBytes) {
    throw new RangeError(`session data is ${bytes} bytes as JSON, over the limit of ${maxBytes} bytes (maxDataBytes)`);
  }
  return { json, bytes };
}

/**
 * The expiry express-session computed for the cookie, or null when there is none (no
 * `cookie`, or a cookie without `expires`): then the store's ttl applies.
 */
export function cookieExpiry(sess: unknown): Date | null {
  if (!isObject(sess)) throw new TypeError("session data must be an object");
  const expires = isObject(sess.cookie) ? sess.cookie.expires : undefined;
  if (expires === undefined || expires === null) return null;
  const date = expires instanceof Date ? expires : typeof expires === "string" ? new Date(expires) : null;
  if (!date || Number.isNaN(date.getTime())) {
    throw new RangeError("session cookie.expires must be a valid Date or ISO date string");
  }
  return date;
}

/**
 * Checks a stored session before it is returned: a JSON object whose `cookie`, when
 * present, is an object with a date string (or nothing) as `expires`, which is what
 * express-session's `createSession` revives. A session stored without `cookie` comes back
 * as it was stored (serializeSession accepts it). Returns the data untouched.
 */
export function parseStoredSession(key: string, raw: unknown): Record<string, unknown> {
  let data = raw;
  if (typeof data === "string") {
    try {
      data = JSON.parse(data);
    } catch {
      throw new CorruptSessionError(key, "data is not valid JSON");
    }
  }
  if (!isObject(data)) throw new CorruptSessionError(key, "data is not a JSON object");
  if (data.cookie === undefined) return data;
  if (!isObject(data.cookie)) throw new CorruptSessionError(key, "data.cookie is not an object");
  const expires = data.cookie.expires;
  if (expires !== undefined && expires !== null && (typeof expires !== "string" || Number.isNaN(Date.parse(expires)))) {
    throw new CorruptSessionError(key, "data.cookie.expires is not a date string");
  }
  return data;
}

/** Milliseconds since the epoch of a timestamptz as a driver returns it (Date or string). */
export function toEpochMs(value: unknown): number {
  return value instanceof Date ? value.getTime() : new Date(String(value)).getTime();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
