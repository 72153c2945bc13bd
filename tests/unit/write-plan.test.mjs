// Write planning (src/write-plan.ts) on its own: which SQL function a batch of writes
// calls, with which arguments in which order, and what each write did, read from the answer.
import assert from "node:assert/strict";
import { test } from "node:test";
import { JsonArg } from "../../dist/esm/backend.js";
import { mergeWrites, planWrites } from "../../dist/esm/write-plan.js";

const settings = { ttl: 600, touchAfter: 30, relaxedDurability: false };
const expiry = new Date("2030-01-02T03:04:05.000Z");
const later = new Date("2030-01-02T04:00:00.000Z");
const save = (json, at = expiry) => ({ kind: "save", json, bytes: json.length, expiry: at });
const touch = (at = expiry) => ({ kind: "touch", expiry: at });
const batch = (...entries) => new Map(entries);
/** The arguments as [name, value] pairs, in order (the pg backend passes them positionally), JSON as its text. */
const argsOf = (plan) =>
  Object.entries(plan.args).map(([name, value]) => [name, value instanceof JsonArg ? `json:${value.text}` : value]);

test("a lone save calls session_save_one with scalar arguments, and its answer is the save's outcome", () => {
  const plan = planWrites(batch(["a", save('{"n":1}')]), settings);
  assert.equal(plan.fn, "session_save_one");
  assert.equal(plan.shape, "scalar");
  assert.deepEqual(argsOf(plan), [
    ["p_sid", "a"],
    ["p_data", 'json:{"n":1}'],
    ["p_expires_at", expiry.toISOString()],
    ["p_ttl_seconds", null],
    ["p_durable", true],
  ]);
  for (const outcome of ["stored", "expired", "destroyed"]) {
    assert.deepEqual(plan.outcomes(outcome), new Map([["a", outcome]]));
  }
});

test("a lone touch calls session_touch_one with touchAfter; it touched only when the answer is true", () => {
  const plan = planWrites(batch(["a", touch()]), settings);
  assert.equal(plan.fn, "session_touch_one");
  assert.equal(plan.shape, "scalar");
  assert.deepEqual(argsOf(plan), [
    ["p_sid", "a"],
    ["p_expires_at", expiry.toISOString()],
    ["p_touch_after", 30],
    ["p_ttl_seconds", null],
    ["p_durable", true],
  ]);
  assert.deepEqual(plan.outcomes(true), new Map([["a", "touched"]]));
  assert.deepEqual(plan.outcomes(false), new Map(), "within touchAfter, or the session is gone");
  assert.deepEqual(plan.outcomes(null), new Map());
});

test("ttl goes only with a write whose cookie has no expiry; relaxedDurability sends p_durable false", () => {
  const relaxed = { ...settings, relaxedDurability: true };
  const lone = planWrites(batch(["a", save("{}", null)]), relaxed).args;
  assert.equal(lone.p_expires_at, null);
  assert.equal(lone.p_ttl_seconds, 600);
  assert.equal(lone.p_durable, false);
  const some = planWrites(batch(["a", touch()], ["b", touch(null)]), settings).args;
  assert.equal(some.p_ttl_seconds, 600, "one write without expiry is enough");
  assert.deepEqual(some.p_expires_at, [expiry.toISOString(), null]);
  assert.equal(planWrites(batch(["a", touch()], ["b", touch()]), settings).args.p_ttl_seconds, null);
});

test("saves alone call session_save: arrays in batch order, the data as one JSON array of the texts saved", () => {
  const plan = planWrites(batch(["a", save('{"n":1}')], ["b", save('{"n":2}', later)]), settings);
  assert.equal(plan.fn, "session_save");
  assert.equal(plan.shape, "rows");
  assert.deepEqual(argsOf(plan), [
    ["p_sids", ["a", "b"]],
    ["p_data", 'json:[{"n":1},{"n":2}]'],
    ["p_expires_at", [expiry.toISOString(), later.toISOString()]],
    ["p_ttl_seconds", null],
    ["p_durable", true],
  ]);
  assert.deepEqual(
    plan.outcomes([{ sid: "a", outcome: "stored" }, { sid: "b", outcome: "destroyed" }]),
    new Map([["a", "stored"], ["b", "destroyed"]]),
  );
});

test("touches alone call session_touch; each sid answered, as a row or a bare value, was touched", () => {
  const plan = planWrites(batch(["a", touch()], ["b", touch(later)], ["c", touch()]), settings);
  assert.equal(plan.fn, "session_touch");
  assert.equal(plan.shape, "rows");
  assert.deepEqual(argsOf(plan), [
    ["p_sids", ["a", "b", "c"]],
    ["p_expires_at", [expiry.toISOString(), later.toISOString(), expiry.toISOString()]],
    ["p_touch_after", 30],
    ["p_ttl_seconds", null],
    ["p_durable", true],
  ]);
  assert.deepEqual(plan.outcomes([{ sid: "a" }, "c"]), new Map([["a", "touched"], ["c", "touched"]]));
  assert.deepEqual(plan.outcomes([]), new Map(), "none wrote");
});

test("saves and touches together call session_write: the saves' arrays, then the touches'", () => {
  const plan = planWrites(batch(["t1", touch(later)], ["s1", save('{"n":1}')], ["t2", touch()]), settings);
  assert.equal(plan.fn, "session_write");
  assert.equal(plan.shape, "rows");
  assert.deepEqual(argsOf(plan), [
    ["p_save_sids", ["s1"]],
    ["p_save_data", 'json:[{"n":1}]'],
    ["p_save_expires_at", [expiry.toISOString()]],
    ["p_touch_sids", ["t1", "t2"]],
    ["p_touch_expires_at", [later.toISOString(), expiry.toISOString()]],
    ["p_touch_after", 30],
    ["p_ttl_seconds", null],
    ["p_durable", true],
  ]);
  assert.deepEqual(
    plan.outcomes([{ sid: "s1", outcome: "expired" }, { sid: "t2", outcome: "touched" }]),
    new Map([["s1", "expired"], ["t2", "touched"]]),
  );
});

test("a batch has at least one write", () => {
  assert.throws(() => planWrites(new Map(), settings), RangeError);
});

test("two writes of one session merged: a later save wins; a later touch moves a waiting save's expiry", () => {
  const first = save('{"n":1}');
  const second = save('{"n":2}', later);
  assert.equal(mergeWrites(first, second), second);
  assert.equal(mergeWrites(touch(), second), second);
  assert.deepEqual(mergeWrites(first, touch(later)), { ...first, expiry: later });
  const latest = touch(later);
  assert.equal(mergeWrites(touch(), latest), latest);
});
