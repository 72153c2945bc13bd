// The keyset loops (src/paging.ts) over a fake call: where each call starts, when the loop
// stops, and what a page cut by an API's row cap does.
import assert from "node:assert/strict";
import { test } from "node:test";
import { clearInBatches, listingPages, userSessionPages } from "../../dist/esm/paging.js";

/** A call answering `answers` in turn, recording each call's (after, limit). */
function scripted(answers) {
  const calls = [];
  const call = (after, limit) => {
    calls.push([after, limit]);
    return Promise.resolve(answers[calls.length - 1] ?? []);
  };
  return { call, calls };
}

async function collect(pages) {
  const all = [];
  for await (const page of pages) all.push(page);
  return all;
}

const page = (sids, pageRows = sids.length) => sids.map((sid) => ({ sid, page_rows: pageRows }));

test("listingPages: full pages continue after the last sid; a short page is the last", async () => {
  const { call, calls } = scripted([page(["a", "b"]), page(["c", "d"]), page(["e"])]);
  const pages = await collect(listingPages("all", 2, call));
  assert.deepEqual(pages.map((p) => p.map((row) => row.sid)), [["a", "b"], ["c", "d"], ["e"]]);
  assert.deepEqual(calls, [[null, 2], ["b", 2], ["d", 2]]);
});

test("listingPages: an empty first page is no page, in one call; an empty page after full ones ends the listing", async () => {
  const empty = scripted([]);
  assert.deepEqual(await collect(listingPages("ids", 2, empty.call)), []);
  assert.equal(empty.calls.length, 1);
  const exact = scripted([page(["a", "b"]), []]);
  assert.equal((await collect(listingPages("ids", 2, exact.call))).length, 1);
  assert.deepEqual(exact.calls, [[null, 2], ["b", 2]]);
});

test("listingPages: bare sid values (PostgREST's answer for a one-column result) give the cursor too", async () => {
  const { call, calls } = scripted([["a", "b"], ["c"]]);
  await collect(listingPages("ids", 2, call));
  assert.deepEqual(calls, [[null, 2], ["b", 2]]);
});

test("listingPages: a page with fewer rows than its page_rows is an error naming the operation and the limit", async () => {
  const { call } = scripted([page(["a", "b"], 5)]);
  await assert.rejects(collect(listingPages("all", 5, call)), (err) => {
    assert.match(err.message, /^all\(\): the API returned 2 of a page's 5 rows: .* raise it to at least 5$/);
    return true;
  });
});

test("userSessionPages: follows has_more from the last row's handle, whatever the page's length", async () => {
  const { call, calls } = scripted([
    [{ handle: "h1", has_more: false }, { handle: "h2", has_more: true }],
    [{ handle: "h3", has_more: false }],
  ]);
  const pages = await collect(userSessionPages(1000, call));
  assert.deepEqual(pages.map((p) => p.map((row) => row.handle)), [["h1", "h2"], ["h3"]]);
  assert.deepEqual(calls, [[null, 1000], ["h2", 1000]]);
  const none = scripted([]);
  assert.deepEqual(await collect(userSessionPages(1000, none.call)), [[]]);
  assert.equal(none.calls.length, 1);
});

test("clearInBatches: each batch starts after the last sid of the one before, and the ended counts add up", async () => {
  const { call, calls } = scripted([
    [{ ended: 2, tombstoned: 3, last_sid: "c" }],
    [{ ended: 1, tombstoned: 3, last_sid: "f" }],
    [{ ended: 0, tombstoned: 0, last_sid: null }],
  ]);
  assert.equal(await clearInBatches(3, call), 3);
  assert.deepEqual(calls, [[null, 3], ["c", 3], ["f", 3]]);
});

test("clearInBatches: a batch short of the limit is the last, so fewer sessions than one batch take one call", async () => {
  const short = scripted([[{ ended: 1, tombstoned: 2, last_sid: "b" }]]);
  assert.equal(await clearInBatches(3, short.call), 1);
  assert.deepEqual(short.calls, [[null, 3]]);
  const full = scripted([
    [{ ended: 3, tombstoned: 3, last_sid: "c" }],
    [{ ended: 2, tombstoned: 2, last_sid: "e" }],
  ]);
  assert.equal(await clearInBatches(3, full.call), 5);
  assert.deepEqual(full.calls, [[null, 3], ["c", 3]], "a full batch may have more behind it");
  const nothing = scripted([[{ ended: 0, tombstoned: 0, last_sid: null }]]);
  assert.equal(await clearInBatches(3, nothing.call), 0);
  assert.equal(nothing.calls.length, 1);
  const noRow = scripted([[]]);
  assert.equal(await clearInBatches(3, noRow.call), 0);
});

test("clearInBatches: a failing call fails the clear", async () => {
  const failing = () => Promise.reject(new Error("down"));
  await assert.rejects(clearInBatches(3, failing), /down/);
});
