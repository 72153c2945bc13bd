// The store's two queues, reads and writes: how many operations one call carries, how
// many calls run at once, and what each kind may share. The store gives each its call.
import { Batcher, type Traffic } from "./batcher.js";
import { mergeWrites, type PendingWrite, type WriteOutcome } from "./write-plan.js";

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

export type SessionRow = Record<string, unknown>;

/** The queue of gets: `run` reads the rows of a batch of session ids, by sid. */
export function readQueue(
  traffic: Traffic,
  run: (sids: string[]) => Promise<Map<string, SessionRow>>,
): Batcher<void, SessionRow> {
  return new Batcher({
    run: (batch) => run([...batch.keys()]),
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
}

/**
 * The queue of saves and touches: one queue for both kinds, so that under load one call
 * (and one commit) carries the writes of both.
 */
export function writeQueue(
  traffic: Traffic,
  run: (batch: Map<string, PendingWrite>) => Promise<Map<string, WriteOutcome>>,
): Batcher<PendingWrite, WriteOutcome> {
  return new Batcher({
    run,
    maxBatch: MAX_WRITE_BATCH,
    maxInFlight: MAX_IN_FLIGHT,
    traffic,
    maxBytes: MAX_SET_BATCH_BYTES,
    bytes: (write) => (write.kind === "save" ? write.bytes : 0),
    merge: mergeWrites,
  });
}
