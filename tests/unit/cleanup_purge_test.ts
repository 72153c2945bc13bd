// The function's purge loop (functions/cleanup-sessions/purge.ts) with a scripted rpc
// and a clock the test advances: batches, the time budget, dry runs, failures part-way.
import assert from "node:assert/strict";
import type { Rpc } from "../../functions/cleanup-sessions/db.ts";
import { purge, PurgeError } from "../../functions/cleanup-sessions/purge.ts";

/** An rpc answering from `answers` in order (an Error is thrown), recording each call. */
function scripted(answers: unknown[]) {
  const calls: [string, Record<string, unknown> | undefined][] = [];
  const rpc: Rpc = (fn, args) => {
    calls.push([fn, args]);
    const next = answers.shift();
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  };
  return { rpc, calls };
}

/** A clock that moves `stepMs` each time it is read. */
function ticking(stepMs: number) {
  let now = 0;
  return () => (now += stepMs);
}

const options = (o: Partial<{ batchSize: number; timeBudgetMs: number; dryRun: boolean }> = {}) => ({
  batchSize: 10,
  timeBudgetMs: 1_000,
  dryRun: false,
  ...o,
});

Deno.test("batches until a short one: everything expired is gone", async () => {
  const { rpc, calls } = scripted([10, 10, "3"]);
  const result = await purge(rpc, options(), ticking(1));
  assert.deepEqual({ ...result, durationMs: undefined }, {
    deleted: 23,
    batches: 3,
    more: false,
    dryRun: false,
    durationMs: undefined,
  });
  assert.deepEqual(calls, Array(3).fill(["cleanup_expired_sessions", { batch_size: 10 }]));
});

Deno.test("a spent time budget stops after the batch under way and says more may remain", async () => {
  const { rpc, calls } = scripted([10, 10, 10]);
  const result = await purge(rpc, options({ timeBudgetMs: 15 }), ticking(10));
  assert.equal(result.batches, 2);
  assert.equal(result.more, true);
  assert.equal(calls.length, 2);
  const once = await purge(scripted([10]).rpc, options({ timeBudgetMs: 0 }), ticking(10));
  assert.equal(once.batches, 1, "at least one batch always runs");
});

Deno.test("a dry run only counts", async () => {
  const { rpc, calls } = scripted(["7"]);
  const result = await purge(rpc, options({ dryRun: true }), ticking(1));
  assert.deepEqual(calls, [["count_expired_sessions", undefined]]);
  assert.deepEqual({ ...result, durationMs: 0 }, {
    deleted: 0,
    batches: 0,
    more: true,
    durationMs: 0,
    dryRun: true,
    expired: 7,
  });
  assert.equal((await purge(scripted([0]).rpc, options({ dryRun: true }))).more, false);
});

Deno.test("a failure part-way is a PurgeError with what was already deleted", async () => {
  const failure = new Error("connection lost");
  const err = await purge(scripted([10, 10, failure]).rpc, options(), ticking(1)).catch((e) => e);
  assert.ok(err instanceof PurgeError);
  assert.equal(err.failure, failure);
  assert.deepEqual([err.deleted, err.batches, err.message], [20, 2, "connection lost"]);
  const dry = await purge(scripted([failure]).rpc, options({ dryRun: true })).catch((e) => e);
  assert.ok(dry instanceof PurgeError);
  assert.deepEqual([dry.deleted, dry.batches], [0, 0]);
});

Deno.test("an answer that is not a row count is a failure, never a number", async () => {
  for (const answer of [null, -1, 1.5, "x", { n: 1 }, Number.MAX_SAFE_INTEGER + 2]) {
    const err = await purge(scripted([answer]).rpc, options()).catch((e) => e);
    assert.ok(err instanceof PurgeError, String(answer));
    assert.match(err.message, /unexpected answer from the database/);
  }
});
