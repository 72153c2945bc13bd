import { createHash } from "node:crypto";

/**
 * The key a session is stored under: hex SHA-256 of its id's UTF-8 bytes. The id is a bearer
 * credential, so the database never sees it: every call carries the key, and a key presented
 * as a cookie's id is hashed again and finds nothing. The same SHA-256 as the SQL function
 * `session_handle`, which the migration for pre-release databases used to convert their ids.
 */
export function sessionKey(sid: string): string {
  return sha256Hex(sid);
}

/**
 * The handle of a stored session: hex SHA-256 of its key, what the SQL function
 * `session_handle` computes. It names a session in a listing (`listUserSessions`, `all`,
 * `ids`), a page or an error, and is neither an id nor a key.
 */
export function handleOfKey(key: string): string {
  return sha256Hex(key);
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}
