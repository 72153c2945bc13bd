// What a save would store, apart from when the session expires: so that a `set` of unchanged
// data (what @fastify/session's rolling sessions send on every request) can be recognised.
import { createHash } from "node:crypto";

/**
 * The cookie fields that only say when the session expires: `expires` (express-session's and
 * @fastify/session's), and @fastify/session's `originalExpires`, its copy of the expiry it
 * loaded, which it overwrites from `expires` whenever it loads the session.
 */
const EXPIRY_FIELDS = new Set(["expires", "originalExpires"]);

/**
 * A SHA-256 of the session's JSON with the cookie's expiry fields left out and the top-level
 * and cookie keys sorted (the database returns keys in jsonb's order, the frameworks save
 * them in their own). Equal fingerprints mean the JSON the store would save is the same
 * but for the cookie's expiry; nested objects are compared in their own key order, so a
 * reordering there only reads as a change (a write), never the other way round.
 */
export function dataFingerprint(sess: object): string {
  const source = plain(sess);
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(source).sort()) {
    sorted[key] = key === "cookie" ? withoutExpiry(source[key]) : source[key];
  }
  return createHash("sha256").update(JSON.stringify(sorted)).digest("base64");
}

function withoutExpiry(cookie: unknown): unknown {
  if (typeof cookie !== "object" || cookie === null) return cookie;
  const source = plain(cookie);
  const kept: Record<string, unknown> = {};
  for (const key of Object.keys(source).sort()) if (!EXPIRY_FIELDS.has(key)) kept[key] = source[key];
  return kept;
}

/** The object JSON.stringify would serialise: its `toJSON()` when it has one. */
function plain(value: object): Record<string, unknown> {
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  const json: unknown = typeof toJSON === "function" ? toJSON.call(value) : value;
  return typeof json === "object" && json !== null ? json as Record<string, unknown> : { "": json };
}
