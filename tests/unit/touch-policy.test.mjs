// The touchAfter policy (src/touch-policy.ts): which touches need no round trip.
import assert from "node:assert/strict";
import { test } from "node:test";
import { monotonicNow } from "../../dist/esm/real-timers.js";
import { dataFingerprint } from "../../dist/esm/data-fingerprint.js";
import { TouchPolicy } from "../../dist/esm/touch-policy.js";

const at = (ms) => new Date(ms);

test("touchAfter 0: nothing is remembered, no touch is skipped", () => {
  const policy = new TouchPolicy(0);
  policy.remember("s", { expiresMs: 1_000 });
  assert.equal(policy.recentlyWritten("s", at(1_000)), false);
});

test("a touch moving a known expiry by less than touchAfter is skipped; by touchAfter or more it is not", () => {
  const policy = new TouchPolicy(10);
  policy.rememberWrite("s", { expiry: at(100_000) }, monotonicNow());
  assert.equal(policy.recentlyWritten("s", at(109_999)), true);
  assert.equal(policy.recentlyWritten("s", at(90_001)), true, "either direction");
  assert.equal(policy.recentlyWritten("s", at(110_000)), false);
  assert.equal(policy.recentlyWritten("other", at(100_000)), false, "an unknown session is touched");
});

test("a cookie without expiry: skipped while less than touchAfter has passed since the store's own ttl write", () => {
  const policy = new TouchPolicy(10);
  policy.rememberWrite("s", { expiry: null }, monotonicNow());
  assert.equal(policy.recentlyWritten("s", null), true);
  policy.rememberWrite("old", { expiry: null }, monotonicNow() - 10_000);
  assert.equal(policy.recentlyWritten("old", null), false);
  policy.remember("read", { expiresMs: Date.now() });
  assert.equal(policy.recentlyWritten("read", null), false, "a read expiry says nothing about a ttl write");
});

test("a read keeps the time of the last ttl write, and updates the known expiry", () => {
  const policy = new TouchPolicy(10);
  policy.rememberWrite("s", { expiry: null }, monotonicNow());
  policy.remember("s", { expiresMs: 500_000 });
  assert.equal(policy.recentlyWritten("s", null), true);
  assert.equal(policy.recentlyWritten("s", at(505_000)), true);
});

test("forget and clear: the next touch writes", () => {
  const policy = new TouchPolicy(10);
  policy.rememberWrite("a", { expiry: at(1_000) }, 0);
  policy.rememberWrite("b", { expiry: at(1_000) }, 0);
  policy.forget("a");
  assert.equal(policy.recentlyWritten("a", at(1_000)), false);
  assert.equal(policy.recentlyWritten("b", at(1_000)), true);
  policy.clear();
  assert.equal(policy.recentlyWritten("b", at(1_000)), false);
});

test("it remembers at most its capacity of sessions", () => {
  const policy = new TouchPolicy(10, 2);
  for (const sid of ["a", "b", "c"]) policy.rememberWrite(sid, { expiry: at(1_000) }, 0);
  assert.equal(policy.recentlyWritten("a", at(1_000)), false);
  assert.equal(policy.recentlyWritten("c", at(1_000)), true);
});

// Unchanged saves (@fastify/session's rolling `set` on every request): skipped like touches.
// Expiries an hour and more ahead: an unchanged save's expiry must be more than touchAfter away.
const BASE = Date.now() + 3_600_000;
const inAnHour = (ms) => new Date(BASE + ms);
const save = (data, expiry) => ({ kind: "save", expiry, fingerprint: dataFingerprint(data) });

test("a save of the data last saved, moving the expiry by less than touchAfter, is skipped", () => {
  const policy = new TouchPolicy(10);
  const data = { cookie: { expires: inAnHour(100_000).toISOString(), path: "/" }, views: 1 };
  policy.rememberWrite("s", save(data, inAnHour(100_000)), monotonicNow());
  const later = { cookie: { expires: inAnHour(105_000).toISOString(), path: "/" }, views: 1 };
  assert.equal(policy.unchangedSave("s", inAnHour(105_000), policy.fingerprint(later)), true);
  assert.equal(policy.unchangedSave("s", inAnHour(110_000), policy.fingerprint(later)), false, "moved by touchAfter");
  const changed = { cookie: later.cookie, views: 2 };
  assert.equal(policy.unchangedSave("s", inAnHour(105_000), policy.fingerprint(changed)), false, "data changed");
  assert.equal(policy.unchangedSave("other", inAnHour(100_000), policy.fingerprint(data)), false, "unknown session");
});

test("touchAfter 0: no fingerprint, no save skipped", () => {
  const policy = new TouchPolicy(0);
  assert.equal(policy.fingerprint({ views: 1 }), undefined);
  policy.rememberWrite("s", save({ views: 1 }, inAnHour(1_000)), monotonicNow());
  assert.equal(policy.unchangedSave("s", inAnHour(1_000), dataFingerprint({ views: 1 })), false);
});

test("a read's data counts as last saved, unless a write of the session answered after the read was sent", () => {
  const policy = new TouchPolicy(10);
  const sentAt = monotonicNow();
  policy.rememberRead("s", inAnHour(100_000).getTime(), { views: 1, cookie: { path: "/" } }, sentAt);
  assert.equal(
    policy.unchangedSave("s", inAnHour(100_000), dataFingerprint({ cookie: { path: "/" }, views: 1 })),
    true,
  );
  // A write answers, then a read sent before it answers with older data: the write's data stays known.
  const readSentAt = monotonicNow();
  policy.rememberWrite("s", save({ views: 2 }, inAnHour(100_000)), readSentAt);
  policy.rememberRead("s", inAnHour(100_000).getTime(), { views: 1 }, readSentAt);
  assert.equal(
    policy.unchangedSave("s", inAnHour(100_000), dataFingerprint({ views: 1 })),
    false,
    "old data saved again",
  );
  assert.equal(policy.unchangedSave("s", inAnHour(100_000), dataFingerprint({ views: 2 })), true);
});

test("a touch keeps the known data; a save that stored nothing and a failed call forget the session", () => {
  const policy = new TouchPolicy(10);
  policy.rememberWrite("s", save({ views: 1 }, inAnHour(100_000)), monotonicNow());
  policy.rememberOutcomes(
    new Map([["s", { kind: "touch", expiry: inAnHour(200_000) }]]),
    new Map([["s", "touched"]]),
    0,
  );
  assert.equal(policy.unchangedSave("s", inAnHour(200_000), dataFingerprint({ views: 1 })), true);
  policy.rememberOutcomes(new Map([["s", save({ views: 1 }, inAnHour(300_000))]]), new Map([["s", "destroyed"]]), 0);
  assert.equal(
    policy.unchangedSave("s", inAnHour(200_000), dataFingerprint({ views: 1 })),
    false,
    "destroyed: forgotten",
  );
  policy.rememberWrite("t", save({ views: 1 }, inAnHour(100_000)), monotonicNow());
  assert.throws(() => policy.forgetFailed(["t"], new Error("boom")), /boom/);
  assert.equal(policy.unchangedSave("t", inAnHour(100_000), dataFingerprint({ views: 1 })), false, "failed: forgotten");
});

test("an unchanged save whose expiry is past, or less than touchAfter away, is never skipped", () => {
  const policy = new TouchPolicy(10);
  const data = { views: 1 };
  const now = Date.now();
  policy.rememberWrite("s", save(data, new Date(now + 5_000)), monotonicNow());
  assert.equal(policy.unchangedSave("s", new Date(now + 4_000), dataFingerprint(data)), false, "4 s away");
  assert.equal(policy.unchangedSave("s", new Date(now - 1_000), dataFingerprint(data)), false, "past: deletes");
});

test("dataFingerprint: the cookie's expiry fields and key order do not count; everything else does", () => {
  class Cookie {
    constructor(expires) {
      this._expires = expires;
    }
    toJSON() {
      return { expires: this._expires, originalMaxAge: 60_000, originalExpires: inAnHour(1).toISOString(), path: "/" };
    }
  }
  const saved = { cookie: new Cookie(inAnHour(1_000)), passport: { user: "u1" } };
  const read = { passport: { user: "u1" }, cookie: { path: "/", originalMaxAge: 60_000, expires: "x" } };
  assert.equal(dataFingerprint(saved), dataFingerprint(read));
  assert.notEqual(dataFingerprint(saved), dataFingerprint({ ...read, cookie: { ...read.cookie, path: "/a" } }));
  assert.notEqual(dataFingerprint(saved), dataFingerprint({ ...read, passport: { user: "u2" } }));
  assert.notEqual(dataFingerprint(saved), dataFingerprint({ ...read, extra: null }));
  assert.notEqual(
    dataFingerprint({ a: { b: 1, c: 2 } }),
    dataFingerprint({ a: { c: 2, b: 1 } }),
    "nested order counts",
  );
});
