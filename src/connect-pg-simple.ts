// What switching from connect-pg-simple needs on both of its paths, the bulk import
// (src/cli/switch.ts) and the read-through (src/read-through.ts): where the old table is,
// how its `expire` is read, and an old row turned into what this store stores.
import { CorruptSessionError } from "./errors.js";
import { quoteIdent } from "./pg-backend.js";
import { checkSid, parseStoredSession, serializeSession } from "./session-data.js";
import { sessionKey } from "./session-key.js";

/** connect-pg-simple's own defaults (its `schemaName` and `tableName` options). */
export const DEFAULT_LEGACY_TABLE = "session";

export interface LegacyTable {
  /** connect-pg-simple's `schemaName`; default: none (the connection's search_path, as connect-pg-simple). */
  schemaName?: string;
  /** connect-pg-simple's `tableName`; default "session". */
  tableName?: string;
  /**
   * The TimeZone the old app's connections ran with. connect-pg-simple writes `expire`
   * (timestamp without time zone) as `to_timestamp(<epoch seconds>)`, which Postgres turns
   * into the local time of the writing connection's TimeZone. Default: the reading
   * connection's own TimeZone, which is the same whenever both use the server's default.
   */
  timeZone?: string;
}

/** The old table's quoted name, as connect-pg-simple quotes it. */
export function legacyTableName({ schemaName, tableName }: LegacyTable): string {
  const table = quoteIdent(tableName ?? DEFAULT_LEGACY_TABLE);
  return schemaName ? `${quoteIdent(schemaName)}.${table}` : table;
}

/**
 * The SQL expression of an old row's expiry as a timestamptz, reading `expire` in the
 * writer's TimeZone: `$<n>` carries the zone name, null for the connection's own.
 */
export function legacyExpiry(param: number, column = "expire"): string {
  return `(${column} at time zone coalesce($${param}::text, pg_catalog.current_setting('TimeZone')))`;
}

/** An old session as this store stores it: under its key, its data checked and serialised. */
export interface ImportedSession {
  key: string;
  json: string;
  bytes: number;
  expiry: Date;
}

/**
 * Turns a connect-pg-simple row into the session this store would hold, checked as the
 * store checks what it stores and what it returns (a `set` would refuse it; a `get` would
 * report it corrupt). Throws a CorruptSessionError, named by a prefix of the row's key, never its id.
 */
export function importedSession(sid: string, sess: unknown, expiry: Date, maxDataBytes: number): ImportedSession {
  const key = sessionKey(sid);
  try {
    checkSid(sid);
    const data = parseStoredSession(key, sess);
    return { key, ...serializeSession(data, maxDataBytes), expiry };
  } catch (err) {
    if (err instanceof CorruptSessionError) throw err;
    throw new CorruptSessionError(key, (err as Error).message);
  }
}
