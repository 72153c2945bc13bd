import session from "express-session";
import type { SessionData } from "express-session";
import type { Args, Backend, SessionFunction } from "./backend.js";
import { JsonArg } from "./backend.js";
import { Batcher } from "./batcher.js";
import { ConnectionHealth } from "./connection-health.js";
import { PgBackend } from "./pg-backend.js";
import { RpcBackend } from "./rpc-backend.js";
import { monotonicNow, nextTick } from "./real-timers.js";
import { checkSid, cookieExpiry, parseStoredSession, serializeSession, toEpochMs } from "./session-data.js";
import { sessionHandle as handleOf } from "./session-handle.js";
import { type BackendChoice, parseStoreOptions, type SupabaseSessionStoreOptions } from "./store-options.js";
import { TouchPolicy } from "./touch-policy.js";
import { byLastActive, handleText, toUserSession, type UserSession, userIdText } from "./user-sessions.js";

export { DEFAULT_MAX_DATA_BYTES, DEFAULT_TTL_SECONDS, type SupabaseSessionStoreOptions } from "./store-options.js";
export { TOUCH_CACHE_SIZE } from "./touch-policy.js";

/** Most session ids one `session_get` call carries (concurrent gets share a call). */
export const MAX_GET_BATCH = 100;
/** Most session ids one `session_touch` call carries (concurrent touches share a call). */
export const MAX_TOUCH_BATCH = 100;
/** Most sessions one `session_save` call carries (concurrent saves share a call). */
export const MAX_SET_BATCH = 100;
/**
 * Most bytes of session JSON one `session_save` call carries: 256 KiB, a quarter of the
 * local gateway's request body limit (API_BODY_LIMIT, 1 MiB; hosted Supabase does not
 * document its own), leaving room for the sids, expiries and JSON framing. Past a few
 * dozen sessions a bigger call saves nothing more. A session larger than this (up to
 * `maxDataBytes`) still goes, alone; other requests' sessions never make a batch fail.
 */
export const MAX_SET_BATCH_BYTES = 256 * 1024;
/**
 * How many calls of one kind (get, touch, save) may be in flight at once: an operation
 * goes out at once while fewer are, and what arrives meanwhile shares the next call. More
 * than one lets durable write batches overlap and so share the database's WAL flushes.
 */
export const MAX_IN_FLIGHT = 2;
/**
 * Rows per page of `all()`, `ids()` and `listUserSessions()`: hosted Supabase's default max
 * rows, so that the API never cuts a page; where a project's max rows is set lower, `all()`
 * and `ids()` fail saying so, and `listUserSessions()` follows each page's `has_more`.
 */
export const LIST_PAGE_SIZE = 1000;
/** Sessions one `session_clear_batch` call destroys: well within the API's 8 s statement timeout. */
export const CLEAR_BATCH_SIZE = 5000;
type Callback<T> = (err: unknown, value?: T) => void;
type SessionRow = Record<string, unknown>;
/** A save waiting for its batch: the session's JSON (serialised when `set` was called) and its cookie's expiry. */
type PendingSave = { json: string; bytes: number; expiry: Date | null };
/** What session_save / session_save_one report for a session. */
type SaveOutcome = "stored" | "expired" | "destroyed";

/**
 * An express-session store on the Supabase sessions schema, through supabase-js (`client`) or
 * node-postgres (`pool` / `connectionString`). Every operation is one call of one SQL function.
 */
export class SupabaseSessionStore extends session.Store {
  readonly ttl: number;
  readonly touchAfter: number;
  readonly disableTouch: boolean;
  readonly maxDataBytes: number;
  readonly relaxedDurability: boolean;
  readonly #backend: Backend;
  readonly #gets: Batcher<void, SessionRow>;
  readonly #touches: Batcher<Date | null, true>;
  readonly #sets: Batcher<PendingSave, SaveOutcome>;
  readonly #touchPolicy: TouchPolicy;
  readonly #health: ConnectionHealth;
  readonly #onError: ((err: Error) => void) | undefined;
  #closed = false;

  constructor(options: SupabaseSessionStoreOptions) {
    super();
    const settings = parseStoreOptions(options);
    this.ttl = settings.ttl;
    this.touchAfter = settings.touchAfter;
    this.maxDataBytes = settings.maxDataBytes;
    this.disableTouch = settings.disableTouch;
    this.relaxedDurability = settings.relaxedDurability;
    this.#onError = settings.onError;
    this.#touchPolicy = new TouchPolicy(this.touchAfter);
    this.#health = new ConnectionHealth({
      emit: (event) => this.emit(event),
      probe: () => this.#call("rows", "session_get_one", { p_sid: "-" }),
    });
    this.#backend = this.#open(settings.backend, settings.schema, settings.preparedStatements);
    this.#gets = new Batcher({
      run: async (batch) => {
        const sids = [...batch.keys()];
        // One session (the common case at low load): the scalar-parameter function.
        const rows = sids.length === 1
          ? await this.#call("rows", "session_get_one", { p_sid: sids[0] })
          : await this.#call("rows", "session_get", { p_sids: sids });
        return new Map(rows.map((row) => [String(row.sid), row]));
      },
      maxBatch: MAX_GET_BATCH,
      maxInFlight: MAX_IN_FLIGHT,
      // Two concurrent requests for one session each get their own copy: express-session
      // mutates the object it is given, and one request's changes must not leak into the other.
      copy: structuredClone,
    });
    this.#touches = new Batcher({ run: (batch) => this.#touchBatch(batch), maxBatch: MAX_TOUCH_BATCH, maxInFlight: MAX_IN_FLIGHT });
    this.#sets = new Batcher({
      run: (batch) => this.#setBatch(batch),
      maxBatch: MAX_SET_BATCH,
      maxInFlight: MAX_IN_FLIGHT,
      maxBytes: MAX_SET_BATCH_BYTES,
      bytes: (save) => save.bytes,
    });
  }

  #open(choice: BackendChoice, schema: string, prepared: boolean): Backend {
    if (choice.kind === "client") return new RpcBackend(choice.client, schema);
    if (choice.kind === "pool") return new PgBackend({ pool: choice.pool }, schema, prepared);
    const onIdleError = (err: Error) => {
      this.#health.noteFailure(err);
      this.#report(err);
    };
    return new PgBackend({ connectionString: choice.connectionString, onIdleError }, schema, prepared);
  }

  /** The live session, or null when it is missing, expired, destroyed or corrupt (corrupt: reported). */
  override get(sid: string, callback?: Callback<SessionData | null>): Promise<SessionData | null> {
    return this.#run(callback, async () => {
      checkSid(sid);
      const row = await this.#gets.add(sid, undefined);
      if (!row) {
        this.#touchPolicy.forget(sid);
        return null;
      }
      const data = this.#parse(sid, row.data);
      if (data) this.#touchPolicy.remember(sid, { expiresMs: toEpochMs(row.expires_at) });
      return data;
    });
  }

  /**
   * Stores the session; an expiry already past deletes it instead; a destroyed session stays
   * destroyed (the save succeeds, stores nothing, and the store emits `destroyedSave`).
   * Saves that arrive while one is in flight share the next round trip (and one commit).
   */
  override set(sid: string, sess: SessionData, callback?: Callback<void>): Promise<void> {
    return this.#run(callback, async () => {
      checkSid(sid);
      const { json, bytes } = serializeSession(sess, this.maxDataBytes);
      const outcome = await this.#sets.add(sid, { json, bytes, expiry: cookieExpiry(sess) });
      // No session id in the event: listeners tend to log what they get.
      if (outcome === "destroyed") this.emit("destroyedSave");
    });
  }

  /**
   * One `session_save` call for a batch of saves (`session_save_one` for a lone one);
   * remembers the expiry of each one stored, forgets the rest.
   */
  async #setBatch(batch: Map<string, PendingSave>): Promise<Map<string, SaveOutcome>> {
    const sentAt = monotonicNow();
    const saves = [...batch.values()];
    const ttl = saves.some((s) => s.expiry === null) ? this.ttl : null;
    let outcomes: Map<string, SaveOutcome>;
    const [sid, save] = batch.entries().next().value as [string, PendingSave];
    if (batch.size === 1) {
      const outcome = await this.#call("scalar", "session_save_one", {
        p_sid: sid,
        p_data: new JsonArg(save.json),
        p_expires_at: save.expiry?.toISOString() ?? null,
        p_ttl_seconds: ttl,
        p_durable: !this.relaxedDurability,
      });
      outcomes = new Map([[sid, outcome as SaveOutcome]]);
    } else {
      const rows = await this.#call("rows", "session_save", {
        p_sids: [...batch.keys()],
        p_data: new JsonArg(`[${saves.map((s) => s.json).join(",")}]`),
        p_expires_at: saves.map((s) => s.expiry?.toISOString() ?? null),
        // Only needed for a cookie without expiry; null keeps a missing one an error.
        p_ttl_seconds: ttl,
        p_durable: !this.relaxedDurability,
      });
      outcomes = new Map(rows.map((row) => [String(row.sid), row.outcome as SaveOutcome]));
    }
    for (const [sid, { expiry }] of batch) {
      if (outcomes.get(sid) === "stored") this.#touchPolicy.rememberWrite(sid, expiry, sentAt);
      else this.#touchPolicy.forget(sid);
    }
    return outcomes;
  }

  /**
   * Moves the session's expiry, never its data. With `touchAfter`, a touch that would move the
   * expiry the store last saw by less than that makes no round trip, and the database skips
   * the write when the stored expiry is that close anyway. Touches that arrive while one is
   * in flight share the next round trip.
   */
  override touch(sid: string, sess: SessionData, callback?: Callback<void>): Promise<void> {
    return this.#run(callback, async () => {
      checkSid(sid);
      const expiry = cookieExpiry(sess);
      if (this.disableTouch || this.#touchPolicy.recentlyWritten(sid, expiry)) return;
      await this.#touches.add(sid, expiry);
    });
  }

  /**
   * One `session_touch` call for a batch of touches (one expiry per session id), or
   * `session_touch_one` for a lone one; remembers what it wrote.
   */
  async #touchBatch(batch: Map<string, Date | null>): Promise<Map<string, true>> {
    const sentAt = monotonicNow();
    const expiries = [...batch.values()];
    const common = {
      p_touch_after: this.touchAfter,
      // Only needed for a cookie without expiry; null keeps a missing one an error.
      p_ttl_seconds: expiries.includes(null) ? this.ttl : null,
      p_durable: !this.relaxedDurability,
    };
    let written: string[];
    const [sid, expiry] = batch.entries().next().value as [string, Date | null];
    if (batch.size === 1) {
      const wrote = await this.#call("scalar", "session_touch_one", {
        p_sid: sid, p_expires_at: expiry?.toISOString() ?? null, ...common,
      });
      written = wrote === true ? [sid] : [];
    } else {
      const rows: unknown[] = await this.#call("rows", "session_touch", {
        p_sids: [...batch.keys()], p_expires_at: expiries.map((expiry) => expiry?.toISOString() ?? null), ...common,
      });
      written = rows.map(sidOf);
    }
    const result = new Map<string, true>();
    for (const sid of written) {
      if (!batch.has(sid)) continue;
      result.set(sid, true);
      this.#touchPolicy.rememberWrite(sid, batch.get(sid) ?? null, sentAt);
    }
    return result;
  }

  /** Ends the session for good: a late `set` or `touch` from a concurrent request cannot bring it back. */
  override destroy(sid: string, callback?: Callback<void>): Promise<void> {
    return this.#run(callback, async () => {
      checkSid(sid);
      this.#touchPolicy.forget(sid);
      await this.#call("scalar", "session_destroy", { p_sid: sid });
    });
  }

  /** Destroys every session of a Passport user (`data.passport.user`); resolves with how many live ones ended. */
  destroyUserSessions(userId: string | number, callback?: Callback<number>): Promise<number> {
    return this.#run(callback, async () => {
      return Number(await this.#call("scalar", "session_destroy_user", { p_user: userIdText(userId) }));
    });
  }

  /**
   * The live sessions of a Passport user (`data.passport.user`), most recently active first,
   * each named by its handle, never its id (corrupt ones are reported and left out). Pages
   * through `session_list_user` (one round trip per 1000 sessions), so a user with more
   * sessions than an API's row cap is listed in full.
   */
  listUserSessions(userId: string | number, callback?: Callback<UserSession[]>): Promise<UserSession[]> {
    return this.#run(callback, async () => {
      const user = userIdText(userId);
      const sessions: UserSession[] = [];
      let after: string | null = null;
      for (;;) {
        const rows: Record<string, unknown>[] = await this.#call("rows", "session_list_user", { p_user: user, p_after: after, p_limit: LIST_PAGE_SIZE });
        for (const row of rows) {
          const data = this.#parse({ handle: String(row.handle) }, row.data);
          if (data) sessions.push(toUserSession(row, data));
        }
        // Each row says whether more follow it: a page an API's row cap cut short ends on a
        // row that says so, and the next page starts after it.
        const last = rows.at(-1);
        if (last?.has_more !== true) break;
        after = String(last.handle);
      }
      return sessions.sort(byLastActive);
    });
  }

  /** The handle `listUserSessions` names the session `sid` by: to mark the request's own session. */
  sessionHandle(sid: string): string {
    checkSid(sid);
    return handleOf(sid);
  }

  /**
   * Ends the session with handle `id` if it is one of the Passport user's, for good (as
   * `destroy`); resolves with whether it ended one. The ownership check is in the same SQL
   * statement: a handle of another user's session ends nothing.
   */
  destroyUserSession(userId: string | number, id: string, callback?: Callback<boolean>): Promise<boolean> {
    return this.#run(callback, async () => {
      const user = userIdText(userId);
      const handle = handleText(id);
      return (await this.#call("scalar", "session_destroy_user_session", { p_user: user, p_handle: handle })) === true;
    });
  }

  /**
   * Every live session, by session id (corrupt ones are reported and left out), read in pages
   * of LIST_PAGE_SIZE in sid order (one round trip each), so that no row cap cuts the result.
   * Not a snapshot: a session saved or destroyed meanwhile may or may not be in it.
   */
  override all(callback?: Callback<Record<string, SessionData>>): Promise<Record<string, SessionData>> {
    return this.#run(callback, async () => {
      const sessions: Record<string, SessionData> = {};
      for await (const page of this.#pages("all", "session_all_page")) {
        for (const row of page) {
          const sid = String(row.sid);
          const data = this.#parse(sid, row.data);
          if (data) sessions[sid] = data;
        }
      }
      return sessions;
    });
  }

  /** The ids of every live session, in sid order, read in pages as `all()`. */
  ids(callback?: Callback<string[]>): Promise<string[]> {
    return this.#run(callback, async () => {
      const ids: string[] = [];
      for await (const page of this.#pages("ids", "session_ids_page")) ids.push(...page.map(sidOf));
      return ids;
    });
  }

  /**
   * The pages of a keyset-paged listing function, until a short page. Each row says how many
   * rows its page has (page_rows): fewer rows than that means the API cut the page, which
   * is an error, never a silently shorter listing.
   */
  async *#pages(op: string, fn: "session_all_page" | "session_ids_page"): AsyncGenerator<Record<string, unknown>[]> {
    let after: string | null = null;
    for (;;) {
      const rows: Record<string, unknown>[] = await this.#call("rows", fn, { p_after: after, p_limit: LIST_PAGE_SIZE });
      const pageRows = Number(rows[0]?.page_rows ?? 0);
      if (rows.length < pageRows) {
        throw new Error(`${op}(): the API returned ${rows.length} of a page's ${pageRows} rows: its max rows ` +
          `(PostgREST db-max-rows, "Max rows" in Supabase's API settings) is below ${LIST_PAGE_SIZE}; raise it to at least ${LIST_PAGE_SIZE}`);
      }
      if (rows.length) yield rows;
      if (rows.length < LIST_PAGE_SIZE) return;
      after = sidOf(rows[rows.length - 1]);
    }
  }

  /** How many live sessions there are. */
  override length(callback?: Callback<number>): Promise<number> {
    return this.#run(callback, async () => Number(await this.#call("scalar", "session_count", {})));
  }

  /**
   * Destroys every session, CLEAR_BATCH_SIZE at a time in sid order (one round trip each, so
   * no call nears the API's statement timeout); resolves with how many live ones ended.
   * Not one snapshot: a session saved behind the sweep while it runs survives.
   */
  override clear(callback?: Callback<number>): Promise<number> {
    return this.#run(callback, async () => {
      this.#touchPolicy.clear();
      let ended = 0;
      let after: string | null = null;
      for (;;) {
        const rows: Record<string, unknown>[] = await this.#call("rows", "session_clear_batch", { p_after: after, p_limit: CLEAR_BATCH_SIZE });
        const batch = rows[0];
        if (!batch || Number(batch.tombstoned) === 0) return ended;
        ended += Number(batch.ended);
        after = String(batch.last_sid);
      }
    });
  }

  /** Stops the reconnect probe and ends the pool the store created (`connectionString`); idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#health.stop();
    await this.#backend.close();
  }

  /**
   * Settles the callback exactly once, outside the promise chain (so a throwing callback
   * surfaces as the exception it is, and is never called twice), and marks the returned
   * promise handled so that a caller using only the callback sees no unhandled rejection.
   */
  #run<T>(callback: Callback<T> | undefined, work: () => Promise<T>): Promise<T> {
    const result = work();
    if (typeof callback === "function") {
      result.then(
        (value) => nextTick(callback, null, value),
        (err: unknown) => nextTick(callback, err),
      );
    }
    return result;
  }

  #call(shape: "rows", fn: SessionFunction, args: Args): Promise<Record<string, unknown>[]>;
  #call(shape: "scalar", fn: SessionFunction, args: Args): Promise<unknown>;
  async #call(shape: "rows" | "scalar", fn: SessionFunction, args: Args): Promise<unknown> {
    if (this.#closed) throw new Error("SupabaseSessionStore is closed");
    try {
      const value = shape === "rows" ? await this.#backend.rows(fn, args) : await this.#backend.scalar(fn, args);
      this.#health.noteSuccess();
      return value;
    } catch (err) {
      this.#health.noteFailure(err);
      throw err;
    }
  }

  #parse(sid: string | { handle: string }, raw: unknown): SessionData | null {
    try {
      return parseStoredSession(sid, raw) as unknown as SessionData;
    } catch (err) {
      this.#report(err as Error);
      return null;
    }
  }

  #report(err: Error): void {
    if (this.#onError) this.#onError(err);
    else if (this.listenerCount("error") > 0) this.emit("error", err);
    else process.emitWarning(err);
  }
}

/** A session id out of a one-column `sid` table function's result: PostgREST may answer with bare values, pg with rows. */
function sidOf(row: unknown): string {
  return String(typeof row === "object" && row !== null ? (row as { sid: unknown }).sid : row);
}

