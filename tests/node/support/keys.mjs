// What the database holds for a session id, computed as the store computes it: the stored
// key is the hex SHA-256 of the id, the handle (listings, the account page) the hex SHA-256
// of the key. Tests that read or write rows by hand go through these, never a raw id.
import { createHash } from "node:crypto";

const sha256 = (text) => createHash("sha256").update(text, "utf8").digest("hex");

/** The stored key of session id `sid`. */
export const keyOf = (sid) => sha256(sid);

/** The handle of session id `sid`. */
export const handleOf = (sid) => sha256(keyOf(sid));
