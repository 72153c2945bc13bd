/** An error returned by a supabase-js `.rpc()` call (PostgREST's error JSON), as a real Error. */
export class RpcError extends Error {
  override readonly name = "RpcError";
  /** Postgres SQLSTATE or PostgREST code (e.g. `42501`, `PGRST202`); empty for a network failure. */
  readonly code: string;
  /** HTTP status; 0 when the request never got a response. */
  readonly status: number;
  readonly details: string | null;
  readonly hint: string | null;

  constructor(
    error: { message?: string; code?: string; details?: string | null; hint?: string | null },
    status: number,
  ) {
    super(error.message || `RPC failed with HTTP ${status}`);
    this.code = error.code ?? "";
    this.status = status;
    this.details = error.details ?? null;
    this.hint = error.hint ?? null;
  }
}

/**
 * A stored session that cannot be handed to express-session. It names the row by the first
 * 16 hex digits of its key (the hex SHA-256 of the session id, which the database holds
 * in place of the id, a bearer credential), enough for an operator to find it:
 * `where sid like '<sidHash>%'`.
 */
export class CorruptSessionError extends Error {
  override readonly name = "CorruptSessionError";
  readonly sidHash: string;

  /** `key`: the row's stored key (its `sid` column), which is also its handle. */
  constructor(key: string, reason: string) {
    const sidHash = key.slice(0, 16);
    super(`corrupt session row (sid sha256 ${sidHash}…): ${reason}; treated as no session`);
    this.sidHash = sidHash;
  }
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);
// 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now; PGRST000-002:
// PostgREST could not reach or read the database.
const SERVER_UNAVAILABLE_CODES = new Set(["57P01", "57P02", "57P03", "PGRST000", "PGRST001", "PGRST002"]);
// node-postgres reports a dropped or timed-out connection with these messages and no code.
const PG_CONNECTION_MESSAGE =
  /connection terminated|connection timeout|timeout exceeded when trying to connect|client has encountered a connection error/i;

/** Whether an error means the database (or the API in front of it) is unreachable, not that a query failed. */
export function isConnectionError(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== "object" || depth > 3) return false;
  const { code, status, message, cause, errors } = err as {
    code?: unknown;
    status?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (
    typeof code === "string" && (NETWORK_CODES.has(code) || SERVER_UNAVAILABLE_CODES.has(code) || code.startsWith("08"))
  ) {
    return true;
  }
  if (err instanceof RpcError && (status === 0 || status === 502 || status === 503 || status === 504)) return true;
  if (typeof message === "string" && PG_CONNECTION_MESSAGE.test(message)) return true;
  if (Array.isArray(errors) && errors.some((e) => isConnectionError(e, depth + 1))) return true;
  return isConnectionError(cause, depth + 1);
}
