interface Waiter<R> {
  resolve(result: R | undefined): void;
  reject(err: unknown): void;
}

export interface BatcherOptions<A, R> {
  /** One round trip for a whole batch: each session id's argument in, each one's result out. */
  run(batch: Map<string, A>): Promise<Map<string, R>>;
  /** Most session ids one call carries. */
  maxBatch: number;
  /** Gives each waiter after the first on one session id its own copy of the result. */
  copy?(result: R): R;
}

/**
 * Sends the operations on sessions issued within one turn of the event loop in one round
 * trip: under load, the requests that arrive together share a single SQL call instead of
 * paying a query each (the client's per-query cost, not Postgres, is what bounds a Node
 * session store). A lone operation goes out on the next turn, alone.
 *
 * Two operations on one session id in one batch become one entry: the later argument
 * replaces the earlier (the later touch's expiry wins), and both receive its result.
 * A failing call fails every operation in it.
 */
export class Batcher<A, R> {
  readonly #options: BatcherOptions<A, R>;
  #pending = new Map<string, { arg: A; waiters: Waiter<R>[] }>();
  #timer: NodeJS.Immediate | undefined;

  constructor(options: BatcherOptions<A, R>) {
    this.#options = options;
  }

  /** Queues `sid` with `arg`; resolves with its result, or undefined when the call returned none for it. */
  add(sid: string, arg: A): Promise<R | undefined> {
    return new Promise((resolve, reject) => {
      const entry = this.#pending.get(sid);
      if (entry) {
        entry.arg = arg;
        entry.waiters.push({ resolve, reject });
      } else {
        this.#pending.set(sid, { arg, waiters: [{ resolve, reject }] });
      }
      if (this.#pending.size >= this.#options.maxBatch) this.#flush();
      else this.#timer ??= setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    clearImmediate(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending;
    this.#pending = new Map();
    const args = new Map([...batch].map(([sid, { arg }]) => [sid, arg]));
    const { copy } = this.#options;
    this.#options.run(args).then(
      (results) => {
        for (const [sid, { waiters }] of batch) {
          const result = results.get(sid);
          waiters.forEach((w, i) => w.resolve(result !== undefined && i > 0 && copy ? copy(result) : result));
        }
      },
      (err: unknown) => {
        for (const { waiters } of batch.values()) for (const w of waiters) w.reject(err);
      },
    );
  }
}
