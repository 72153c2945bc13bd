// Faults against the real local stack: Postgres stopped and crashed under steady
// session traffic, the pool exhausted, statement timeouts and connection resets,
// and a purge of a large expired set under live traffic. Every loop is bounded in
// count and time; the shared test database is started and migrated again before
// this file ends, whatever happened.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import * as db from "../../scripts/db.mjs";
import { SupabaseSessionStore } from "../../dist/esm/index.js";
import { BACKENDS, callbackCalls, quietPool, sessionFor } from "./support/backends.mjs";
import { requireEnv } from "./support/env.mjs";
import { createCounterApp } from "./support/counter-app.mjs";
import { sleep, startProcess } from "./support/processes.mjs";
import { keyOf, keySql } from "./support/keys.mjs";

const env = requireEnv("DATABASE_URL", "SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "LOCAL_DB_DIR", "LOCAL_DB_PORT");
const dbOpts = { dir: env.LOCAL_DB_DIR, port: Number(env.LOCAL_DB_PORT) };
const here = path.dirname(fileURLToPath(import.meta.url));
const run = randomBytes(4).toString("hex");
/** Requests during an outage must end (error or no-session answer) within this. */
const OUTAGE_LATENCY_BOUND_MS = 5_000;
/** Traffic must be back this soon after the database is. */
const RECOVERY_BOUND_MS = 10_000;

after(() => {
  // The database is shared with every other test file: leave it running and migrated.
  db.start(dbOpts);
});

/**
 * Runs scripts/db.mjs's `op` (stop, kill, start) in a child process: its calls are
 * synchronous and would otherwise freeze this process's load generator.
 */
function dbControl(op) {
  const script = `const db = await import(${JSON.stringify(path.join(here, "../../scripts/db.mjs"))});
    db.${op}(${JSON.stringify(dbOpts)});`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`db ${op} exited ${code}: ${stderr}`))));
  });
}

/**
 * One browser: GET /count in a loop with its session cookie, recording every answer.
 * A 200 is an acknowledged write of the counter it returns.
 */
class Client {
  cookie;
  acked = 0;
  unacknowledgedCommits = 0;
  log = []; // { at, ms, status, n }

  constructor(baseUrl) {
    this.baseUrl = baseUrl;
  }

  async once() {
    const started = Date.now();
    let status = 0;
    let n;
    try {
      const res = await fetch(`${this.baseUrl}/count`, {
        headers: this.cookie ? { cookie: this.cookie } : {},
        signal: AbortSignal.timeout(15_000),
      });
      status = res.status;
      const body = await res.json();
      const setCookie = res.headers.getSetCookie()[0]?.split(";")[0];
      if (status === 200) {
        if (this.cookie && setCookie && setCookie !== this.cookie) {
          throw new Error("the session id changed: the session was lost");
        }
        this.cookie ??= setCookie;
        // Above acked + 1 is fine: a write can commit and still fail to answer (the
        // connection died after the commit). At or below acked, an acknowledged write is gone.
        if (body.n <= this.acked) throw new Error(`counter went from ${this.acked} to ${body.n}: a write was lost`);
        this.unacknowledgedCommits += body.n - this.acked - 1;
        this.acked = body.n;
        n = body.n;
      }
    } catch (err) {
      if (/session|counter/.test(err.message)) throw err;
      status = -1; // no HTTP answer at all (timeout, reset)
      n = `${err.message} ${err.cause?.code ?? ""}`;
    }
    this.log.push({ at: started, ms: Date.now() - started, status, n });
  }

  get sid() {
    return decodeURIComponent(this.cookie.split("=")[1]).slice(2).split(".")[0];
  }
}

/** Keeps `clients` busy until stop() (each at most `maxRequests`), and rethrows what they found. */
function drive(clients, { pauseMs = 25, maxRequests = 2_000 } = {}) {
  let running = true;
  const loops = clients.map(async (client) => {
    for (let i = 0; running && i < maxRequests; i++) {
      await client.once();
      await sleep(pauseMs);
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function storedCounter(admin, sid) {
  const { rows } = await admin.query(
    "select (data->>'n')::int as n from public.sessions where sid = $1 and expires_at > now()",
    [keyOf(sid)],
  );
  return rows[0]?.n;
}

describe("Postgres stopped and crashed under steady session traffic", () => {
  test("apps never crash, outage requests end fast, traffic recovers, no acknowledged write is lost", async () => {
    const apps = {};
    for (const backend of ["pg", "supabase-js"]) {
      apps[backend] = startProcess(process.execPath, [path.join(here, "support/fault-app.mjs")], {
        env: { ...process.env, FAULT_BACKEND: backend },
        ready: /listening on (http:\/\/\S+)/,
        timeoutMs: 20_000,
      });
    }
    const admin = quietPool({ connectionString: env.DATABASE_URL, max: 1 });
    try {
      const clients = {};
      for (const [backend, app] of Object.entries(apps)) {
        const [, url] = await app.match;
        clients[backend] = Array.from({ length: 4 }, () => new Client(url));
      }
      const everyone = Object.values(clients).flat();
      const traffic = drive(everyone);
      const report = [];
      try {
        for (const fault of ["stop", "kill"]) {
          // Warm up: every client holds a session with acknowledged writes.
          for (let i = 0; i < 200 && everyone.some((c) => c.acked < 3 + report.length * 3); i++) await sleep(25);
          const ackedBefore = new Map(everyone.map((c) => [c, c.acked]));
          const down = Date.now();
          await dbControl(fault);
          await sleep(1_000); // the outage itself
          await dbControl("start");
          const back = Date.now();
          // Recovery: every client gets an acknowledged write again.
          for (let i = 0; i < 400 && everyone.some((c) => !c.log.some((e) => e.at >= back && e.status === 200)); i++) {
            await sleep(25);
          }
          const recoveredMs = Math.max(...everyone.map((c) =>
            c.log.find((e) => e.at >= back && e.status === 200)?.at ?? Infinity
          )) - back;
          const during = everyone.flatMap((c) => c.log.filter((e) => e.at >= down && e.at < back));
          const statuses = {};
          for (const e of during) statuses[e.status] = (statuses[e.status] ?? 0) + 1;
          report.push({
            fault,
            outageMs: back - down,
            recoveredMs,
            requestsDuringOutage: during.length,
            statuses,
            window: [down, back],
          });
          assert.ok(recoveredMs <= RECOVERY_BOUND_MS, `${fault}: traffic back ${recoveredMs} ms after the database`);
          assert.ok(during.length > 0, `${fault}: traffic ran during the outage`);
          for (const [client, acked] of ackedBefore) {
            const stored = await storedCounter(admin, client.sid);
            assert.ok(
              stored >= acked,
              `${fault}: acknowledged counter ${acked} before the outage, ${stored} stored after`,
            );
          }
        }
      } finally {
        await traffic.stop();
      }

      const all = everyone.flatMap((c) => c.log);
      const slowest = Math.max(...all.map((e) => e.ms));
      const failedAnswers = all.filter((e) => e.status === -1).length;
      const windows = report.map((r) => r.window);
      let lost = 0;
      for (const client of everyone) if ((await storedCounter(admin, client.sid)) !== client.acked) lost++;
      const acknowledged = all.filter((e) => e.status === 200).length;
      const unacknowledged = everyone.reduce((sum, c) => sum + c.unacknowledgedCommits, 0);
      process.stdout.write(
        `# outages: ${JSON.stringify(report)}\n# ${all.length} requests, ${acknowledged} acknowledged ` +
          `writes, ${lost} sessions with a lost write, ${unacknowledged} writes committed but not acknowledged, ` +
          `slowest answer ${slowest} ms, ${failedAnswers} reset without an answer (during outages)\n`,
      );
      assert.equal(lost, 0, "every acknowledged write is in the database");
      // A reset connection (no HTTP answer) is a fast failure too, but only while the database is away.
      const resetOutsideOutages = all.filter((e) =>
        e.status === -1 && !windows.some(([down, back]) => e.at >= down && e.at <= back + RECOVERY_BOUND_MS)
      );
      assert.deepEqual(resetOutsideOutages, [], "outside outages every request gets an HTTP answer");
      assert.ok(slowest < OUTAGE_LATENCY_BOUND_MS, `slowest request took ${slowest} ms`);
      assert.ok(all.every((e) => [200, 500, 503, -1].includes(e.status)), "answers are 200, an error, or no-session");
      for (const [backend, app] of Object.entries(apps)) {
        assert.equal(app.child.exitCode, null, `${backend} app still running:\n${app.output()}`);
        assert.doesNotMatch(app.output(), /Uncaught|unhandled/i, `${backend} app output:\n${app.output()}`);
        assert.match(
          app.output(),
          /store disconnect[\s\S]*store connect/,
          `${backend} store saw the outage and the return`,
        );
      }
    } finally {
      for (const app of Object.values(apps)) await app.stop("SIGKILL");
      await admin.end();
      db.start(dbOpts);
    }
  });
});

describe("pool exhausted", () => {
  test("50 concurrent requests over a pool of 2 all complete; with connections held they end in an error, not a hang", async () => {
    const pool = quietPool({ connectionString: env.DATABASE_URL, max: 2, connectionTimeoutMillis: 1_000 });
    const store = new SupabaseSessionStore({ pool });
    const server = createCounterApp(store).listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    const url = `http://127.0.0.1:${server.address().port}`;
    try {
      const burst = async () => {
        const clients = Array.from({ length: 50 }, () => new Client(url));
        await Promise.all(clients.map((c) => c.once()));
        return clients.map((c) => c.log[0]);
      };
      const queued = await burst();
      assert.deepEqual(
        queued.map((e) => e.status),
        Array(50).fill(200),
        "all 50 queued for the 2 connections and completed",
      );

      const held = [await pool.connect(), await pool.connect()];
      let starved;
      try {
        starved = await burst();
      } finally {
        for (const client of held) client.release();
      }
      assert.ok(
        starved.every((e) => e.status === 500 || e.status === 503),
        JSON.stringify(starved.map((e) => e.status)),
      );
      assert.ok(
        starved.every((e) => e.ms < OUTAGE_LATENCY_BOUND_MS),
        `slowest ${Math.max(...starved.map((e) => e.ms))} ms`,
      );

      // Released: the store notices by itself and traffic flows again.
      let again;
      for (let i = 0; i < 40; i++) {
        await sleep(250);
        again = await burst();
        if (again.every((e) => e.status === 200)) break;
      }
      assert.deepEqual(again.map((e) => e.status), Array(50).fill(200));
      process.stdout.write(
        `# pool of 2: 50 queued requests completed; 50 starved ones failed, slowest after ` +
          `${Math.max(...starved.map((e) => e.ms))} ms\n`,
      );
    } finally {
      server.close();
      await store.close();
      await pool.end();
    }
  });
});

describe("statement timeouts and connection resets", () => {
  /** Holds a row lock on `sid` in its own transaction until release(). */
  async function lockRow(admin, sid) {
    const holder = await admin.connect();
    await holder.query("begin");
    await holder.query("select 1 from public.sessions where sid = $1 for update", [keyOf(sid)]);
    return {
      release: async () => {
        await holder.query("rollback");
        holder.release();
      },
    };
  }

  /** The pid of the backend of `applicationName` once it waits on a lock. */
  async function waitingPid(admin, applicationName) {
    for (let i = 0; i < 200; i++) {
      const { rows } = await admin.query(
        "select pid from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'",
        [applicationName],
      );
      if (rows.length) return rows[0].pid;
      await sleep(25);
    }
    throw new Error(`no backend of ${applicationName} waited on a lock`);
  }

  test("pg: a statement timeout reaches the callback once, and the store keeps working", async () => {
    const admin = quietPool({ connectionString: env.DATABASE_URL, max: 2 });
    const pool = quietPool({ connectionString: env.DATABASE_URL, max: 1, options: "-c statement_timeout=300" });
    const store = new SupabaseSessionStore({ pool });
    const sid = `faults-${run}-timeout`;
    try {
      await store.set(sid, sessionFor(30, { v: 1 }));
      const lock = await lockRow(admin, sid);
      let calls;
      try {
        calls = await callbackCalls((cb) => store.set(sid, sessionFor(30, { v: 2 }), cb));
      } finally {
        await lock.release();
      }
      assert.equal(calls.length, 1);
      assert.equal(calls[0][0]?.code, "57014", `query_canceled: ${calls[0][0]}`);
      assert.deepEqual((await store.get(sid)).v, 1, "the timed-out write did not happen");
      await store.set(sid, sessionFor(30, { v: 3 }));
      assert.equal((await store.get(sid)).v, 3);
    } finally {
      await store.close();
      await pool.end();
      await admin.end();
    }
  });

  for (const backend of ["pg", "supabase-js"]) {
    test(`${backend}: a connection reset mid-call reaches the callback once, and the store recovers`, async () => {
      const admin = quietPool({ connectionString: env.DATABASE_URL, max: 2 });
      const appName = `faults-${run}-reset-${backend}`;
      let store;
      let closeStore;
      if (backend === "pg") {
        const pool = quietPool({ connectionString: env.DATABASE_URL, max: 1, application_name: appName });
        store = new SupabaseSessionStore({ pool });
        closeStore = () => pool.end();
      } else {
        ({ store, close: closeStore } = BACKENDS["supabase-js"]());
      }
      const events = [];
      store.on("disconnect", () => events.push("disconnect"));
      store.on("connect", () => events.push("connect"));
      const sid = `faults-${run}-reset-${backend}`;
      try {
        await store.set(sid, sessionFor(30, { v: 1 }));
        const lock = await lockRow(admin, sid);
        let calls;
        try {
          calls = await callbackCalls(async (cb) => {
            const pending = store.set(sid, sessionFor(30, { v: 2 }), cb);
            const pid = await waitingPid(admin, backend === "pg" ? appName : "supabase-session-store gateway");
            await admin.query("select pg_terminate_backend($1)", [pid]);
            return pending;
          });
        } finally {
          await lock.release();
        }
        assert.equal(calls.length, 1, "callback called exactly once");
        assert.ok(calls[0][0] instanceof Error, `an error: ${calls[0][0]}`);
        // Recovery: without a new request from us the probe (or the next call) gets through.
        let value;
        for (let i = 0; i < 40 && value === undefined; i++) {
          value = await store.get(sid).then((s) => s.v, () => undefined);
          if (value === undefined) await sleep(250);
        }
        assert.equal(value, 1, "the store works again and the interrupted write did not happen");
        if (events.includes("disconnect")) assert.equal(events.at(-1), "connect");
      } finally {
        await store.close();
        await closeStore();
        await admin.end();
      }
    });
  }
});

describe("cleanup over a large expired set under live traffic", () => {
  test("200,000 expired rows are purged in batches while live get/set keep working", async () => {
    const EXPIRED = 200_000;
    const BATCH = 10_000;
    const admin = quietPool({ connectionString: env.DATABASE_URL, max: 2 });
    const stores = [BACKENDS.pg(), BACKENDS["supabase-js"]()];
    const prefix = `faults-${run}-expired-`;
    const live = Array.from({ length: 20 }, (_, i) => `faults-${run}-live-${i}`);
    try {
      await admin.query(
        `
        insert into public.sessions (sid, data, expires_at)
        select ${keySql("$1 || g")}, jsonb_build_object('cookie', '{}'::jsonb, 'n', g, 'seed', $1::text),
               now() - interval '1 hour' - g * interval '1 second'
          from generate_series(1, $2::int) g`,
        [prefix, EXPIRED],
      );
      for (const [i, sid] of live.entries()) await stores[i % 2].store.set(sid, sessionFor(60, { v: 0 }));

      let purging = true;
      const counts = { ok: 0, failed: 0, slowestMs: 0 };
      const traffic = stores.map(async ({ store }, s) => {
        for (let i = 0; purging && i < 5_000; i++) {
          const sid = live[(i * 2 + s) % live.length];
          const started = Date.now();
          try {
            const sess = await store.get(sid);
            assert.ok(sess, `live session ${sid} readable`);
            await store.set(sid, { ...sess, v: sess.v + 1 });
            counts.ok++;
          } catch {
            counts.failed++;
          }
          counts.slowestMs = Math.max(counts.slowestMs, Date.now() - started);
        }
      });

      let deleted = 0;
      let batches = 0;
      try {
        for (let n = BATCH; n === BATCH && batches < 2 * (EXPIRED / BATCH) + 10; batches++) {
          ({ rows: [{ n }] } = await admin.query("select public.cleanup_expired_sessions($1) as n", [BATCH]));
          deleted += n;
        }
      } finally {
        purging = false;
        await Promise.all(traffic);
      }
      const { rows: [left] } = await admin.query(
        "select count(*)::int as n from public.sessions where data->>'seed' = $1",
        [prefix],
      );
      process.stdout.write(
        `# purge: ${deleted} rows in ${batches} batches; live traffic meanwhile: ${counts.ok} ` +
          `get+set ok, ${counts.failed} failed, slowest ${counts.slowestMs} ms\n`,
      );
      assert.equal(left.n, 0, "every expired row is gone");
      assert.ok(deleted >= EXPIRED);
      assert.equal(counts.failed, 0, "no live operation failed during the purge");
      assert.ok(counts.ok > 0, "live traffic ran during the purge");
      assert.ok(counts.slowestMs < OUTAGE_LATENCY_BOUND_MS, `a live operation waited ${counts.slowestMs} ms`);
      for (const sid of live) assert.ok((await stores[0].store.get(sid)).v >= 0, `${sid} survived the purge`);
    } finally {
      await admin.query("delete from public.sessions where data->>'seed' = $1 or sid = any($2)", [
        prefix,
        live.map(keyOf),
      ]);
      for (const { close } of stores) await close();
      await admin.end();
    }
  });
});
