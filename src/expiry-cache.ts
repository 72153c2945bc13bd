/** What the store last saw of a session's stored expiry, for `touchAfter`. */
export interface ExpiryEntry {
  /** The stored expiry (ms since the epoch), when known exactly: a cookie expiry written, or one read. */
  expiresMs?: number;
  /**
   * When (performance.now()) the store last wrote `now() + ttl` for a cookie without expiry. The
   * database computed that expiry on its clock no earlier than this, so the time elapsed since
   * bounds how far the next ttl expiry would move it.
   */
  ttlWrittenAt?: number;
  /** The dataFingerprint of the data the store last saved or read, when it is known to be the stored one. */
  fingerprint?: string;
  /** When (performance.now()) the store's last write of the session answered: a read sent before may be older. */
  writtenAt?: number;
}

/** A least-recently-used map of session id to ExpiryEntry holding at most `capacity` sessions. */
export class ExpiryCache {
  readonly #entries = new Map<string, ExpiryEntry>();

  constructor(readonly capacity: number) {}

  get(sid: string): ExpiryEntry | undefined {
    const entry = this.#entries.get(sid);
    if (entry) {
      this.#entries.delete(sid);
      this.#entries.set(sid, entry);
    }
    return entry;
  }

  set(sid: string, entry: ExpiryEntry): void {
    this.#entries.delete(sid);
    this.#entries.set(sid, entry);
    if (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  delete(sid: string): void {
    this.#entries.delete(sid);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
