// The touchAfter policy (src/touch-policy.ts): which touches need no round trip.
import assert from "node:assert/strict";
import { test } from "node:test";
import { monotonicNow } from "../../dist/esm/real-timers.js";
import { TouchPolicy } from "../../dist/esm/touch-policy.js";

const at = (ms) => new Date(ms);

test("touchAfter 0: nothing is remembered, no touch is skipped", () => {
  const policy = new TouchPolicy(0);
  policy.remember("s", { expiresMs: 1_000 });
  assert.equal(policy.recentlyWritten("s", at(1_000)), false);
});

test("a touch moving a known expiry by less than touchAfter is skipped; by touchAfter or more it is not", () => {
  const policy = new TouchPolicy(10);
  policy.rememberWrite("s", at(100_000), monotonicNow());
  assert.equal(policy.recentlyWritten("s", at(109_999)), true);
  assert.equal(policy.recentlyWritten("s", at(90_001)), true, "either direction");
  assert.equal(policy.recentlyWritten("s", at(110_000)), false);
  assert.equal(policy.recentlyWritten("other", at(100_000)), false, "an unknown session is touched");
});

test("a cookie without expiry: skipped while less than touchAfter has passed since the store's own ttl write", () => {
  const policy = new TouchPolicy(10);
  policy.rememberWrite("s", null, monotonicNow());
  assert.equal(policy.recentlyWritten("s", null), true);
  policy.rememberWrite("old", null, monotonicNow() - 10_000);
  assert.equal(policy.recentlyWritten("old", null), false);
  policy.remember("read", { expiresMs: Date.now() });
  assert.equal(policy.recentlyWritten("read", null), false, "a read expiry says nothing about a ttl write");
});

test("a read keeps the time of the last ttl write, and updates the known expiry", () => {
  const policy = new TouchPolicy(10);
  policy.rememberWrite("s", null, monotonicNow());
  policy.remember("s", { expiresMs: 500_000 });
  assert.equal(policy.recentlyWritten("s", null), true);
  assert.equal(policy.recentlyWritten("s", at(505_000)), true);
});

test("forget and clear: the next touch writes", () => {
  const policy = new TouchPolicy(10);
  policy.rememberWrite("a", at(1_000), 0);
  policy.rememberWrite("b", at(1_000), 0);
  policy.forget("a");
  assert.equal(policy.recentlyWritten("a", at(1_000)), false);
  assert.equal(policy.recentlyWritten("b", at(1_000)), true);
  policy.clear();
  assert.equal(policy.recentlyWritten("b", at(1_000)), false);
});

test("it remembers at most its capacity of sessions", () => {
  const policy = new TouchPolicy(10, 2);
  for (const sid of ["a", "b", "c"]) policy.rememberWrite(sid, at(1_000), 0);
  assert.equal(policy.recentlyWritten("a", at(1_000)), false);
  assert.equal(policy.recentlyWritten("c", at(1_000)), true);
});
