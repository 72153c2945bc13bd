// Batcher (src/batcher.ts) on its own: a run() that records each call and answers when
// the test says, so every property is observed call by call. No timers anywhere: a turn
// of the event loop is a real setImmediate.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Batcher, READ_ONLY_AFTER, Traffic } from "../../dist/esm/batcher.js";

/** A batcher whose calls wait until the test resolves (or rejects) them, recorded in `calls`. */
function recording(options = {}) {
  const calls = [];
  const batcher = new Batcher({
    maxBatch: 100,
    maxInFlight: 1,
    ...options,
    run(batch) {
      return new Promise((resolve, reject) => {
        calls.push({
          batch,
          answer: (results = new Map([...batch].map(([sid, arg]) => [sid, `${sid}:${arg}`]))) => resolve(results),
          fail: reject,
        });
      });
    },
  });
  return { batcher, calls };
}

/**
 * Lets the event loop turn until the batcher's dispatch ran: a real setImmediate queued
 * by work under way (a call's answer reaches the batcher in a promise job) runs before
 * one queued from the check phase it runs in.
 */
const turn = () => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

test("in a quiet moment an operation goes out at once, alone; the others of its turn share the next call", async () => {
  const { batcher, calls } = recording({ maxInFlight: 2 });
  const results = ["a", "b", "c"].map((sid, i) => batcher.add(sid, i));
  assert.deepEqual(calls.map((c) => [...c.batch.keys()]), [["a"]], "a at once, in the same tick as add()");
  await turn();
  assert.deepEqual(calls.map((c) => [...c.batch.keys()]), [["a"], ["b", "c"]], "b and c after the turn, together");
  results.push(batcher.add("d", 3), batcher.add("e", 4));
  await turn();
  assert.equal(calls.length, 2, "two calls out (maxInFlight): the rest wait");
  calls[0].answer();
  await turn();
  assert.deepEqual(calls.map((c) => [...c.batch.keys()]), [["a"], ["b", "c"], ["d", "e"]]);
  calls[1].answer();
  calls[2].answer();
  assert.deepEqual(await Promise.all(results), ["a:0", "b:1", "c:2", "d:3", "e:4"]);
});

test("a call that answered one caller leaves the moment quiet: that caller's next operation goes at once", async () => {
  const { batcher, calls } = recording();
  const next = batcher.add("a", 0).then(() => {
    const again = batcher.add("a2", 0);
    assert.equal(calls.length, 2, "sent in the same tick");
    return again;
  });
  calls[0].answer();
  await turn();
  calls[1].answer();
  assert.equal(await next, "a2:0");
});

test("the callers a call answered, and what waited, share the next call; so do the batchers of one Traffic", async () => {
  const traffic = new Traffic();
  const reads = recording({ maxInFlight: 1, traffic });
  const writes = recording({ maxInFlight: 1, traffic });
  reads.batcher.add("busy", 0);
  const cohort = ["a", "b"].map((sid) => reads.batcher.add(sid, 0).then(() => writes.batcher.add(sid, 1)));
  reads.calls[0].answer();
  await turn();
  assert.deepEqual(reads.calls.map((c) => [...c.batch.keys()]), [["busy"], ["a", "b"]]);
  reads.calls[1].answer();
  await turn();
  assert.deepEqual(
    writes.calls.map((c) => [...c.batch.keys()]),
    [["a", "b"]],
    "two callers answered: the moment is not quiet, their writes go together",
  );
  writes.calls[0].answer();
  await Promise.all(cohort);
});

test("read-only traffic: a spreading batcher shares its waiting entries out over the free call slots; a write ends it", async () => {
  const traffic = new Traffic();
  const reads = recording({ maxInFlight: 2, spread: true, traffic });
  const writes = recording({ maxInFlight: 1, traffic });
  const sizes = () => reads.calls.map((c) => c.batch.size);
  const sids = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  writes.batcher.add("w", 0); // in flight: the reads below gather instead of going alone
  let waiting = sids("a", 8).map((sid) => reads.batcher.add(sid, 0));
  await turn();
  assert.deepEqual(sizes(), [8], "8 reads since the last write: one call, the other slot left free");
  reads.calls[0].answer();
  await Promise.all(waiting);
  waiting = sids("b", READ_ONLY_AFTER).map((sid) => reads.batcher.add(sid, 0));
  await turn();
  assert.deepEqual(
    sizes(),
    [8, READ_ONLY_AFTER / 2, READ_ONLY_AFTER / 2],
    "read-only: two calls side by side, half each",
  );
  reads.calls[1].answer();
  reads.calls[2].answer();
  await Promise.all(waiting);
  writes.batcher.add("w2", 0);
  waiting = sids("c", 8).map((sid) => reads.batcher.add(sid, 0));
  await turn();
  assert.deepEqual(
    sizes(),
    [8, READ_ONLY_AFTER / 2, READ_ONLY_AFTER / 2, 8],
    "a write arrived: reads fill one call again",
  );
  reads.calls[3].answer();
  await Promise.all(waiting);
});

test("maxBatch bounds the session ids of one call", async () => {
  const { batcher, calls } = recording({ maxBatch: 2 });
  const sids = ["a", "b", "c", "d", "e", "f"];
  const results = sids.map((sid) => batcher.add(sid, 0));
  calls[0].answer();
  await turn();
  assert.deepEqual(calls.map((c) => [...c.batch.keys()]), [["a"], ["b", "c"]]);
  calls[1].answer();
  await turn();
  calls[2].answer();
  await turn();
  assert.deepEqual(calls.map((c) => c.batch.size), [1, 2, 2, 1]);
  calls[3].answer();
  assert.equal((await Promise.all(results)).length, sids.length);
});

test("maxBytes bounds a call's bytes; an entry larger than the budget still goes, alone", async () => {
  const { batcher, calls } = recording({ maxBytes: 10, bytes: (n) => n });
  batcher.add("first", 1);
  for (const [sid, n] of [["a", 4], ["b", 4], ["c", 4], ["huge", 50], ["d", 1]]) batcher.add(sid, n);
  calls[0].answer();
  await turn();
  assert.deepEqual([...calls[1].batch.keys()], ["a", "b"], "4 + 4 fits in 10, a third 4 does not");
  calls[1].answer();
  await turn();
  assert.deepEqual([...calls[2].batch.keys()], ["c"], "the oversize entry does not join a started call");
  calls[2].answer();
  await turn();
  assert.deepEqual([...calls[3].batch.keys()], ["huge"]);
  calls[3].answer();
  await turn();
  assert.deepEqual([...calls[4].batch.keys()], ["d"]);
});

test("one session id: waiting operations merge (the later argument wins, both get the result), in issue order", async () => {
  const copies = [];
  const { batcher, calls } = recording({
    maxInFlight: 2,
    copy: (r) => {
      copies.push(r);
      return `copy of ${r}`;
    },
  });
  const first = batcher.add("s", "one");
  const second = batcher.add("s", "two");
  const third = batcher.add("s", "three");
  await turn();
  assert.equal(calls.length, 1, "a session id in flight is not sent again while a call slot is free");
  calls[0].answer();
  await turn();
  assert.equal(calls.length, 2);
  assert.deepEqual([...calls[1].batch], [["s", "three"]], "the later argument replaced the earlier");
  calls[1].answer();
  assert.deepEqual(await Promise.all([first, second, third]), ["s:one", "s:three", "copy of s:three"]);
  assert.deepEqual(copies, ["s:three"], "every waiter after the first gets its own copy");
});

test("merge() makes the one entry of two operations on one session id", async () => {
  const { batcher, calls } = recording({ merge: (earlier, later) => `${earlier}+${later}` });
  batcher.add("busy", 0);
  const results = [batcher.add("s", "save"), batcher.add("s", "touch")];
  calls[0].answer();
  await turn();
  assert.deepEqual([...calls[1].batch], [["s", "save+touch"]]);
  calls[1].answer();
  assert.deepEqual(await Promise.all(results), ["s:save+touch", "s:save+touch"]);
});

test("a session id with no result resolves with undefined", async () => {
  const { batcher, calls } = recording();
  const missing = batcher.add("gone", 0);
  calls[0].answer(new Map());
  assert.equal(await missing, undefined);
});

test("a failing call fails every operation in it, and only those", async () => {
  const { batcher, calls } = recording();
  const inFirst = batcher.add("a", 0);
  const inSecond = [batcher.add("b", 0), batcher.add("b", 1), batcher.add("c", 0)];
  const boom = new Error("call failed");
  calls[0].fail(boom);
  await assert.rejects(inFirst, boom);
  await turn();
  calls[1].answer();
  assert.deepEqual(await Promise.all(inSecond), ["b:1", "b:1", "c:0"]);
});

test("a run() that throws synchronously fails its operations; the batcher goes on", async () => {
  let throwNext = true;
  const batcher = new Batcher({
    maxBatch: 10,
    maxInFlight: 1,
    run: (batch) => {
      if (throwNext) {
        throwNext = false;
        throw new TypeError("sync");
      }
      return Promise.resolve(new Map([...batch.keys()].map((sid) => [sid, "ok"])));
    },
  });
  await assert.rejects(batcher.add("a", 0), /sync/);
  assert.equal(await batcher.add("a", 0), "ok");
});

test("a copy() that throws rejects the waiters not yet settled instead of leaving them hanging", async () => {
  const { batcher, calls } = recording({
    copy: () => {
      throw new Error("cannot copy");
    },
  });
  batcher.add("s", 0);
  const a = batcher.add("t", 0);
  const b = batcher.add("t", 1);
  calls[0].answer();
  await turn();
  calls[1].answer();
  assert.equal(await a, "t:1");
  await assert.rejects(b, /cannot copy/);
});

test("no timers: it makes progress with setTimeout and setInterval unavailable", async (t) => {
  t.mock.method(globalThis, "setTimeout", () => assert.fail("setTimeout used"));
  t.mock.method(globalThis, "setInterval", () => assert.fail("setInterval used"));
  const batcher = new Batcher({
    maxBatch: 10,
    maxInFlight: 1,
    run: (b) => Promise.resolve(new Map([...b.keys()].map((s) => [s, s]))),
  });
  const results = await Promise.all(["a", "b", "c", "a"].map((sid) => batcher.add(sid, 0)));
  assert.deepEqual(results, ["a", "b", "c", "a"]);
});

test("maxInFlight and maxBatch below 1 are refused", () => {
  const run = () => Promise.resolve(new Map());
  assert.throws(() => new Batcher({ run, maxBatch: 1, maxInFlight: 0 }), RangeError);
  assert.throws(() => new Batcher({ run, maxBatch: 0, maxInFlight: 1 }), RangeError);
});
