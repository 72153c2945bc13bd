// withCallback (src/callbacks.ts): every operation's callback, beside its promise.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { withCallback } from "../../dist/esm/callbacks.js";

const turn = () => new Promise((resolve) => setImmediate(resolve));

test("the callback gets (null, value) once, after the promise resolves with the same value", async () => {
  const calls = [];
  const result = withCallback((...args) => calls.push(args), () => Promise.resolve(42));
  assert.equal(await result, 42);
  await turn();
  assert.deepEqual(calls, [[null, 42]]);
});

test("a failure reaches the callback once, and the unobserved promise raises no unhandled rejection", async () => {
  const unhandled = [];
  const onUnhandled = (reason) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    const calls = [];
    const err = new Error("down");
    withCallback((...args) => calls.push(args), () => Promise.reject(err));
    await turn();
    await turn();
    assert.deepEqual(calls, [[err]]);
    assert.deepEqual(unhandled, []);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});

test("a callback that throws is called once, and its exception surfaces as itself, not as a rejection", () => {
  // In a process of its own: node --test reports an uncaught exception as its test's failure.
  const script = `
    import { withCallback } from ${JSON.stringify(new URL("../../dist/esm/callbacks.js", import.meta.url).href)};
    let calls = 0;
    const seen = [];
    process.on("uncaughtException", (err) => seen.push("uncaught " + err.message));
    process.on("unhandledRejection", (err) => seen.push("unhandled " + err.message));
    const result = withCallback(() => { calls++; throw new Error("from the callback"); }, async () => "ok");
    result.then((value) => seen.push("resolved " + value));
    setTimeout(() => console.log(JSON.stringify({ calls, seen })), 20);
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.deepEqual(JSON.parse(out), { calls: 1, seen: ["resolved ok", "uncaught from the callback"] });
});

test("without a callback it is the promise alone", async () => {
  await assert.rejects(withCallback(undefined, () => Promise.reject(new Error("x"))), /x/);
  assert.equal(await withCallback(undefined, () => Promise.resolve("v")), "v");
});
