import { afterPendingWork } from "./real-timers.js";

interface Waiter<R> {
  resolve(result: R | undefined): void;
  reject(err: unknown): void;
}

interface Entry<A, R> {
  arg: A;
  waiters: Waiter<R>[];
}

export interface BatcherOptions<A, R> {
  /** One round trip for a whole batch: each session id's argument in, each one's result out. */
  run(batch: Map<string, A>): Promise<Map<string, R>>;
  /** Most session ids one call carries. */
  maxBatch: number;
  /** How many calls may be in flight at once; what arrives beyond that waits for one to finish. */
  maxInFlight: number;
  /**
   * Most bytes one call carries, as `bytes` counts them. A call always takes at least one
   * entry, so an entry larger than this still goes, alone.
   */
  maxBytes?: number;
  /** The bytes an argument adds to a call (needed with maxBytes). */
  bytes?(arg: A): number;
  /**
   * The one entry that two operations on one session id waiting together become: by
   * default the later argument replaces the earlier.
   */
  merge?(earlier: A, later: A): A;
  /**
   * Calls that share nothing (reads): while the traffic is read-only (Traffic), a dispatch
   * spreads the waiting entries evenly over the free call slots instead of filling one, so
   * that the calls run side by side on the database's cores. Batchers without it (writes)
   * fill one call, which shares one commit, and mark the traffic as not read-only.
   */
  spread?: boolean;
  /** Shared by the batchers of one store (see Traffic); by default this batcher's own. */
  traffic?: Traffic;
  /** Gives each waiter after the first on one session id its own copy of the result. */
  copy?(result: R): R;
}

/**
 * Operations in a row on spreading batchers (reads) after which the traffic counts as
 * read-only. While requests also write, the callers one read call answers go on to write
 * together, in one commit; a read batch split in two would split their writes into two
 * commits (an A/B with the bench's request mix at C = 8: 1.58x connect-pg-simple unsplit,
 * 1.42x split).
 */
export const READ_ONLY_AFTER = 100;

/**
 * What the batchers of one store know of each other, to tell a quiet moment from load:
 * the calls they have in flight, and whether a call answered several callers in this turn
 * of the event loop (their next operations are on their way, to any of the batchers);
 * and whether the traffic is read-only (READ_ONLY_AFTER reads since the last write).
 */
export class Traffic {
  inFlight = 0;
  #crowd = false;
  #readsInARow = 0;

  /** An operation arrived at a batcher that spreads (a read) or one that does not (a write). */
  arrived(spread: boolean): void {
    this.#readsInARow = spread ? this.#readsInARow + 1 : 0;
  }

  get readOnly(): boolean {
    return this.#readsInARow >= READ_ONLY_AFTER;
  }

  /** Nothing in flight and no crowd answered in this turn: an operation may go out alone at once. */
  get quiet(): boolean {
    return this.inFlight === 0 && !this.#crowd;
  }

  /** A call answered `callers` waiting operations. */
  answered(callers: number): void {
    if (callers < 2 || this.#crowd) return;
    this.#crowd = true;
    afterPendingWork(() => {
      this.#crowd = false;
    });
  }
}

/**
 * Sends operations on sessions in batches, with no timer. In a quiet moment (Traffic) an
 * operation goes out at once, alone: at low load nothing waits. Otherwise it waits until
 * the event loop has run the I/O callbacks it had ready (the real setImmediate; see
 * real-timers.ts), then goes out with every other operation that arrived meanwhile,
 * while fewer than `maxInFlight` calls are in flight; what arrives beyond that waits for
 * a call to finish and goes out with the next (a spreading batcher in read-only traffic
 * shares the waiting entries out over the free call slots instead; see BatcherOptions).
 * Under load the requests whose data arrived in one turn of the event loop, and the
 * callers a finished call answered, thus share one round trip (the client's per-query
 * cost and, for durable writes, the WAL flush are then paid once per call). Nothing here
 * depends on the event loop's timers, so fake timers in a test suite cannot stall it.
 *
 * Two operations on one session id waiting together become one entry (`merge`; by default
 * the later argument replaces the earlier), and both receive its result. An
 * operation on a session id that a call in flight carries waits for that call, so the
 * operations on one session reach the database in the order they were issued. A failing
 * call fails every operation in it, and only those.
 */
export class Batcher<A, R> {
  readonly #options: BatcherOptions<A, R>;
  readonly #pending = new Map<string, Entry<A, R>>();
  readonly #inFlightSids = new Set<string>();
  readonly #traffic: Traffic;
  #inFlight = 0;
  /** A dispatch is scheduled: arrivals wait for it. */
  #scheduled = false;

  constructor(options: BatcherOptions<A, R>) {
    if (!(options.maxInFlight >= 1) || !(options.maxBatch >= 1)) {
      throw new RangeError("maxInFlight and maxBatch must be at least 1");
    }
    this.#options = options;
    this.#traffic = options.traffic ?? new Traffic();
  }

  /** Queues `sid` with `arg`; resolves with its result, or undefined when the call returned none for it. */
  add(sid: string, arg: A): Promise<R | undefined> {
    this.#traffic.arrived(this.#options.spread === true);
    return new Promise((resolve, reject) => {
      const entry = this.#pending.get(sid);
      if (entry) {
        entry.arg = this.#options.merge ? this.#options.merge(entry.arg, arg) : arg;
        entry.waiters.push({ resolve, reject });
      } else {
        this.#pending.set(sid, { arg, waiters: [{ resolve, reject }] });
      }
      if (this.#traffic.quiet && !this.#scheduled) this.#dispatch();
      else this.#schedule();
    });
  }

  /** Dispatches once the work under way in the process has had its turn (see the class comment). */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    afterPendingWork(() => {
      this.#scheduled = false;
      this.#dispatch();
    });
  }

  /** Sends waiting entries while a call may start and one can be filled (spread: see BatcherOptions). */
  #dispatch(): void {
    const spread = this.#options.spread === true && this.#traffic.readOnly;
    while (this.#inFlight < this.#options.maxInFlight) {
      const share = spread ? Math.ceil(this.#pending.size / (this.#options.maxInFlight - this.#inFlight)) : Infinity;
      const batch = this.#take(share);
      if (batch.size === 0) return;
      this.#send(batch);
    }
  }

  /**
   * Takes the oldest waiting entries (skipping session ids in flight), at most `share` of
   * them, within the count and byte budgets.
   */
  #take(share: number): Map<string, Entry<A, R>> {
    const { maxBatch, maxBytes, bytes } = this.#options;
    const most = Math.min(maxBatch, share);
    const batch = new Map<string, Entry<A, R>>();
    let size = 0;
    for (const [sid, entry] of this.#pending) {
      if (this.#inFlightSids.has(sid)) continue;
      if (maxBytes !== undefined && bytes) {
        const more = bytes(entry.arg);
        if (batch.size > 0 && size + more > maxBytes) break;
        size += more;
      }
      batch.set(sid, entry);
      if (batch.size >= most) break;
    }
    for (const sid of batch.keys()) {
      this.#pending.delete(sid);
      this.#inFlightSids.add(sid);
    }
    return batch;
  }

  #send(batch: Map<string, Entry<A, R>>): void {
    this.#inFlight++;
    this.#traffic.inFlight++;
    const args = new Map<string, A>();
    for (const [sid, { arg }] of batch) args.set(sid, arg);
    let call: Promise<Map<string, R>>;
    try {
      call = this.#options.run(args);
    } catch (err) {
      call = Promise.reject(err);
    }
    const { copy } = this.#options;
    call.then(
      (results) => {
        try {
          for (const [sid, { waiters }] of batch) {
            const result = results.get(sid);
            waiters.forEach((w, i) => w.resolve(result !== undefined && i > 0 && copy ? copy(result) : result));
          }
        } catch (err) {
          // Settled waiters ignore this; the others must not hang.
          for (const { waiters } of batch.values()) for (const w of waiters) w.reject(err);
        }
        this.#finish(batch);
      },
      (err: unknown) => {
        for (const { waiters } of batch.values()) for (const w of waiters) w.reject(err);
        this.#finish(batch);
      },
    );
  }

  #finish(batch: Map<string, Entry<A, R>>): void {
    this.#inFlight--;
    this.#traffic.inFlight--;
    let callers = 0;
    for (const { waiters } of batch.values()) callers += waiters.length;
    this.#traffic.answered(callers);
    for (const sid of batch.keys()) this.#inFlightSids.delete(sid);
    if (this.#pending.size > 0) this.#schedule();
  }
}
