// session-data (src/session-data.ts): what the store accepts as a session id and a
// session, the expiry it reads from the cookie, and what it accepts back from the table.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CorruptSessionError } from "../../dist/esm/errors.js";
import {
  checkSid,
  cookieExpiry,
  MAX_SID_LENGTH,
  parseStoredSession,
  serializeSession,
  toEpochMs,
} from "../../dist/esm/session-data.js";

test("checkSid accepts a non-empty well-formed string up to MAX_SID_LENGTH characters", () => {
  for (const sid of ["a", "x".repeat(MAX_SID_LENGTH), "ümlaut-😀"]) checkSid(sid);
});

test("checkSid refuses what is not one row's id, saying why and never echoing the id", () => {
  const cases = [
    [undefined, TypeError, /non-empty string, got undefined/],
    [42, TypeError, /got number/],
    ["", TypeError, /got an empty string/],
    ["x".repeat(MAX_SID_LENGTH + 1), RangeError, /at most 255 characters, got 256/],
    ["a\0b", TypeError, /NUL/],
    ["a\uD800b", TypeError, /lone surrogate/],
    ["\uDC00", TypeError, /lone surrogate/],
  ];
  for (const [sid, type, message] of cases) {
    assert.throws(() => checkSid(sid), (err) =>
      err instanceof type && message.test(err.message) &&
      (typeof sid !== "string" || sid.length < 2 || !err.message.includes(sid)));
  }
});

test("serializeSession returns the JSON and its UTF-8 byte count", () => {
  const sess = { cookie: { expires: "2030-01-01T00:00:00.000Z" }, name: "é" };
  const { json, bytes } = serializeSession(sess, 1000);
  assert.equal(json, JSON.stringify(sess));
  assert.equal(bytes, json.length + 1, "é is two bytes");
  assert.deepEqual(serializeSession({ user: 1 }, 100).json, '{"user":1}', "a session without cookie is stored");
});

test("serializeSession refuses what Postgres jsonb or the store's size limit would refuse", () => {
  const circular = {};
  circular.self = circular;
  const cases = [
    [null, TypeError, /must be an object/],
    [[1], TypeError, /must be an object/],
    [{ cookie: "x" }, TypeError, /cookie must be an object/],
    [circular, TypeError, /cannot be serialised to JSON/],
    [{ toJSON: () => 1 }, TypeError, /must serialise to a JSON object/],
    [{ s: "a\0b" }, TypeError, /NUL characters/],
    [{ s: "a\uD800" }, TypeError, /lone surrogate/],
    [{ s: "x".repeat(100) }, RangeError, /over the limit of 50 bytes \(maxDataBytes\)/],
  ];
  for (const [sess, type, message] of cases) {
    assert.throws(
      () => serializeSession(sess, 50),
      (err) => err instanceof type && message.test(err.message),
      String(message),
    );
  }
  assert.equal(
    serializeSession({ s: "\\u0000" }, 100).json,
    '{"s":"\\\\u0000"}',
    "an escaped backslash before u0000 is text, not NUL",
  );
});

test("cookieExpiry: the cookie's Date or ISO string, or null for no cookie or no expires", () => {
  const at = new Date("2030-01-01T00:00:00.000Z");
  assert.equal(cookieExpiry({ cookie: { expires: at } }).getTime(), at.getTime());
  assert.equal(cookieExpiry({ cookie: { expires: at.toISOString() } }).getTime(), at.getTime());
  assert.equal(cookieExpiry({ cookie: { expires: null } }), null);
  assert.equal(cookieExpiry({ cookie: {} }), null);
  assert.equal(cookieExpiry({}), null);
  assert.throws(() => cookieExpiry({ cookie: { expires: "soon" } }), RangeError);
  assert.throws(() => cookieExpiry({ cookie: { expires: 5 } }), RangeError);
  assert.throws(() => cookieExpiry("x"), TypeError);
});

test("parseStoredSession returns a well-formed stored session untouched, from an object or JSON text", () => {
  const data = { cookie: { expires: "2030-01-01T00:00:00.000Z" }, user: "ada" };
  assert.equal(parseStoredSession("sid", data), data);
  assert.deepEqual(parseStoredSession("sid", JSON.stringify(data)), data);
  assert.deepEqual(parseStoredSession("sid", { user: "no cookie" }), { user: "no cookie" });
  assert.deepEqual(parseStoredSession("sid", { cookie: { expires: null } }), { cookie: { expires: null } });
});

test("parseStoredSession calls anything express-session could not revive corrupt, naming why", () => {
  const cases = [
    ["{not json", /not valid JSON/],
    [[1], /not a JSON object/],
    [null, /not a JSON object/],
    [{ cookie: 1 }, /data.cookie is not an object/],
    [{ cookie: { expires: 5 } }, /not a date string/],
    [{ cookie: { expires: "later" } }, /not a date string/],
  ];
  const key = "0123456789abcdef".repeat(4);
  for (const [raw, message] of cases) {
    assert.throws(
      () => parseStoredSession(key, raw),
      (err) =>
        err instanceof CorruptSessionError && message.test(err.message) && err.sidHash === key.slice(0, 16) &&
        !err.message.includes(key),
    );
  }
});

test("toEpochMs reads a Date or a timestamptz string", () => {
  assert.equal(toEpochMs(new Date(5)), 5);
  assert.equal(toEpochMs("1970-01-01T00:00:00.010Z"), 10);
});
