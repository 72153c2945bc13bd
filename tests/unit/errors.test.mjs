// The connection-error classifier (src/errors.ts isConnectionError): what disconnects the
// store (express-session then stops calling it) and what is only a failed query.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CorruptSessionError, isConnectionError, RpcError } from "../../dist/esm/errors.js";

const withCode = (code) => Object.assign(new Error("x"), { code });

test("network failures, server shutdowns and connection-class SQLSTATEs are connection errors", () => {
  for (
    const code of [
      "ECONNREFUSED",
      "ECONNRESET",
      "ETIMEDOUT",
      "EPIPE",
      "ENOTFOUND",
      "UND_ERR_SOCKET",
      "57P01",
      "57P03",
      "08006",
      "08001",
      "PGRST000",
      "PGRST002",
    ]
  ) {
    assert.equal(isConnectionError(withCode(code)), true, code);
  }
});

test("an RpcError with no response or a gateway status is one; other statuses are not", () => {
  for (const status of [0, 502, 503, 504]) {
    assert.equal(isConnectionError(new RpcError({ message: "m" }, status)), true, String(status));
  }
  for (const status of [400, 401, 403, 404, 500]) {
    assert.equal(isConnectionError(new RpcError({ message: "m" }, status)), false, String(status));
  }
  assert.equal(
    isConnectionError(Object.assign(new Error("m"), { status: 503 })),
    false,
    "only an RpcError's status counts",
  );
});

test("node-postgres's code-less connection messages are connection errors", () => {
  for (
    const message of [
      "Connection terminated unexpectedly",
      "Connection terminated due to connection timeout",
      "timeout exceeded when trying to connect",
      "Client has encountered a connection error and is not queryable",
    ]
  ) {
    assert.equal(isConnectionError(new Error(message)), true, message);
  }
});

test("a cause or an AggregateError's errors are followed, a few levels deep only", () => {
  assert.equal(isConnectionError(new Error("fetch failed", { cause: withCode("ECONNREFUSED") })), true);
  assert.equal(isConnectionError(new AggregateError([new Error("a"), withCode("ECONNRESET")])), true);
  let deep = withCode("ECONNREFUSED");
  for (let i = 0; i < 5; i++) deep = new Error("wrapped", { cause: deep });
  assert.equal(isConnectionError(deep), false, "a cycle or a very deep chain stops the search");
  const cyclic = new Error("loop");
  cyclic.cause = cyclic;
  assert.equal(isConnectionError(cyclic), false);
});

test("query failures and non-errors are not connection errors", () => {
  for (
    const err of [
      withCode("42501"),
      withCode("22023"),
      withCode("23505"),
      withCode("XX000"),
      new TypeError("bad"),
      new CorruptSessionError("sid", "r"),
      null,
      undefined,
      "ECONNREFUSED",
      0,
    ]
  ) {
    assert.equal(isConnectionError(err), false, String(err?.code ?? err));
  }
});
