// Write planning: which SQL function one batch of writes calls, with which arguments, and
// what each write did, read back from the answer. No I/O: the store makes the call.
import type { Args, SessionFunction } from "./backend.js";
import { JsonArg, sidOf } from "./backend.js";

/**
 * A write waiting for its batch: a save (the session's JSON, serialised when `set` was
 * called) or a touch, with the cookie's expiry.
 */
export type PendingWrite = SaveWrite | TouchWrite;
/** A save's `fingerprint` (dataFingerprint, when touchAfter is on) is remembered once it is stored. */
export type SaveWrite = { kind: "save"; json: string; bytes: number; expiry: Date | null; fingerprint?: string };
export type TouchWrite = { kind: "touch"; expiry: Date | null };
/** What a write did to its session: a save's outcome (session_save_one), or "touched" when a touch wrote. */
export type WriteOutcome = "stored" | "expired" | "destroyed" | "touched";

/** The store's settings a write call carries. */
export interface WriteSettings {
  /** Seconds a session without a cookie expiry lives: the database's `now() + ttl`. */
  readonly ttl: number;
  /** A touch moving the stored expiry by fewer seconds than this writes nothing. */
  readonly touchAfter: number;
  /** Commits writes with synchronous_commit off. */
  readonly relaxedDurability: boolean;
}

/**
 * One round trip for a batch: the function, the shape of its answer, its named arguments
 * (in the function's parameter order: the pg backend passes them positionally), and how
 * that answer reads as each session's outcome. A session absent from the outcomes wrote
 * nothing (a touch of a session that is gone, or one within touchAfter).
 */
export interface WritePlan {
  readonly fn: SessionFunction;
  readonly shape: "rows" | "scalar";
  readonly args: Args;
  outcomes(answer: unknown): Map<string, WriteOutcome>;
}

type Common = { p_ttl_seconds: number | null; p_durable: boolean };
type Row = Record<string, unknown>;

/**
 * The call for a batch of writes: `session_save_one` or `session_touch_one` for a lone
 * one; for more, `session_save` or `session_touch` when they are all of one kind, else
 * `session_write` for all of them (one commit).
 */
export function planWrites(batch: ReadonlyMap<string, PendingWrite>, settings: WriteSettings): WritePlan {
  const writes = [...batch];
  const first = writes[0];
  if (!first) throw new RangeError("planWrites: a batch has at least one write");
  const common: Common = {
    // Only needed for a cookie without expiry; null keeps a missing one an error.
    p_ttl_seconds: writes.some(([, write]) => write.expiry === null) ? settings.ttl : null,
    p_durable: !settings.relaxedDurability,
  };
  if (writes.length === 1) {
    const [sid, write] = first;
    return write.kind === "save" ? saveOne(sid, write, common) : touchOne(sid, write, settings.touchAfter, common);
  }
  const saves = writes.filter((entry): entry is [string, SaveWrite] => entry[1].kind === "save");
  const touches = writes.filter(([, write]) => write.kind === "touch");
  // Writes of one kind call that kind's function: session_write's own call of it costs
  // a durable batch 3-10% of its throughput (A/B at C = 8 and 32).
  if (touches.length === 0) {
    return {
      fn: "session_save",
      shape: "rows",
      args: { p_sids: sidsOf(saves), p_data: dataOf(saves), p_expires_at: expiriesOf(saves), ...common },
      outcomes: rowOutcomes,
    };
  }
  if (saves.length === 0) {
    return {
      fn: "session_touch",
      shape: "rows",
      args: {
        p_sids: sidsOf(touches),
        p_expires_at: expiriesOf(touches),
        p_touch_after: settings.touchAfter,
        ...common,
      },
      outcomes: (rows) => new Map((rows as unknown[]).map((row) => [sidOf(row), "touched"])),
    };
  }
  return {
    fn: "session_write",
    shape: "rows",
    args: {
      p_save_sids: sidsOf(saves),
      p_save_data: dataOf(saves),
      p_save_expires_at: expiriesOf(saves),
      p_touch_sids: sidsOf(touches),
      p_touch_expires_at: expiriesOf(touches),
      p_touch_after: settings.touchAfter,
      ...common,
    },
    outcomes: rowOutcomes,
  };
}

/**
 * Two writes of one session waiting together: a later save replaces whatever waited; a
 * later touch moves a waiting save's expiry (a save, then a touch: the data saved, with
 * the touch's expiry), or replaces a waiting touch.
 */
export function mergeWrites(earlier: PendingWrite, later: PendingWrite): PendingWrite {
  return later.kind === "touch" && earlier.kind === "save" ? { ...earlier, expiry: later.expiry } : later;
}

function saveOne(sid: string, write: SaveWrite, common: Common): WritePlan {
  return {
    fn: "session_save_one",
    shape: "scalar",
    args: { p_sid: sid, p_data: new JsonArg(write.json), p_expires_at: isoOrNull(write.expiry), ...common },
    outcomes: (outcome) => new Map([[sid, outcome as WriteOutcome]]),
  };
}

function touchOne(sid: string, write: TouchWrite, touchAfter: number, common: Common): WritePlan {
  return {
    fn: "session_touch_one",
    shape: "scalar",
    args: { p_sid: sid, p_expires_at: isoOrNull(write.expiry), p_touch_after: touchAfter, ...common },
    outcomes: (wrote) => new Map(wrote === true ? [[sid, "touched"]] : []),
  };
}

/** The outcomes of `session_save` and `session_write`: one row per session written, with its outcome. */
function rowOutcomes(rows: unknown): Map<string, WriteOutcome> {
  return new Map((rows as Row[]).map((row) => [String(row.sid), row.outcome as WriteOutcome]));
}

function sidsOf(writes: [string, PendingWrite][]): string[] {
  return writes.map(([sid]) => sid);
}

/** The saves' JSON as one array argument, from the text each save serialised when it was issued. */
function dataOf(saves: [string, SaveWrite][]): JsonArg {
  return new JsonArg(`[${saves.map(([, write]) => write.json).join(",")}]`);
}

function expiriesOf(writes: [string, PendingWrite][]): (string | null)[] {
  return writes.map(([, write]) => isoOrNull(write.expiry));
}

function isoOrNull(expiry: Date | null): string | null {
  return expiry?.toISOString() ?? null;
}
