// The store's options, checked up front: an unknown, missing or bad option is an error
// that names it, at construction, never a surprise on the first request.
import type { Queryable } from "./pg-backend.js";
import type { OldTableOptions } from "./old-table.js";
import { type PoolerEvidence, transactionPoolerInUrl, transactionPoolerOfPool } from "./pooler-mode.js";
import type { RpcClient } from "./rpc-backend.js";

/** Default `ttl`: one day, in seconds. */
export const DEFAULT_TTL_SECONDS = 86_400;
/** Default `maxDataBytes`: 64 KiB of JSON per session. */
export const DEFAULT_MAX_DATA_BYTES = 64 * 1024;
// Postgres truncates identifiers longer than this; a truncated schema name would silently miss.
const MAX_IDENTIFIER_BYTES = 63;

type Backends =
  | { client: RpcClient; pool?: never; connectionString?: never }
  | { pool: Queryable; client?: never; connectionString?: never }
  | { connectionString: string; client?: never; pool?: never };

export type SupabaseSessionStoreOptions = Backends & {
  /** Lifetime in seconds of a session whose cookie has no expiry (no `maxAge`). Default 86400 (one day). */
  ttl?: number;
  /**
   * Seconds: a touch writes only when it moves the stored expiry by at least this much. Default 0
   * (every touch writes). Keep it well below the cookie's maxAge (or ttl): a skipped touch leaves
   * the session up to this much shorter-lived.
   */
  touchAfter?: number;
  /** Never touch: the expiry moves only when the session is saved. Default false. */
  disableTouch?: boolean;
  /** Schema holding the session functions (quoted as an identifier). Default "public". */
  schema?: string;
  /**
   * Called with operational errors no callback receives: a corrupt stored session, a pool's idle
   * connection failing. Default: the `error` event if it has listeners, else `process.emitWarning`.
   */
  onError?: (err: Error) => void;
  /** Largest session accepted, in bytes of JSON. Default 65536 (64 KiB). */
  maxDataBytes?: number;
  /**
   * Commit session writes (`set`, `touch`) asynchronously: `synchronous_commit = off` for the
   * store's own write transactions only. Roughly doubles write throughput; a database crash
   * can lose the last fraction of a second of session writes (users would see an older session
   * or be logged out), never corrupt anything. `destroy` (logout) always stays durable.
   * Default false.
   */
  relaxedDurability?: boolean;
  /**
   * pg backends only: use named prepared statements (parsed once per connection). Default true,
   * except through a transaction pooler (`transactionPooler`), where named statements cannot
   * work: there the default is false and `true` is refused.
   */
  preparedStatements?: boolean;
  /**
   * While switching from connect-pg-simple (docs/switching.md): a session this store does not
   * hold is looked up in that store's table (`tableName`, default "session"; `schemaName`) and
   * saved here, and each save, touch and destroy is written back there for the old instances
   * still running. Uses the store's `pool`, or `connectPgSimple.pool` (needed with `client` or
   * `connectionString`). Remove it once no old instance runs and the old table is drained.
   */
  connectPgSimple?: OldTableOptions;
  /**
   * pg backends only: the connections go through a pooler that pools by transaction (Supavisor's
   * port 6543, PgBouncer in transaction mode). Default: taken from the connection string (or
   * the given pool's configuration): port 6543 or `pgbouncer=true` means yes. Set it when a
   * transaction pooler listens elsewhere, or `false` when a direct connection uses port 6543.
   */
  transactionPooler?: boolean;
};

// Every option name, so that a misspelt or foreign one (connect-pg-simple's `tableName`)
// is an error in JavaScript too rather than silently ignored. Typed so that a new option
// cannot be added to the options type without being listed here.
export const KNOWN_OPTIONS = Object.keys(
  {
    client: 0,
    pool: 0,
    connectionString: 0,
    ttl: 0,
    touchAfter: 0,
    disableTouch: 0,
    schema: 0,
    onError: 0,
    maxDataBytes: 0,
    relaxedDurability: 0,
    preparedStatements: 0,
    connectPgSimple: 0,
    transactionPooler: 0,
  } satisfies Record<keyof SupabaseSessionStoreOptions, 0>,
);

/** Where the store's SQL calls go: exactly one of the three backends the options name. */
export type BackendChoice =
  | { kind: "client"; client: RpcClient }
  | { kind: "pool"; pool: Queryable }
  | { kind: "connectionString"; connectionString: string };

/** The options with their defaults applied, every one checked. */
export interface StoreSettings {
  ttl: number;
  touchAfter: number;
  disableTouch: boolean;
  maxDataBytes: number;
  relaxedDurability: boolean;
  onError: ((err: Error) => void) | undefined;
  schema: string;
  preparedStatements: boolean;
  /** Whether the pg backend's connections go through a transaction pooler (false for supabase-js). */
  transactionPooler: boolean;
  backend: BackendChoice;
  /** The old table's options with the pool that reaches it, or undefined. */
  connectPgSimple: (OldTableOptions & { pool: Queryable }) | undefined;
}

/** Checks the options (throwing a TypeError or RangeError that names the bad one) and applies the defaults. */
export function parseStoreOptions(options: SupabaseSessionStoreOptions): StoreSettings {
  if (!options || typeof options !== "object") throw new TypeError("SupabaseSessionStore needs an options object");
  const unknown = Object.keys(options).filter((k) => !KNOWN_OPTIONS.includes(k));
  if (unknown.length) {
    throw new TypeError(
      `SupabaseSessionStore: unknown option${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}; ` +
        `known options: ${KNOWN_OPTIONS.join(", ")}`,
    );
  }
  const given = (["client", "pool", "connectionString"] as const).filter((k) => options[k] !== undefined);
  if (given.length !== 1) {
    throw new TypeError(
      `SupabaseSessionStore needs exactly one of client, pool, connectionString; got ${given.join(", ") || "none"}`,
    );
  }
  const ttl = positive("ttl", options.ttl ?? DEFAULT_TTL_SECONDS);
  const touchAfter = options.touchAfter ?? 0;
  if (!Number.isFinite(touchAfter) || touchAfter < 0) {
    throw new RangeError("touchAfter must be a number of seconds >= 0");
  }
  const maxDataBytes = options.maxDataBytes ?? DEFAULT_MAX_DATA_BYTES;
  if (!Number.isSafeInteger(maxDataBytes) || maxDataBytes < 1) {
    throw new RangeError("maxDataBytes must be a positive integer");
  }
  const schema = options.schema ?? "public";
  if (typeof schema !== "string" || schema.length === 0 || Buffer.byteLength(schema) > MAX_IDENTIFIER_BYTES) {
    throw new TypeError(`schema must be a non-empty identifier of at most ${MAX_IDENTIFIER_BYTES} bytes`);
  }
  const backend = backendChoice(options);
  const transactionPooler = transactionPoolerChoice(options, backend);
  return {
    ttl,
    touchAfter,
    disableTouch: options.disableTouch ?? false,
    maxDataBytes,
    relaxedDurability: options.relaxedDurability ?? false,
    onError: options.onError,
    schema,
    preparedStatements: preparedStatementsChoice(options, transactionPooler),
    transactionPooler: transactionPooler !== null,
    backend,
    connectPgSimple: readThroughChoice(options),
  };
}

/** Why the pg backend's connections are taken for a transaction pooler's, or null when they are not. */
function transactionPoolerChoice(options: SupabaseSessionStoreOptions, backend: BackendChoice): PoolerEvidence {
  const given = options.transactionPooler;
  if (given !== undefined && typeof given !== "boolean") throw new TypeError("transactionPooler must be a boolean");
  if (given === false) return null;
  if (backend.kind === "client") {
    if (given) throw new TypeError("transactionPooler applies to the pg backends (pool, connectionString), not client");
    return null;
  }
  if (given) return "transactionPooler: true";
  return backend.kind === "pool"
    ? transactionPoolerOfPool(backend.pool)
    : transactionPoolerInUrl(backend.connectionString);
}

/**
 * Named statements by default, unnamed through a transaction pooler, where a statement named
 * on one server connection is missing from (or already on) the next one the pooler picks.
 */
function preparedStatementsChoice(options: SupabaseSessionStoreOptions, pooler: PoolerEvidence): boolean {
  const given = options.preparedStatements;
  if (given !== undefined && typeof given !== "boolean") throw new TypeError("preparedStatements must be a boolean");
  if (given && pooler) {
    throw new TypeError(
      `preparedStatements: true cannot work through a transaction pooler (${pooler}): it hands each ` +
        "transaction to any server connection, where a statement named on another is missing " +
        '("prepared statement ... does not exist"). Leave preparedStatements out (the store then ' +
        "sends unnamed statements), or connect directly or through session mode (port 5432)",
    );
  }
  return given ?? !pooler;
}

/** The old table of a switch from connect-pg-simple, with the pool that reaches it, or undefined. */
function readThroughChoice(options: SupabaseSessionStoreOptions): StoreSettings["connectPgSimple"] {
  const given = options.connectPgSimple;
  if (given === undefined) return undefined;
  if (!given || typeof given !== "object") throw new TypeError("connectPgSimple must be an object");
  for (const name of ["schemaName", "tableName", "timeZone"] as const) {
    const value = given[name];
    if (value !== undefined && (typeof value !== "string" || value.length === 0)) {
      throw new TypeError(`connectPgSimple.${name} must be a non-empty string`);
    }
  }
  const pool = given.pool ?? options.pool;
  if (!pool) {
    throw new TypeError("connectPgSimple needs a pool to reach the old table: pass connectPgSimple.pool (a pg.Pool)");
  }
  if (typeof pool.query !== "function") throw new TypeError("connectPgSimple.pool must have a query() method");
  return { ...given, pool };
}

function backendChoice(options: SupabaseSessionStoreOptions): BackendChoice {
  if (options.client !== undefined) return { kind: "client", client: options.client };
  if (options.pool !== undefined) {
    if (typeof options.pool?.query !== "function") throw new TypeError("pool must have a query() method");
    return { kind: "pool", pool: options.pool };
  }
  if (typeof options.connectionString !== "string" || !options.connectionString) {
    throw new TypeError("connectionString must be a non-empty string");
  }
  return { kind: "connectionString", connectionString: options.connectionString };
}

function positive(name: string, value: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive number of seconds`);
  }
  return value;
}
