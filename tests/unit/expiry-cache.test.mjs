// ExpiryCache (src/expiry-cache.ts): a least-recently-used map with a hard capacity.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ExpiryCache } from "../../dist/esm/expiry-cache.js";

test("holds at most `capacity` sessions, dropping the least recently set first", () => {
  const cache = new ExpiryCache(2);
  cache.set("a", { expiresMs: 1 });
  cache.set("b", { expiresMs: 2 });
  cache.set("c", { expiresMs: 3 });
  assert.equal(cache.size, 2);
  assert.equal(cache.get("a"), undefined);
  assert.deepEqual(cache.get("c"), { expiresMs: 3 });
});

test("a get counts as use: the entry read survives the next eviction", () => {
  const cache = new ExpiryCache(2);
  cache.set("a", { expiresMs: 1 });
  cache.set("b", { expiresMs: 2 });
  cache.get("a");
  cache.set("c", { expiresMs: 3 });
  assert.deepEqual(cache.get("a"), { expiresMs: 1 });
  assert.equal(cache.get("b"), undefined);
});

test("setting a known session replaces its entry and makes it the most recent", () => {
  const cache = new ExpiryCache(2);
  cache.set("a", { expiresMs: 1 });
  cache.set("b", { expiresMs: 2 });
  cache.set("a", { ttlWrittenAt: 5 });
  cache.set("c", { expiresMs: 3 });
  assert.equal(cache.size, 2);
  assert.deepEqual(cache.get("a"), { ttlWrittenAt: 5 });
  assert.equal(cache.get("b"), undefined);
});

test("delete and clear forget", () => {
  const cache = new ExpiryCache(10);
  cache.set("a", { expiresMs: 1 });
  cache.set("b", { expiresMs: 2 });
  cache.delete("a");
  assert.equal(cache.get("a"), undefined);
  assert.equal(cache.size, 1);
  cache.clear();
  assert.equal(cache.size, 0);
});
