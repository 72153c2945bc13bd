// A model-based property test of the store's contract (fast-check): random sequences
// of set/get/touch/destroy over a few session ids, moves of the database clock
// (stored times shifted back with SQL, as if time had passed) and cleanups, run on
// both backends against the real database and checked against a reference model
// after every step, the stored rows as well as what the store answers.
// Bounded: a fixed number of runs of bounded length, a fixed seed (FC_SEED overrides).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import { BACKENDS, quietPool } from "./support/backends.mjs";
import { requireEnv } from "./support/env.mjs";
import { keyOf } from "./support/keys.mjs";

const { DATABASE_URL } = requireEnv("DATABASE_URL", "SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY");
const SEED = Number(process.env.FC_SEED ?? 20261128);
const NUM_RUNS = 60;
const SIDS_PER_RUN = 3;
const TOMBSTONE_MINUTES = 24 * 60; // how long a destroyed session's tombstone outlives cleanup
const admin = quietPool({ connectionString: DATABASE_URL, max: 2 });
const prefix = `property-${randomBytes(4).toString("hex")}`;

/** Every session id a run used, for the cleanup (the table holds only their keys). */
const used = new Set();

after(async () => {
  await admin.query("delete from public.sessions where sid = any($1)", [[...used].map(keyOf)]);
  await admin.end();
});

// Expiries are whole minutes from now and clock moves whole minutes, so no expiry is
// ever within seconds of the database's now(): the outcome never depends on timing.
const command = fc.oneof(
  fc.record({
    op: fc.constant("set"),
    s: fc.nat(SIDS_PER_RUN - 1),
    minutes: fc.integer({ min: -5, max: 120 }),
    v: fc.integer(),
    tag: fc.string({ maxLength: 6 }),
  }),
  fc.record({ op: fc.constant("get"), s: fc.nat(SIDS_PER_RUN - 1) }),
  fc.record({ op: fc.constant("touch"), s: fc.nat(SIDS_PER_RUN - 1), minutes: fc.integer({ min: -5, max: 120 }) }),
  fc.record({ op: fc.constant("destroy"), s: fc.nat(SIDS_PER_RUN - 1) }),
  fc.record({
    op: fc.constant("clock"),
    minutes: fc.oneof(fc.integer({ min: 1, max: 90 }), fc.constant(TOMBSTONE_MINUTES)),
  }),
  fc.record({ op: fc.constant("cleanup") }),
);

const sessionExpiring = (minutes, extra) => ({
  cookie: { originalMaxAge: 3_600_000, expires: new Date(Date.now() + minutes * 60_000), httpOnly: true, path: "/" },
  ...extra,
});

/** What the database should hold: sid -> { data, minutesLeft, destroyedMinutesAgo (null if not destroyed) }. */
class Model {
  rows = new Map();

  live(sid) {
    const row = this.rows.get(sid);
    return row && row.destroyedMinutesAgo === null && row.minutesLeft > 0 ? row : undefined;
  }

  set(sid, data, minutes) {
    const row = this.rows.get(sid);
    if (row && row.destroyedMinutesAgo !== null) return; // a tombstone is never revived
    if (minutes <= 0) this.rows.delete(sid);
    else this.rows.set(sid, { data, minutesLeft: minutes, destroyedMinutesAgo: null });
  }

  touch(sid, minutes) {
    const row = this.live(sid);
    if (row) row.minutesLeft = minutes;
  }

  destroy(sid) {
    const row = this.rows.get(sid) ?? { minutesLeft: 0, destroyedMinutesAgo: null };
    this.rows.set(sid, {
      data: {},
      minutesLeft: Math.min(row.minutesLeft, 0),
      destroyedMinutesAgo: row.destroyedMinutesAgo ?? 0,
    });
  }

  clock(minutes) {
    for (const row of this.rows.values()) {
      row.minutesLeft -= minutes;
      if (row.destroyedMinutesAgo !== null) row.destroyedMinutesAgo += minutes;
    }
  }

  cleanup() {
    for (const [sid, row] of this.rows) {
      if (row.minutesLeft <= 0 && (row.destroyedMinutesAgo === null || row.destroyedMinutesAgo >= TOMBSTONE_MINUTES)) {
        this.rows.delete(sid);
      }
    }
  }
}

/** The stored rows of `sids` (looked up by their keys), by id, in the model's shape. */
async function storedRows(sids) {
  for (const sid of sids) used.add(sid);
  const sidOfKey = new Map(sids.map((sid) => [keyOf(sid), sid]));
  const { rows } = await admin.query(
    `
    select sid, data, round(extract(epoch from expires_at - now()) / 60)::int as minutes_left,
           round(extract(epoch from now() - destroyed_at) / 60)::int as destroyed_minutes_ago
      from public.sessions where sid = any($1)`,
    [[...sidOfKey.keys()]],
  );
  return new Map(rows.map((r) => [sidOfKey.get(r.sid), {
    data: r.data,
    minutesLeft: r.minutes_left || 0, // -0 is 0
    destroyedMinutesAgo: r.destroyed_minutes_ago === null ? null : r.destroyed_minutes_ago || 0,
  }]));
}

let runs = 0;

for (const [name, make] of Object.entries(BACKENDS)) {
  describe(`model-based property: ${name} backend`, () => {
    test(`${NUM_RUNS} random command sequences agree with the model (seed ${SEED})`, async () => {
      const { store, close } = make();
      let steps = 0;
      try {
        const property = fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 25 }), async (commands) => {
          const run = runs++;
          const sids = Array.from({ length: SIDS_PER_RUN }, (_, i) => `${prefix}-${name}-${run}-${i}`);
          const model = new Model();
          for (const [i, cmd] of commands.entries()) {
            const sid = sids[cmd.s];
            const where = `step ${i} ${JSON.stringify(cmd)}`;
            if (cmd.op === "set") {
              const sess = sessionExpiring(cmd.minutes, { v: cmd.v, tag: cmd.tag });
              await store.set(sid, sess);
              model.set(sid, JSON.parse(JSON.stringify(sess)), cmd.minutes);
            } else if (cmd.op === "get") {
              assert.deepEqual(await store.get(sid), model.live(sid)?.data ?? null, `${where}: get`);
            } else if (cmd.op === "touch") {
              await store.touch(sid, sessionExpiring(cmd.minutes, { v: "ignored by touch" }));
              model.touch(sid, cmd.minutes);
            } else if (cmd.op === "destroy") {
              await store.destroy(sid);
              model.destroy(sid);
            } else if (cmd.op === "clock") {
              await admin.query(
                `update public.sessions
                  set expires_at = expires_at - make_interval(mins => $2), destroyed_at = destroyed_at - make_interval(mins => $2)
                where sid = any($1)`,
                [sids.map(keyOf), cmd.minutes],
              );
              model.clock(cmd.minutes);
            } else {
              // Loop as every caller of the batch function does; expired rows of other files may go too.
              for (let n = 1000, batches = 0; n === 1000 && batches < 1000; batches++) {
                ({ rows: [{ n }] } = await admin.query("select public.cleanup_expired_sessions(1000) as n"));
              }
              model.cleanup();
            }
            assert.deepEqual(await storedRows(sids), model.rows, `${where}: stored rows`);
            for (const s of sids) {
              assert.deepEqual(await store.get(s), model.live(s)?.data ?? null, `${where}: get ${s}`);
            }
            steps++;
          }
        });
        await fc.assert(property, { numRuns: NUM_RUNS, seed: SEED, endOnFailure: true });
      } catch (err) {
        err.message = `property failed; reproduce with FC_SEED=${SEED}\n${err.message}`;
        throw err;
      } finally {
        await close();
      }
      process.stdout.write(`# ${name}: ${NUM_RUNS} runs, ${steps} steps checked against the model (seed ${SEED})\n`);
    });
  });
}
