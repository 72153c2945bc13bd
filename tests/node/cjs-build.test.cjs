// The CommonJS build: `require` gives the same public API as the ESM build, with types.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { test } = require("node:test");

const dist = path.join(__dirname, "../../dist/cjs");

test("require() of the CJS build exports the store class, its errors and defaults", () => {
  const pkg = require(dist);
  const { Store } = require("express-session");
  assert.equal(typeof pkg.SupabaseSessionStore, "function");
  const store = new pkg.SupabaseSessionStore({ pool: { query: () => Promise.resolve({ rows: [] }) } });
  assert.ok(store instanceof Store);
  assert.equal(store.ttl, pkg.DEFAULT_TTL_SECONDS);
  assert.equal(pkg.DEFAULT_TTL_SECONDS, 86400);
  assert.equal(pkg.DEFAULT_MAX_DATA_BYTES, 65536);
  assert.equal(typeof pkg.CorruptSessionError, "function");
  assert.equal(typeof pkg.RpcError, "function");
});

test("the CJS build ships type declarations exporting the options type", () => {
  const dts = fs.readFileSync(path.join(dist, "index.d.ts"), "utf8");
  assert.match(dts, /SupabaseSessionStoreOptions/);
  assert.match(dts, /SupabaseSessionStore\b/);
  assert.match(
    fs.readFileSync(path.join(dist, "store.d.ts"), "utf8"),
    /export declare class SupabaseSessionStore extends/,
  );
});
