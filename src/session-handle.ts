import { createHash } from "node:crypto";

/**
 * The handle of a session id: hex SHA-256 of its UTF-8 bytes, what the SQL function
 * `session_handle` computes. One-way: it names a session (in a listing, a log line, an
 * error) without revealing the id, a bearer credential.
 */
export function sessionHandle(sid: string): string {
  return createHash("sha256").update(sid, "utf8").digest("hex");
}
