// The purge loop: one short transaction per batch (each call of
// cleanup_expired_sessions is its own API request), so live session traffic is
// never held up for long, and a time budget so one invocation stays bounded.
import type { PurgeOptions } from "./options.ts";
import type { Rpc } from "./db.ts";

export interface PurgeResult {
  deleted: number;
  batches: number;
  /** Whether expired sessions may remain (the budget ran out, or a dry run found some). */
  more: boolean;
  durationMs: number;
  dryRun: boolean;
  /** Dry run only: how many sessions a purge would delete now. */
  expired?: number;
}

/** A failure part-way through; what was already deleted stays deleted. */
export class PurgeError extends Error {
  constructor(readonly failure: unknown, readonly deleted: number, readonly batches: number) {
    super(failure instanceof Error ? failure.message : String(failure));
  }
}

export async function purge(rpc: Rpc, options: PurgeOptions, clock = () => performance.now()): Promise<PurgeResult> {
  const started = clock();
  const elapsed = () => Math.round(clock() - started);

  if (options.dryRun) {
    let expired;
    try {
      expired = count(await rpc("count_expired_sessions"));
    } catch (err) {
      throw new PurgeError(err, 0, 0);
    }
    return { deleted: 0, batches: 0, more: expired > 0, durationMs: elapsed(), dryRun: true, expired };
  }

  let deleted = 0;
  let batches = 0;
  for (;;) {
    let n;
    try {
      n = count(await rpc("cleanup_expired_sessions", { batch_size: options.batchSize }));
    } catch (err) {
      throw new PurgeError(err, deleted, batches);
    }
    deleted += n;
    batches += 1;
    // A short batch means nothing expired was left when it ran.
    if (n < options.batchSize) return { deleted, batches, more: false, durationMs: elapsed(), dryRun: false };
    if (clock() - started >= options.timeBudgetMs) {
      return { deleted, batches, more: true, durationMs: elapsed(), dryRun: false };
    }
  }
}

/** A row count from the API: an integer, possibly sent as a string (bigint). */
function count(value: unknown): number {
  const n = typeof value === "string" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
    throw new Error(`unexpected answer from the database: ${JSON.stringify(value)}`);
  }
  return n;
}
