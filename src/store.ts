import session from "express-session";
import type { SessionData } from "express-session";
import type { Args, Backend, SessionFunction } from "./backend.js";
import { JsonArg } from "./backend.js";
import { Batcher, Traffic } from "./batcher.js";
import { ConnectionHealth } from "./connection-health.js";
import type { SessionRowRef } from "./errors.js";
import { PgBackend } from "./pg-backend.js";
import { RpcBackend } from "./rpc-backend.js";
import { monotonicNow, nextTick } from "./real-timers.js";
import { checkSid, cookieExpiry, parseStoredSession, serializeSession, toEpochMs } from "./session-data.js";
import { handleOfKey, sessionKey } from "./session-key.js";
import { type BackendChoice, parseStoreOptions, type SupabaseSessionStoreOptions } from "./store-options.js";
import { TouchPolicy } from "./touch-policy.js";
import { byLastActive, handleText, toUserSession, userIdText, type UserSession } from "./user-sessions.js";

export { DEFAULT_MAX_DATA_BYTES, DEFAULT_TTL_SECONDS, type SupabaseSessionStoreOptions } from "./store-options.js";
export { TOUCH_CACHE_SIZE } from "./touch-policy.js";

/** Most session ids one `session_get` call carries (concurrent gets share a call). */
export const MAX_GET_BATCH = 100;
/** Most sessions one `session_write` call saves and touches (concurrent writes share a call). */
export const MAX_WRITE_BATCH = 100;
/**
 * Most bytes of session JSON one `session_write` call carries: 256 KiB, a quarter of the
 * local gateway's request body limit (API_BODY_LIMIT, 1 MiB; hosted Supabase does not
 * document its own), leaving room for the sids, expiries and JSON framing. Past a few
 * dozen sessions a bigger call saves nothing more. A session larger than this (up to
 * `maxDataBytes`) still goes, alone; other requests' sessions never make a batch fail.
 */
export const MAX_SET_BATCH_BYTES = 256 * 1024;
/**
 * How many calls of one kind (reads; writes) may be in flight at once: what arrives while
 * that many are waits for one to finish and shares the next call. Two: one call's answer
 * can be on its way back while the next is at work, and read-only traffic spreads its
 * reads over two calls side by side (see Batcher's `spread`).
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
/**
 * A write waiting for its batch: a save (the session's JSON, serialised when `set` was
 * called) or a touch, with the cookie's expiry.
 */
type PendingWrite =
  | { kind: "save"; json: string; bytes: number; expiry: Date | null }
  | { kind: "touch"; expiry: Date | null };
/** What a write did to its session: a save's outcome (session_save_one), or "touched" when a touch wrote. */
type WriteOutcome = "stored" | "expired" | "destroyed" | "touched";

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
  readonly #writes: Batcher<PendingWrite, WriteOutcome>;
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
    // One view of the store's traffic for both queues: a write call answering many callers
    // means their reads are on their way too.
    const traffic = new Traffic();
    this.#gets = new Batcher({
      run: (batch) => {
        const sids = [...batch.keys()];
        // One session (the common case at low load): the scalar-parameter function.
        const call = sids.length === 1
          ? this.#call("rows", "session_get_one", { p_sid: sids[0] })
          : this.#call("rows", "session_get", { p_sids: sids });
        return call.then((rows) => new Map(rows.map((row) => [String(row.sid), row])));
      },
      maxBatch: MAX_GET_BATCH,
      maxInFlight: MAX_IN_FLIGHT,
      traffic,
      // Reads share nothing (no commit): when no write follows them, two calls side by side
      // use two of the database's cores (the bench's get at C = 8: 1.6x -> 2.1x connect-pg-simple).
      spread: true,
      // Two concurrent requests for one session each get their own copy: express-session
      // mutates the object it is given, and one request's changes must not leak into the other.
      copy: structuredClone,
    });
    // Saves and touches share one queue, so that under load one call (and one commit)
    // carries the writes of both kinds.
    this.#writes = new Batcher({
      run: (batch) => this.#writeBatch(batch),
      maxBatch: MAX_WRITE_BATCH,
      maxInFlight: MAX_IN_FLIGHT,
      traffic,
      maxBytes: MAX_SET_BATCH_BYTES,
      bytes: (write) => (write.kind === "save" ? write.bytes : 0),
      merge: mergeWrites,
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
      const key = keyOf(sid);
      const row = await this.#gets.add(key, undefined);
      if (!row) {
        this.#touchPolicy.forget(key);
        return null;
      }
      const data = this.#parse({ key }, row.data);
      if (data) this.#touchPolicy.remember(key, { expiresMs: toEpochMs(row.expires_at) });
      return data;
    });
  }

  /**
   * Stores the session; an expiry already past deletes it instead; a destroyed session stays
   * destroyed (the save succeeds, stores nothing, and the store emits `destroyedSave`).
   * Writes that arrive together share one round trip (and one commit).
   */
  override set(sid: string, sess: SessionData, callback?: Callback<void>): Promise<void> {
    return this.#run(callback, async () => {
      const key = keyOf(sid);
      const { json, bytes } = serializeSession(sess, this.maxDataBytes);
      const outcome = await this.#writes.add(key, { kind: "save", json, bytes, expiry: cookieExpiry(sess) });
      // No session id in the event: listeners tend to log what they get.
      if (outcome === "destroyed") this.emit("destroyedSave");
    });
  }

  /**
   * Moves the session's expiry, never its data. With `touchAfter`, a touch that would move the
   * expiry the store last saw by less than that makes no round trip, and the database skips
   * the write when the stored expiry is that close anyway. Writes that arrive while one is in
   * flight share the next round trip.
   */
  override touch(sid: string, sess: SessionData, callback?: Callback<void>): Promise<void> {
    return this.#run(callback, async () => {
      const key = keyOf(sid);
      const expiry = cookieExpiry(sess);
      if (this.disableTouch || this.#touchPolicy.recentlyWritten(key, expiry)) return;
      await this.#writes.add(key, { kind: "touch", expiry });
    });
  }

  /**
   * One call for a batch of writes: `session_save_one` or `session_touch_one` for a lone
   * one, else `session_write` for all of them (one commit); remembers the expiry of each
   * session written, forgets each save that stored nothing.
   */
  async #writeBatch(batch: Map<string, PendingWrite>): Promise<Map<string, WriteOutcome>> {
    const sentAt = monotonicNow();
    const writes = [...batch];
    const common = {
      // Only needed for a cookie without expiry; null keeps a missing one an error.
      p_ttl_seconds: writes.some(([, write]) => write.expiry === null) ? this.ttl : null,
      p_durable: !this.relaxedDurability,
    };
    const outcomes = new Map<string, WriteOutcome>();
    const [sid, write] = writes[0] as [string, PendingWrite];
    if (batch.size === 1 && write.kind === "save") {
      outcomes.set(
        sid,
        await this.#call("scalar", "session_save_one", {
          p_sid: sid,
          p_data: new JsonArg(write.json),
          p_expires_at: isoOrNull(write.expiry),
          ...common,
        }) as WriteOutcome,
      );
    } else if (batch.size === 1) {
      const wrote = await this.#call("scalar", "session_touch_one", {
        p_sid: sid,
        p_expires_at: isoOrNull(write.expiry),
        p_touch_after: this.touchAfter,
        ...common,
      });
      if (wrote === true) outcomes.set(sid, "touched");
    } else {
      const saves = writes.filter((entry): entry is [string, Extract<PendingWrite, { kind: "save" }>] =>
        entry[1].kind === "save"
      );
      const touches = writes.filter(([, write]) => write.kind === "touch");
      const save = {
        sids: saves.map(([sid]) => sid),
        data: new JsonArg(`[${saves.map(([, write]) => write.json).join(",")}]`),
        expiries: saves.map(([, write]) => isoOrNull(write.expiry)),
      };
      const touch = {
        sids: touches.map(([sid]) => sid),
        expiries: touches.map(([, write]) => isoOrNull(write.expiry)),
      };
      // Writes of one kind call that kind's function: session_write's own call of it costs
      // a durable batch 3-10% of its throughput (A/B at C = 8 and 32).
      const rows = touches.length === 0
        ? await this.#call("rows", "session_save", {
          p_sids: save.sids,
          p_data: save.data,
          p_expires_at: save.expiries,
          ...common,
        })
        : saves.length === 0
        ? (await this.#call("rows", "session_touch", {
          p_sids: touch.sids,
          p_expires_at: touch.expiries,
          p_touch_after: this.touchAfter,
          ...common,
        })).map((row) => ({ sid: sidOf(row), outcome: "touched" }))
        : await this.#call("rows", "session_write", {
          p_save_sids: save.sids,
          p_save_data: save.data,
          p_save_expires_at: save.expiries,
          p_touch_sids: touch.sids,
          p_touch_expires_at: touch.expiries,
          p_touch_after: this.touchAfter,
          ...common,
        });
      for (const row of rows) outcomes.set(String(row.sid), row.outcome as WriteOutcome);
    }
    for (const [sid, write] of batch) {
      const outcome = outcomes.get(sid);
      if (outcome === "stored" || outcome === "touched") this.#touchPolicy.rememberWrite(sid, write.expiry, sentAt);
      else if (write.kind === "save") this.#touchPolicy.forget(sid);
    }
    return outcomes;
  }

  /** Ends the session for good: a late `set` or `touch` from a concurrent request cannot bring it back. */
  override destroy(sid: string, callback?: Callback<void>): Promise<void> {
    return this.#run(callback, async () => {
      const key = keyOf(sid);
      this.#touchPolicy.forget(key);
      await this.#call("scalar", "session_destroy", { p_sid: key });
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
        const rows: Record<string, unknown>[] = await this.#call("rows", "session_list_user", {
          p_user: user,
          p_after: after,
          p_limit: LIST_PAGE_SIZE,
        });
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
    return handleOfKey(keyOf(sid));
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
   * Every live session, by handle (corrupt ones are reported and left out). The database holds
   * no session id, only keys (hashes of the ids), so this is not express-session's "by id":
   * a handle is what `sessionHandle(sid)` and `listUserSessions` name the session by, and
   * what `destroyUserSession` takes. Read in pages of LIST_PAGE_SIZE in key order (one round
   * trip each), so that no row cap cuts the result. Not a snapshot: a session saved or
   * destroyed meanwhile may or may not be in it.
   */
  override all(callback?: Callback<Record<string, SessionData>>): Promise<Record<string, SessionData>> {
    return this.#run(callback, async () => {
      const sessions: Record<string, SessionData> = {};
      for await (const page of this.#pages("all", "session_all_page")) {
        for (const row of page) {
          const handle = handleOfKey(String(row.sid));
          const data = this.#parse({ handle }, row.data);
          if (data) sessions[handle] = data;
        }
      }
      return sessions;
    });
  }

  /** The handles of every live session (not their ids: see `all()`), read in pages as `all()`. */
  ids(callback?: Callback<string[]>): Promise<string[]> {
    return this.#run(callback, async () => {
      const handles: string[] = [];
      for await (const page of this.#pages("ids", "session_ids_page")) {
        for (const row of page) handles.push(handleOfKey(sidOf(row)));
      }
      return handles;
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
        throw new Error(
          `${op}(): the API returned ${rows.length} of a page's ${pageRows} rows: its max rows ` +
            `(PostgREST db-max-rows, "Max rows" in Supabase's API settings) is below ${LIST_PAGE_SIZE}; raise it to at least ${LIST_PAGE_SIZE}`,
        );
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
        const rows: Record<string, unknown>[] = await this.#call("rows", "session_clear_batch", {
          p_after: after,
          p_limit: CLEAR_BATCH_SIZE,
        });
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
  #call(shape: "rows" | "scalar", fn: SessionFunction, args: Args): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error("SupabaseSessionStore is closed"));
    let call: Promise<unknown>;
    try {
      call = shape === "rows" ? this.#backend.rows(fn, args) : this.#backend.scalar(fn, args);
    } catch (err) {
      call = Promise.reject(err);
    }
    // A promise chain, not an async function: this is every operation's path.
    return call.then(
      (value) => {
        this.#health.noteSuccess();
        return value;
      },
      (err: unknown) => {
        this.#health.noteFailure(err);
        throw err;
      },
    );
  }

  #parse(row: SessionRowRef, raw: unknown): SessionData | null {
    try {
      return parseStoredSession(row, raw) as unknown as SessionData;
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

/**
 * Two writes of one session waiting together: a later save replaces whatever waited; a
 * later touch moves a waiting save's expiry (a save, then a touch: the data saved, with
 * the touch's expiry), or replaces a waiting touch.
 */
function mergeWrites(earlier: PendingWrite, later: PendingWrite): PendingWrite {
  return later.kind === "touch" && earlier.kind === "save" ? { ...earlier, expiry: later.expiry } : later;
}

function isoOrNull(expiry: Date | null): string | null {
  return expiry?.toISOString() ?? null;
}

/**
 * The key the session `sid` is stored under (hex SHA-256: the database never sees an id),
 * after checking the id as express-session would have made it.
 */
function keyOf(sid: string): string {
  checkSid(sid);
  return sessionKey(sid);
}

/** A stored key out of a one-column `sid` table function's result: PostgREST may answer with bare values, pg with rows. */
function sidOf(row: unknown): string {
  return String(typeof row === "object" && row !== null ? (row as { sid: unknown }).sid : row);
}
