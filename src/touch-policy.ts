// `touchAfter`: which touches, and which saves of unchanged data, can be skipped without a
// round trip, from what the store last wrote or read of each session.
import { dataFingerprint } from "./data-fingerprint.js";
import { ExpiryCache, type ExpiryEntry } from "./expiry-cache.js";
import { monotonicNow } from "./real-timers.js";
import type { PendingWrite, WriteOutcome } from "./write-plan.js";

/** How many sessions the store remembers for `touchAfter` (least recently used dropped first). */
export const TOUCH_CACHE_SIZE = 10_000;

/** What the store knows of a session's stored expiry: the expiry itself, or when it last wrote `now() + ttl`. */
export type ExpirySeen = { expiresMs?: number; ttlWrittenAt?: number };

/**
 * The touchAfter policy. With `touchAfter` 0 it remembers nothing and skips nothing (every
 * touch and every save writes); otherwise it remembers up to TOUCH_CACHE_SIZE sessions'
 * expiries and data fingerprints.
 */
export class TouchPolicy {
  readonly #thresholdMs: number;
  readonly #cache: ExpiryCache | undefined;

  constructor(touchAfterSeconds: number, capacity = TOUCH_CACHE_SIZE) {
    this.#thresholdMs = touchAfterSeconds * 1000;
    this.#cache = touchAfterSeconds > 0 ? new ExpiryCache(capacity) : undefined;
  }

  /** Whether a touch to `expiry` (null: now + ttl) would move the stored expiry by less than touchAfter. */
  recentlyWritten(sid: string, expiry: Date | null): boolean {
    const seen = this.#cache?.get(sid);
    return seen !== undefined && this.#closeTo(seen, expiry);
  }

  /** The fingerprint a save carries (see dataFingerprint), or none when nothing is remembered (touchAfter 0). */
  fingerprint(sess: object): string | undefined {
    return this.#cache ? dataFingerprint(sess) : undefined;
  }

  /**
   * Whether a save can be skipped: its data is the one the store last saved or read for the
   * session (same fingerprint) and its expiry moves the stored one by less than touchAfter.
   * Skipping writes nothing, so it can neither change data nor revive a destroyed session. An
   * expiry less than touchAfter away is never skipped: a save whose expiry is past deletes the
   * session, on the database's clock, which may be ahead of this one.
   */
  unchangedSave(sid: string, expiry: Date | null, fingerprint: string | undefined): boolean {
    if (fingerprint === undefined || (expiry && expiry.getTime() - Date.now() < this.#thresholdMs)) return false;
    const seen = this.#cache?.get(sid);
    return seen?.fingerprint === fingerprint && this.#closeTo(seen, expiry);
  }

  #closeTo(seen: ExpiryEntry, expiry: Date | null): boolean {
    if (expiry) return seen.expiresMs !== undefined && Math.abs(expiry.getTime() - seen.expiresMs) < this.#thresholdMs;
    return seen.ttlWrittenAt !== undefined && monotonicNow() - seen.ttlWrittenAt < this.#thresholdMs;
  }

  /** Records what the store saw of the session's stored expiry (read or written). */
  remember(sid: string, entry: ExpirySeen): void {
    if (!this.#cache) return;
    const known = this.#cache.get(sid);
    // A read keeps the time of the store's own last ttl write: the stored expiry cannot be
    // older than that write, so the elapsed time stays an upper bound of the move.
    const ttlWrittenAt = entry.ttlWrittenAt ?? known?.ttlWrittenAt;
    this.#cache.set(sid, { ...known, expiresMs: entry.expiresMs, ttlWrittenAt });
  }

  /**
   * Records a read of the session (sent at `sentAt`): its expiry, and its data's fingerprint
   * unless one of the store's writes answered after the read was sent (the read may predate
   * it: the write's fingerprint stays).
   */
  rememberRead(sid: string, expiresMs: number, data: object, sentAt: number): void {
    if (!this.#cache) return;
    this.remember(sid, { expiresMs });
    const entry = this.#cache.get(sid);
    if (entry && !(entry.writtenAt !== undefined && entry.writtenAt >= sentAt)) {
      entry.fingerprint = dataFingerprint(data);
    }
  }

  /**
   * Remembers what a write gave the session: the expiry sent, or for a cookie without expiry
   * the time of sending (the database's `now() + ttl` was computed after it); a save's
   * fingerprint (a touch keeps the data, so the one known stays).
   */
  rememberWrite(sid: string, write: { expiry: Date | null; fingerprint?: string }, sentAt: number): void {
    if (!this.#cache) return;
    this.remember(sid, write.expiry ? { expiresMs: write.expiry.getTime() } : { ttlWrittenAt: sentAt });
    const entry = this.#cache.get(sid);
    if (!entry) return;
    entry.writtenAt = monotonicNow();
    if ("fingerprint" in write) entry.fingerprint = write.fingerprint;
  }

  /** Records a write batch's outcomes: what each session written was given; forgets each save that stored nothing. */
  rememberOutcomes(
    batch: ReadonlyMap<string, PendingWrite>,
    outcomes: ReadonlyMap<string, WriteOutcome>,
    sentAt: number,
  ) {
    for (const [sid, write] of batch) {
      const outcome = outcomes.get(sid);
      if (outcome === "stored" || outcome === "touched") this.rememberWrite(sid, write, sentAt);
      else if (write.kind === "save") this.forget(sid);
    }
  }

  /** Forgets the sessions of a write call that failed (it may have committed or not), and rethrows its error. */
  forgetFailed(sids: Iterable<string>, err: unknown): never {
    for (const sid of sids) this.forget(sid);
    throw err;
  }

  /** Forgets the session: its stored expiry and data are no longer known (destroyed, missing, not stored, failed). */
  forget(sid: string): void {
    this.#cache?.delete(sid);
  }

  /** Forgets every session. */
  clear(): void {
    this.#cache?.clear();
  }
}
