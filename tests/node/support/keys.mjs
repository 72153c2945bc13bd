// What the database holds for a session id, computed as the store computes it: the stored
// key, hex SHA-256 of the id, which is also the handle listings and the account page name
// the session by. Tests that read or write rows by hand go through this, never a raw id.
import { createHash } from "node:crypto";

/** The stored key (and handle) of session id `sid`. */
export const keyOf = (sid) => createHash("sha256").update(sid, "utf8").digest("hex");

/**
 * The same key in SQL, of the text expression `expr` (for rows seeded in bulk): hex
 * SHA-256 of its UTF-8 bytes, as `public.session_handle` computes it.
 */
export const keySql = (expr) => `encode(sha256(convert_to(${expr}, 'UTF8')), 'hex')`;
