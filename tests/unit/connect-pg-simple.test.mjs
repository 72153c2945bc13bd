// The switch from connect-pg-simple without a database: the `connectPgSimple` option's
// checks, and an old row turned into what the store stores (src/connect-pg-simple.ts).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { importedSession, legacyTableName } from "../../dist/esm/connect-pg-simple.js";
import { parseStoreOptions } from "../../dist/esm/store-options.js";

const client = { rpc: () => {} };
const pool = { query: () => {} };
const expiry = new Date("2030-01-01T00:00:00Z");

test("connectPgSimple reaches the old table with the store's pool, or its own pool with supabase-js", () => {
  assert.equal(parseStoreOptions({ pool, connectPgSimple: {} }).connectPgSimple.pool, pool);
  const own = { query: () => {} };
  assert.equal(parseStoreOptions({ client, connectPgSimple: { pool: own } }).connectPgSimple.pool, own);
  assert.throws(() => parseStoreOptions({ client, connectPgSimple: {} }), /pass connectPgSimple\.pool/);
  assert.throws(() => parseStoreOptions({ pool, connectPgSimple: { tableName: "" } }), /connectPgSimple\.tableName/);
  assert.throws(() => parseStoreOptions({ pool, connectPgSimple: "session" }), /must be an object/);
});

test("the old table is named as connect-pg-simple quotes it", () => {
  assert.equal(legacyTableName({}), '"session"');
  assert.equal(legacyTableName({ schemaName: "app", tableName: 'we"ird' }), '"app"."we""ird"');
});

test("an old row is stored under its key, checked as the store checks a session, and named by no id when corrupt", () => {
  const sid = "old-connect-pg-simple-session-id";
  const session = importedSession(sid, '{"cookie":{"expires":"2030-01-01T00:00:00.000Z"},"n":1}', expiry, 65536);
  assert.equal(session.key, createHash("sha256").update(sid, "utf8").digest("hex"));
  assert.deepEqual(JSON.parse(session.json), { cookie: { expires: "2030-01-01T00:00:00.000Z" }, n: 1 });
  assert.equal(session.expiry, expiry);
  for (const [sess, reason] of [["[]", /not a JSON object/], ['{"cookie":5}', /cookie is not an object/]]) {
    assert.throws(() => importedSession(sid, sess, expiry, 65536), (err) => {
      assert.equal(err.name, "CorruptSessionError");
      assert.match(err.message, reason);
      assert.ok(!err.message.includes(sid));
      return true;
    });
  }
  assert.throws(() => importedSession(sid, '{"big":"xxxxxxxxxx"}', expiry, 10), /over the limit of 10 bytes/);
  assert.throws(() => importedSession("x".repeat(256), "{}", expiry, 65536), /at most 255 characters/);
});
