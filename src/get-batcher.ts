/** A stored row as the session functions return it. */
export type SessionRow = Record<string, unknown> & { sid?: unknown };

interface Waiter {
  resolve(row: SessionRow | undefined): void;
  reject(err: unknown): void;
}

/**
 * Answers the gets issued within one turn of the event loop with one round trip:
 * under load, the requests that arrive together share a single `session_get` call
 * instead of paying a query each (the client's per-query cost, not Postgres, is what
 * bounds a Node session store's reads). A lone get goes out on the next turn, alone.
 */
export class GetBatcher {
  readonly #fetch: (sids: string[]) => Promise<SessionRow[]>;
  readonly #max: number;
  #pending = new Map<string, Waiter[]>();
  #timer: NodeJS.Immediate | undefined;

  constructor(fetch: (sids: string[]) => Promise<SessionRow[]>, maxBatch: number) {
    this.#fetch = fetch;
    this.#max = maxBatch;
  }

  /** The live row of `sid`, or undefined. */
  get(sid: string): Promise<SessionRow | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.#pending.get(sid);
      if (waiters) waiters.push({ resolve, reject });
      else this.#pending.set(sid, [{ resolve, reject }]);
      if (this.#pending.size >= this.#max) this.#flush();
      else this.#timer ??= setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    clearImmediate(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending;
    this.#pending = new Map();
    this.#fetch([...batch.keys()]).then(
      (rows) => {
        const bySid = new Map(rows.map((row) => [String(row.sid), row]));
        for (const [sid, waiters] of batch) {
          const row = bySid.get(sid);
          // Two concurrent requests for one session each get their own copy: express-session
          // mutates the object it is given, and one request's changes must not leak into the other.
          waiters.forEach((w, i) => w.resolve(row && i > 0 ? structuredClone(row) : row));
        }
      },
      (err: unknown) => {
        for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
      },
    );
  }
}
