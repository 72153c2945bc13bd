import { hash } from "node:crypto";
import { checkSid } from "./session-data.js";

/**
 * The key a session is stored under, which is also its handle: hex SHA-256 of its id's
 * UTF-8 bytes, what the SQL function `session_handle` computes. The id is a bearer
 * credential, so the database never sees it: every call carries the key, and a key
 * presented as a cookie's id is hashed again and finds nothing. The key names the session
 * in a listing (`listUserSessions`, `all`, `ids`), on an account page and in errors.
 */
export function sessionKey(sid: string): string {
  // The one-shot hash (Node 20.12+, 21.7+) makes no Hash object: a quarter of createHash's time.
  return hash("sha256", sid, "hex");
}

/**
 * The key of the session `sid`, after checking the id as express-session would have made
 * it (a TypeError or RangeError otherwise): what every store operation sends for an id.
 */
export function keyOf(sid: string): string {
  checkSid(sid);
  return sessionKey(sid);
}
