// The option parser (src/store-options.ts): every option checked up front, the
// defaults, and the one backend chosen.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DEFAULT_MAX_DATA_BYTES,
  DEFAULT_TTL_SECONDS,
  KNOWN_OPTIONS,
  parseStoreOptions,
} from "../../dist/esm/store-options.js";

const client = { rpc: () => {} };
const pool = { query: () => {} };

test("the defaults, with the one backend given", () => {
  const settings = parseStoreOptions({ client });
  assert.deepEqual({ ...settings, backend: settings.backend.kind }, {
    ttl: DEFAULT_TTL_SECONDS,
    touchAfter: 0,
    disableTouch: false,
    maxDataBytes: DEFAULT_MAX_DATA_BYTES,
    relaxedDurability: false,
    onError: undefined,
    schema: "public",
    preparedStatements: true,
    transactionPooler: false,
    backend: "client",
    connectPgSimple: undefined,
  });
  assert.equal(parseStoreOptions({ pool }).backend.pool, pool);
  assert.deepEqual(parseStoreOptions({ connectionString: "postgres://x" }).backend, {
    kind: "connectionString",
    connectionString: "postgres://x",
  });
});

test("every option given is taken as given", () => {
  const onError = () => {};
  const settings = parseStoreOptions({
    pool,
    ttl: 60,
    touchAfter: 5,
    disableTouch: true,
    schema: "auth_sessions",
    onError,
    maxDataBytes: 10,
    relaxedDurability: true,
    preparedStatements: false,
  });
  assert.deepEqual({ ...settings, backend: undefined }, {
    ttl: 60,
    touchAfter: 5,
    disableTouch: true,
    schema: "auth_sessions",
    onError,
    maxDataBytes: 10,
    relaxedDurability: true,
    preparedStatements: false,
    transactionPooler: false,
    backend: undefined,
    connectPgSimple: undefined,
  });
});

test("an unknown option is an error naming it and listing the known ones", () => {
  assert.throws(() => parseStoreOptions({ client, tableName: "s" }), {
    name: "TypeError",
    message: `SupabaseSessionStore: unknown option tableName; known options: ${KNOWN_OPTIONS.join(", ")}`,
  });
  assert.throws(() => parseStoreOptions({ client, a: 1, b: 2 }), /unknown options a, b;/);
  assert.equal(KNOWN_OPTIONS.length, 13);
});

test("exactly one backend", () => {
  assert.throws(() => parseStoreOptions({}), /exactly one of client, pool, connectionString; got none/);
  assert.throws(() => parseStoreOptions({ client, pool }), /got client, pool/);
  assert.throws(() => parseStoreOptions({ pool: {} }), /pool must have a query\(\) method/);
  assert.throws(() => parseStoreOptions({ connectionString: "" }), /connectionString must be a non-empty string/);
  assert.throws(() => parseStoreOptions(undefined), /needs an options object/);
  assert.throws(() => parseStoreOptions("postgres://x"), /needs an options object/);
});

test("numbers and the schema name are checked, each error naming the option", () => {
  const cases = [
    [{ ttl: 0 }, RangeError, /ttl must be a positive number of seconds/],
    [{ ttl: Infinity }, RangeError, /ttl/],
    [{ ttl: "60" }, RangeError, /ttl/],
    [{ touchAfter: -1 }, RangeError, /touchAfter must be a number of seconds >= 0/],
    [{ touchAfter: NaN }, RangeError, /touchAfter/],
    [{ maxDataBytes: 1.5 }, RangeError, /maxDataBytes must be a positive integer/],
    [{ maxDataBytes: 0 }, RangeError, /maxDataBytes/],
    [{ schema: "" }, TypeError, /schema must be a non-empty identifier of at most 63 bytes/],
    [{ schema: "é".repeat(32) }, TypeError, /schema/],
    [{ schema: 5 }, TypeError, /schema/],
  ];
  for (const [options, type, message] of cases) {
    assert.throws(
      () => parseStoreOptions({ client, ...options }),
      (err) => err instanceof type && message.test(err.message),
      String(message),
    );
  }
  assert.equal(parseStoreOptions({ client, schema: "s".repeat(63) }).schema.length, 63);
});
