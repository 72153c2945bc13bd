// The function's options module (functions/cleanup-sessions/options.ts): the request
// body read with a cap and validated strictly, each refusal with its status.
import assert from "node:assert/strict";
import { readOptions } from "../../functions/cleanup-sessions/options.ts";
import { Refusal } from "../../functions/cleanup-sessions/refusal.ts";

const post = (body?: BodyInit, type = "application/json") =>
  new Request("http://function.test/", {
    method: "POST",
    body,
    headers: body === undefined ? {} : { "content-type": type },
  });

async function refusal(req: Request): Promise<Refusal> {
  try {
    await readOptions(req);
  } catch (err) {
    if (err instanceof Refusal) return err;
    throw err;
  }
  throw new Error("readOptions accepted the request");
}

Deno.test("no body: the defaults", async () => {
  assert.deepEqual(await readOptions(post()), { batchSize: 10_000, timeBudgetMs: 25_000, dryRun: false });
  assert.deepEqual(await readOptions(post("")), { batchSize: 10_000, timeBudgetMs: 25_000, dryRun: false });
});

Deno.test("each field within its limits is taken; a charset parameter is fine", async () => {
  const body = JSON.stringify({ batchSize: 1, timeBudgetMs: 120_000, dryRun: true });
  assert.deepEqual(await readOptions(post(body, "application/json; charset=utf-8")), {
    batchSize: 1,
    timeBudgetMs: 120_000,
    dryRun: true,
  });
});

Deno.test("400 for a bad value, an unknown field (named only when it looks like one), bad JSON, a non-object", async () => {
  const cases: [string, RegExp][] = [
    ['{"batchSize":0}', /^batchSize must be an integer from 1 to 100000$/],
    ['{"batchSize":1.5}', /batchSize must be an integer/],
    ['{"timeBudgetMs":120001}', /^timeBudgetMs must be an integer from 0 to 120000$/],
    ['{"dryRun":"yes"}', /^dryRun must be true or false$/],
    ['{"batch_size":5}', /^unknown field "batch_size"; allowed: batchSize, timeBudgetMs, dryRun$/],
    ['{"<script>":1}', /^unknown field; allowed/],
    ["{not json", /^the request body is not valid JSON$/],
    ["[1]", /^the request body must be a JSON object$/],
    ["null", /must be a JSON object/],
  ];
  for (const [body, message] of cases) {
    const err = await refusal(post(body));
    assert.equal(err.status, 400, body);
    assert.match(err.body.error, message);
  }
  const invalidUtf8 = await refusal(post(new Uint8Array([0x7b, 0xff, 0x7d])));
  assert.equal(invalidUtf8.status, 400);
});

Deno.test("415 for a body that is not declared JSON", async () => {
  for (const type of ["text/plain", "application/x-www-form-urlencoded"]) {
    const err = await refusal(post("{}", type));
    assert.equal(err.status, 415, type);
    assert.match(err.body.error, /must be JSON/);
  }
});

Deno.test("413 past 1024 bytes, declared or streamed without a length", async () => {
  const big = JSON.stringify({ dryRun: true, pad: "x".repeat(1100) });
  assert.equal((await refusal(post(big))).status, 413);
  const chunks = [new TextEncoder().encode("{"), new TextEncoder().encode(" ".repeat(2000))];
  const stream = new ReadableStream({
    pull(controller) {
      const next = chunks.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
  });
  const streamed = await refusal(post(stream));
  assert.equal(streamed.status, 413);
  assert.match(streamed.body.error, /must not exceed 1024 bytes/);
});
