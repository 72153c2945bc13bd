import type { SessionData } from "express-session";
import { toEpochMs } from "./session-data.js";

/** One of a user's live sessions, as an account page lists it. */
export interface UserSession {
  /** The session's handle: its stored key, hex SHA-256 of its id. Not the id, and not usable as one. */
  id: string;
  /** When the session was first stored. */
  createdAt: Date;
  /**
   * When the session was last written (saved, or touched). With `touchAfter`, a touch writes
   * at most once per `touchAfter` seconds, so this can lag the last request by that much.
   */
  lastActiveAt: Date;
  expiresAt: Date;
  /** The stored session data, as `get` would return it. */
  session: SessionData;
}

/** A Passport user id as the SQL compares it (`data.passport.user` as text). */
export function userIdText(userId: unknown): string {
  if ((typeof userId === "string" && userId.length > 0) || (typeof userId === "number" && Number.isFinite(userId))) {
    return String(userId);
  }
  throw new TypeError(`userId must be a non-empty string or a finite number, got ${kindOf(userId)}`);
}

const HANDLE = /^[0-9a-f]{64}$/i;

/** A session handle as the SQL expects it (64 lowercase hex digits). */
export function handleText(handle: unknown): string {
  if (typeof handle === "string" && HANDLE.test(handle)) return handle.toLowerCase();
  throw new TypeError(`session handle must be a string of 64 hex digits, got ${kindOf(handle)}`);
}

/** A `session_list_user` row as a UserSession, given its already-checked data. */
export function toUserSession(row: Record<string, unknown>, session: SessionData): UserSession {
  return {
    id: String(row.handle),
    createdAt: new Date(toEpochMs(row.created_at)),
    lastActiveAt: new Date(toEpochMs(row.updated_at)),
    expiresAt: new Date(toEpochMs(row.expires_at)),
    session,
  };
}

/** Most recently active first; ties in handle order, so the order is stable. */
export function byLastActive(a: UserSession, b: UserSession): number {
  return b.lastActiveAt.getTime() - a.lastActiveAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

// Names the kind of a bad value, never the value: it could be a session id pasted by mistake.
function kindOf(value: unknown): string {
  if (value === "") return "an empty string";
  if (typeof value === "string") return `a string of ${value.length} characters`;
  if (typeof value === "number") return String(value);
  return value === null ? "null" : typeof value;
}
