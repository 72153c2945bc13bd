// Inside users' test suites: the store under the fake timers that sinon, Vitest and Jest
// install by default. Every call settles (promise and callback), the same store answers
// after the clock is restored, and the process's real timers still work.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import FakeTimers from "@sinonjs/fake-timers";
import pg from "pg";
import { SupabaseSessionStore } from "../../dist/esm/index.js";
import { BACKENDS, sessionFor } from "./support/backends.mjs";
import { requireEnv } from "./support/env.mjs";

const { DATABASE_URL } = requireEnv("DATABASE_URL");
const realSetTimeout = globalThis.setTimeout;
const realSetImmediate = globalThis.setImmediate;

const JEST_DEFAULT = [
  "Date",
  "hrtime",
  "nextTick",
  "performance",
  "queueMicrotask",
  "setImmediate",
  "clearImmediate",
  "setInterval",
  "clearInterval",
  "setTimeout",
  "clearTimeout",
];
// Each framework's default set, as its documentation states it (late 2026):
// - @sinonjs/fake-timers `install()`: every timer API it knows and finds, including Date,
//   performance, hrtime, process.nextTick and queueMicrotask;
// - Vitest `vi.useFakeTimers()`: "everything available globally except nextTick and queueMicrotask";
// - Jest `jest.useFakeTimers()`: Date, hrtime, nextTick, performance, queueMicrotask,
//   setImmediate, clearImmediate, setInterval, clearInterval, setTimeout, clearTimeout.
const DEFAULT_SETS = {
  "sinon defaults": {},
  "Vitest defaults": { toNotFake: ["nextTick", "queueMicrotask"] },
  "Jest defaults": { toFake: JEST_DEFAULT },
};
// What the clients themselves need real (docs/store.md, "Testing your app"): node-postgres's Pool
// hands out idle connections on process.nextTick, and Node's fetch (supabase-js) needs
// nextTick and queueMicrotask. The store needs neither.
const KEEP_REAL = ["nextTick", "queueMicrotask"];
const WITH_CLIENTS_REAL = {
  "sinon with toNotFake nextTick, queueMicrotask": { toNotFake: KEEP_REAL },
  "Vitest defaults": DEFAULT_SETS["Vitest defaults"],
  "Jest with doNotFake nextTick, queueMicrotask": { toFake: JEST_DEFAULT.filter((m) => !KEEP_REAL.includes(m)) },
};

const closers = [];
after(async () => {
  for (const close of closers) await close();
});

const newSid = () => `fake-timers-${randomBytes(9).toString("base64url")}`;

/** Resolves with "settled" or "rejected", or with "hung" when `promise` is still pending after `ms` of real time. */
function outcome(promise, ms = 10_000) {
  return Promise.race([
    promise.then(() => "settled", () => "rejected"),
    new Promise((resolve) => realSetTimeout(resolve, ms, "hung")),
  ]);
}

/**
 * Every kind of call, through promises and callbacks, many at once (more than one batch
 * holds). The sessions are built now, on the real clock: sinon's fake Date starts at 1970,
 * and a cookie expiring then would be (rightly) deleted on save.
 */
function everyCall(store, sid) {
  const viaCallback = (run) =>
    new Promise((resolve, reject) => run((err, value) => (err ? reject(err) : resolve(value))));
  const others = Array.from({ length: 150 }, () => [newSid(), sessionFor(30)]);
  const [later, later2, fresh] = [sessionFor(40), sessionFor(41), sessionFor(30)];
  return () =>
    Promise.all([
      store.get(sid),
      store.touch(sid, later),
      viaCallback((cb) => store.get(sid, cb)),
      viaCallback((cb) => store.touch(sid, later2, cb)),
      viaCallback((cb) => store.set(newSid(), fresh, cb)),
      ...others.map(([other, sess]) => store.set(other, sess)),
      ...others.map(([other]) => store.get(other)),
      viaCallback((cb) => store.destroy(newSid(), cb)),
      viaCallback((cb) => store.length(cb)),
    ]);
}

async function checkUnderFakeTimers(make, config) {
  const { store, close } = make();
  closers.push(close);
  const sid = newSid();
  // Before the clock is faked, as an app's suite would have it: a session, a warm connection.
  await store.set(sid, sessionFor(30, { n: 1 }));
  const calls = everyCall(store, sid);
  const clock = FakeTimers.install(config);
  let during;
  try {
    during = await outcome(calls());
  } finally {
    clock.uninstall();
  }
  assert.equal(during, "settled", "every call settled under fake timers");
  assert.equal(await outcome(store.get(sid)), "settled", "the same store answers after the clock is restored");
  assert.equal((await store.get(sid)).n, 1);
  assert.equal(globalThis.setImmediate, realSetImmediate);
  assert.equal(
    await outcome(new Promise((resolve) => setImmediate(resolve))),
    "settled",
    "the real setImmediate works",
  );
}

/** The store on one pg.Client: node-postgres's client needs no timer to run a query. */
function onClient() {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  const connected = client.connect();
  // Two calls may be in flight at once; one client queues them (pg warns about that, once).
  const store = new SupabaseSessionStore({
    pool: {
      query: async (...args) => {
        await connected;
        return client.query(...args);
      },
    },
  });
  return {
    store,
    close: async () => {
      await store.close();
      await client.end();
    },
  };
}

describe("fake timers: the store itself needs no timer", () => {
  for (const [name, config] of Object.entries(DEFAULT_SETS)) {
    test(`${name}: every call settles, the store answers after restore, real setImmediate works (pg.Client)`, async () => {
      await checkUnderFakeTimers(onClient, config);
    });
  }

  test("a store imported while fake timers were already on (sinon defaults) still settles every call", async () => {
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    const clock = FakeTimers.install();
    let during;
    try {
      // A fresh module instance: it finds only fake timers at import time.
      const { SupabaseSessionStore: Fresh } = await import(
        `../../dist/esm/index.js?imported-under-fakes=${Date.now()}`
      );
      const store = new Fresh({ pool: client });
      const sid = newSid();
      const sess = { cookie: { expires: new Date(clock.Date.now() + 86_400_000 * 365 * 60) }, n: 1 };
      during = await outcome(Promise.all([
        store.set(sid, sess),
        new Promise((resolve, reject) => store.get(sid, (err, got) => (err ? reject(err) : resolve(got)))),
        store.touch(sid, sess),
        store.get(newSid()),
      ]));
    } finally {
      clock.uninstall();
      await client.end();
    }
    assert.equal(during, "settled");
  });

  test("the reconnect probe runs on the real timers: nothing of the store's is on the fake clock", async () => {
    const store = new SupabaseSessionStore({
      connectionString: "postgresql://nobody@127.0.0.1:1/none",
      onError: () => {},
    });
    closers.push(() => store.close());
    let disconnected = false;
    store.on("disconnect", () => {
      disconnected = true;
    });
    const clock = FakeTimers.install({ toNotFake: KEEP_REAL });
    let during;
    try {
      during = await outcome(store.get(newSid()));
      assert.equal(clock.countTimers(), 0, "no fake timer was scheduled");
    } finally {
      clock.uninstall();
    }
    assert.equal(during, "rejected", "the call failed, it did not hang");
    assert.ok(disconnected, "the store noticed and probes on a real timer");
  });
});

describe("fake timers: both backends, with what their clients need kept real", () => {
  for (const backend of ["pg", "supabase-js"]) {
    for (const [name, config] of Object.entries(WITH_CLIENTS_REAL)) {
      test(`${backend} backend, ${name}: every call settles, the store answers after restore`, async () => {
        await checkUnderFakeTimers(() => BACKENDS[backend](), config);
      });
    }
  }
});
