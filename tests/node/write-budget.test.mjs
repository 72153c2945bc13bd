// A write batch is bounded by bytes as well as by count, so that concurrent saves of large
// sessions through supabase-js stay under the API's request body limit (the local gateway's
// API_BODY_LIMIT, 1 MiB by default) and none fails because of its neighbours' size.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import { MAX_SET_BATCH_BYTES, SupabaseSessionStore } from "../../dist/esm/index.js";
import { sessionFor, supabaseClient } from "./support/backends.mjs";
import { requireEnv } from "./support/env.mjs";

const { SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY } = requireEnv("SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY");
const GATEWAY_BODY_LIMIT = 1024 * 1024;

/** A supabase-js store whose write requests (saves, alone or with touches)' body sizes are recorded. */
function recordingStore(options = {}) {
  const saves = [];
  const client = supabaseClient(SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY, (input, init) => {
    if (/\/rpc\/session_(save|write)/.test(String(input))) saves.push(Buffer.byteLength(String(init?.body ?? "")));
    return fetch(input, init);
  });
  return { store: new SupabaseSessionStore({ client, ...options }), saves };
}

const stores = [];
after(async () => {
  for (const store of stores) await store.close();
});

/** A session of about `kb` KB of JSON whose content is unique to it. */
function sessionOf(kb, tag) {
  const chunk = randomBytes(Math.ceil((kb * 1024) / 2)).toString("hex").slice(0, kb * 1024 - 200);
  return sessionFor(30, { tag, cart: chunk, flash: ["saved ✓", "ünïcödé"] });
}

async function saveConcurrently(count, kb) {
  const { store, saves } = recordingStore();
  stores.push(store);
  const run = randomBytes(4).toString("hex");
  const sessions = Array.from({ length: count }, (_, i) => [`budget-${run}-${kb}-${i}`, sessionOf(kb, `${kb}-${i}`)]);
  const results = await Promise.allSettled(sessions.map(([sid, sess]) => store.set(sid, sess)));
  const failures = results.filter((r) => r.status === "rejected").map((r) => String(r.reason?.message ?? r.reason));
  assert.deepEqual(failures, [], "every save succeeded");
  for (const [sid, sess] of sessions) {
    assert.deepEqual(await store.get(sid), JSON.parse(JSON.stringify(sess)), `${sid} read back intact`);
  }
  return saves;
}

describe("write batches are bounded by bytes (supabase-js through the gateway)", () => {
  test("the budget is well under the gateway's body limit", () => {
    assert.ok(
      MAX_SET_BATCH_BYTES <= GATEWAY_BODY_LIMIT / 2,
      `${MAX_SET_BATCH_BYTES} is at most half of ${GATEWAY_BODY_LIMIT}`,
    );
  });

  for (const [count, kb] of [[100, 30], [60, 60]]) {
    test(`${count} concurrent ${kb} KB saves all succeed and read back intact`, async (t) => {
      const saves = await saveConcurrently(count, kb);
      t.diagnostic(`${saves.length} save requests, largest body ${Math.max(...saves)} bytes`);
      assert.ok(saves.length < count, `saves shared calls (${saves.length} requests for ${count} saves)`);
      const largest = Math.max(...saves);
      assert.ok(largest < GATEWAY_BODY_LIMIT, `largest request ${largest} bytes`);
      // A batch holds whole sessions up to the budget; the rest of the body is ids, expiries and framing.
      assert.ok(
        largest <= MAX_SET_BATCH_BYTES + 16 * 1024,
        `largest request ${largest} bytes, budget ${MAX_SET_BATCH_BYTES}`,
      );
    });
  }

  test("a session larger than the budget still goes, alone, while others' saves carry on", async () => {
    const big = Math.ceil((MAX_SET_BATCH_BYTES * 1.5) / 1024);
    const { store, saves } = recordingStore({ maxDataBytes: 2 * MAX_SET_BATCH_BYTES });
    stores.push(store);
    const run = randomBytes(4).toString("hex");
    const sessions = [
      ...Array.from({ length: 10 }, (_, i) => [`budget-${run}-small-${i}`, sessionOf(8, `small-${i}`)]),
      [`budget-${run}-big`, sessionOf(big, "big")],
      ...Array.from({ length: 10 }, (_, i) => [`budget-${run}-after-${i}`, sessionOf(8, `after-${i}`)]),
    ];
    await Promise.all(sessions.map(([sid, sess]) => store.set(sid, sess)));
    for (const [sid, sess] of sessions) assert.deepEqual(await store.get(sid), JSON.parse(JSON.stringify(sess)));
    const bigBodies = saves.filter((b) => b > MAX_SET_BATCH_BYTES);
    assert.equal(bigBodies.length, 1, "one request over the budget: the big session's");
    assert.ok(bigBodies[0] < big * 1024 + 8 * 1024, "…carrying that session alone");
  });
});
