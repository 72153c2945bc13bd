import session from "express-session";
import type { SessionData } from "express-session";
import type { Args, Backend, SessionFunction } from "./backend.js";
import { sidOf } from "./backend.js";
import { type Batcher, Traffic } from "./batcher.js";
import { type Callback, withCallback } from "./callbacks.js";
import { ConnectionHealth } from "./connection-health.js";
import { OldTable } from "./old-table.js";
import { openBackend } from "./open-backend.js";
import { CLEAR_BATCH_SIZE, clearInBatches, LIST_PAGE_SIZE, listingPages, userSessionPages } from "./paging.js";
import { readQueue, type SessionRow, writeQueue } from "./queues.js";
import { monotonicNow } from "./real-timers.js";
import { cookieExpiry, parseStoredSession, serializeSession, toEpochMs } from "./session-data.js";
import { keyOf } from "./session-key.js";
import { parseStoreOptions, type SupabaseSessionStoreOptions } from "./store-options.js";
import { TouchPolicy } from "./touch-policy.js";
import { byLastActive, handleText, toUserSession, userIdText, type UserSession } from "./user-sessions.js";
import { type PendingWrite, planWrites, type WriteOutcome } from "./write-plan.js";

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
  readonly #oldTable: OldTable | undefined;
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
    this.#oldTable = settings.connectPgSimple && new OldTable(settings.connectPgSimple, settings);
    this.#health = new ConnectionHealth({
      emit: (event) => this.emit(event),
      probe: () => this.#call("rows", "session_get_one", { p_sid: "-" }),
    });
    this.#backend = openBackend(settings, (err) => {
      this.#health.noteFailure(err);
      this.#report(err);
    });
    // One view of the store's traffic for both queues: a write call answering many callers
    // means their reads are on their way too.
    const traffic = new Traffic();
    this.#gets = readQueue(traffic, (sids) => this.#readBatch(sids));
    this.#writes = writeQueue(traffic, (batch) => this.#writeBatch(batch));
  }

  /** The live session, or null when it is missing, expired, destroyed or corrupt (corrupt: reported). */
  override get(sid: string, callback?: Callback<SessionData | null>): Promise<SessionData | null> {
    return withCallback(callback, async () => {
      const key = keyOf(sid);
      const sentAt = monotonicNow();
      const row = await this.#gets.add(key, undefined);
      if (!row) {
        this.#touchPolicy.forget(key);
        // During a switch from connect-pg-simple: the old table's session, if any (src/old-table.ts).
        const write = (w: PendingWrite) => this.#writes.add(key, w);
        return (await this.#oldTable?.find(sid, write, (err) => this.#report(err))) ?? null;
      }
      const data = this.#parse(key, row.data);
      if (data) this.#touchPolicy.rememberRead(key, toEpochMs(row.expires_at), data, sentAt);
      return data;
    });
  }

  /**
   * Stores the session; an expiry already past deletes it instead; a destroyed session stays
   * destroyed (the save succeeds, stores nothing, and the store emits `destroyedSave`).
   * With `touchAfter`, a save of the data the store last saved or read (but for the cookie's expiry) moving
   * the expiry by less than that writes nothing (@fastify/session's rolling saves). Writes that arrive
   * together share one round trip (and one commit).
   */
  override set(sid: string, sess: SessionData, callback?: Callback<void>): Promise<void> {
    return withCallback(callback, async () => {
      const key = keyOf(sid);
      const { json, bytes } = serializeSession(sess, this.maxDataBytes);
      const expiry = cookieExpiry(sess);
      const fingerprint = this.#touchPolicy.fingerprint(sess);
      if (this.#touchPolicy.unchangedSave(key, expiry, fingerprint)) return;
      const outcome = await this.#writes.add(key, { kind: "save", json, bytes, expiry, fingerprint });
      // No session id in the event: listeners tend to log what they get.
      if (outcome === "destroyed") this.emit("destroyedSave");
      if (outcome === "stored") await this.#oldTable?.saved(sid, key, json, expiry);
    });
  }

  /**
   * Moves the session's expiry, never its data. With `touchAfter`, a touch moving the expiry the store last
   * saw by less than that makes no round trip, and the database skips it when the stored expiry is that close.
   */
  override touch(sid: string, sess: SessionData, callback?: Callback<void>): Promise<void> {
    return withCallback(callback, async () => {
      const key = keyOf(sid);
      const expiry = cookieExpiry(sess);
      if (this.disableTouch || this.#touchPolicy.recentlyWritten(key, expiry)) return;
      const outcome = await this.#writes.add(key, { kind: "touch", expiry });
      if (outcome === "touched") await this.#oldTable?.touched(sid, expiry);
    });
  }

  /** One call for a batch of gets: for one session (the common case at low load), the scalar-parameter function. */
  #readBatch(sids: string[]): Promise<Map<string, SessionRow>> {
    const call = sids.length === 1
      ? this.#call("rows", "session_get_one", { p_sid: sids[0] })
      : this.#call("rows", "session_get", { p_sids: sids });
    return call.then((rows) => new Map(rows.map((row) => [String(row.sid), row])));
  }

  /**
   * One call for a batch of writes (planWrites decides which); remembers what each session written was
   * given, forgets each save that stored nothing and every session of a failed call.
   */
  async #writeBatch(batch: Map<string, PendingWrite>): Promise<Map<string, WriteOutcome>> {
    const sentAt = monotonicNow();
    const plan = planWrites(batch, this);
    const answer = await this.#call(plan.shape, plan.fn, plan.args)
      .catch((err: unknown) => this.#touchPolicy.forgetFailed(batch.keys(), err));
    const outcomes = plan.outcomes(answer);
    this.#touchPolicy.rememberOutcomes(batch, outcomes, sentAt);
    return outcomes;
  }

  /** Ends the session for good: a late `set` or `touch` from a concurrent request cannot bring it back. */
  override destroy(sid: string, callback?: Callback<void>): Promise<void> {
    return withCallback(callback, async () => {
      const key = keyOf(sid);
      this.#touchPolicy.forget(key);
      await this.#call("scalar", "session_destroy", { p_sid: key });
      await this.#oldTable?.destroyed(sid);
    });
  }

  /** Destroys every session of a Passport user (`data.passport.user`); resolves with how many live ones ended. */
  destroyUserSessions(userId: string | number, callback?: Callback<number>): Promise<number> {
    return withCallback(callback, async () => {
      const user = userIdText(userId);
      const ended = Number(await this.#call("scalar", "session_destroy_user", { p_user: user }));
      await this.#oldTable?.userDestroyed(user);
      return ended;
    });
  }

  /**
   * The live sessions of a Passport user (`data.passport.user`), most recently active first, by handle (corrupt
   * ones reported, left out); pages of 1000 through `session_list_user`, so no API row cap cuts the list.
   */
  listUserSessions(userId: string | number, callback?: Callback<UserSession[]>): Promise<UserSession[]> {
    return withCallback(callback, async () => {
      const user = userIdText(userId);
      const sessions: UserSession[] = [];
      const pages = userSessionPages(
        LIST_PAGE_SIZE,
        (after, limit) => this.#call("rows", "session_list_user", { p_user: user, p_after: after, p_limit: limit }),
      );
      for await (const page of pages) {
        for (const row of page) {
          const data = this.#parse(String(row.handle), row.data);
          if (data) sessions.push(toUserSession(row, data));
        }
      }
      return sessions.sort(byLastActive);
    });
  }

  /** The handle `listUserSessions` names the session `sid` by (its key): to mark the request's own session. */
  sessionHandle(sid: string): string {
    return keyOf(sid);
  }

  /**
   * Ends the session with handle `id` if it is one of the Passport user's, for good (as `destroy`); resolves
   * with whether it ended one. The ownership check is in the same SQL statement.
   */
  destroyUserSession(userId: string | number, id: string, callback?: Callback<boolean>): Promise<boolean> {
    return withCallback(callback, async () => {
      const user = userIdText(userId);
      const handle = handleText(id);
      const ended = await this.#call("scalar", "session_destroy_user_session", { p_user: user, p_handle: handle });
      if (ended === true) await this.#oldTable?.keyDestroyed(handle);
      return ended === true;
    });
  }

  /**
   * Every live session by handle, not by id as express-session documents it: the database holds only keys
   * (see `sessionHandle`). Corrupt ones are reported and left out. Read in pages of LIST_PAGE_SIZE in key
   * order, one round trip each, so no row cap cuts it; not a snapshot of concurrent writes.
   */
  override all(callback?: Callback<Record<string, SessionData>>): Promise<Record<string, SessionData>> {
    return withCallback(callback, async () => {
      const sessions: Record<string, SessionData> = {};
      for await (const page of this.#listing("all", "session_all_page")) {
        for (const row of page) {
          const key = String(row.sid);
          const data = this.#parse(key, row.data);
          if (data) sessions[key] = data;
        }
      }
      return sessions;
    });
  }

  /** The handles of every live session (not their ids: see `all()`), read in pages as `all()`. */
  ids(callback?: Callback<string[]>): Promise<string[]> {
    return withCallback(callback, async () => {
      const handles: string[] = [];
      for await (const page of this.#listing("ids", "session_ids_page")) handles.push(...page.map(sidOf));
      return handles;
    });
  }

  /** The pages of a keyset-paged listing function, LIST_PAGE_SIZE rows each (see listingPages). */
  #listing(op: string, fn: "session_all_page" | "session_ids_page"): AsyncGenerator<SessionRow[]> {
    const page = (after: string | null, limit: number) => this.#call("rows", fn, { p_after: after, p_limit: limit });
    return listingPages(op, LIST_PAGE_SIZE, page);
  }

  /** How many live sessions there are. */
  override length(callback?: Callback<number>): Promise<number> {
    return withCallback(callback, async () => Number(await this.#call("scalar", "session_count", {})));
  }

  /**
   * Destroys every session, CLEAR_BATCH_SIZE at a time in key order (one round trip each, within the API's
   * statement timeout); resolves with how many live ones ended. A session saved behind the sweep survives.
   */
  override clear(callback?: Callback<number>): Promise<number> {
    return withCallback(callback, async () => {
      this.#touchPolicy.clear();
      return await clearInBatches(
        CLEAR_BATCH_SIZE,
        (after, limit) => this.#call("rows", "session_clear_batch", { p_after: after, p_limit: limit }),
      );
    });
  }

  /** Stops the reconnect probe and ends the pool the store created (`connectionString`); idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#health.stop();
    await this.#backend.close();
  }

  #call(shape: "rows", fn: SessionFunction, args: Args): Promise<Record<string, unknown>[]>;
  #call(shape: "scalar", fn: SessionFunction, args: Args): Promise<unknown>;
  #call(shape: "rows" | "scalar", fn: SessionFunction, args: Args): Promise<unknown>;
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

  #parse(key: string, raw: unknown): SessionData | null {
    try {
      return parseStoredSession(key, raw) as unknown as SessionData;
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
