// `touchAfter`: which touches can be skipped without a round trip, from what the store
// last wrote or read of each session's expiry.
import { ExpiryCache } from "./expiry-cache.js";
import { monotonicNow } from "./real-timers.js";

/** How many sessions' expiries the store remembers for `touchAfter` (least recently used dropped first). */
export const TOUCH_CACHE_SIZE = 10_000;

/** What the store knows of a session's stored expiry: the expiry itself, or when it last wrote `now() + ttl`. */
export type ExpirySeen = { expiresMs?: number; ttlWrittenAt?: number };

/**
 * The touchAfter policy. With `touchAfter` 0 it remembers nothing and skips nothing (every
 * touch writes); otherwise it remembers up to TOUCH_CACHE_SIZE sessions' expiries.
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
    if (!seen) return false;
    if (expiry) return seen.expiresMs !== undefined && Math.abs(expiry.getTime() - seen.expiresMs) < this.#thresholdMs;
    return seen.ttlWrittenAt !== undefined && monotonicNow() - seen.ttlWrittenAt < this.#thresholdMs;
  }

  /** Records what the store saw of the session's stored expiry (read or written). */
  remember(sid: string, entry: ExpirySeen): void {
    if (!this.#cache) return;
    // A read keeps the time of the store's own last ttl write: the stored expiry cannot be
    // older than that write, so the elapsed time stays an upper bound of the move.
    const ttlWrittenAt = entry.ttlWrittenAt ?? this.#cache.get(sid)?.ttlWrittenAt;
    this.#cache.set(sid, { expiresMs: entry.expiresMs, ttlWrittenAt });
  }

  /**
   * Remembers the expiry a write gave the session: the one sent, or for a cookie without
   * expiry the time of sending (the database's `now() + ttl` was computed after it).
   */
  rememberWrite(sid: string, expiry: Date | null, sentAt: number): void {
    this.remember(sid, expiry ? { expiresMs: expiry.getTime() } : { ttlWrittenAt: sentAt });
  }

  /** Forgets the session: its stored expiry is no longer known (destroyed, missing, not stored). */
  forget(sid: string): void {
    this.#cache?.delete(sid);
  }

  /** Forgets every session. */
  clear(): void {
    this.#cache?.clear();
  }
}
