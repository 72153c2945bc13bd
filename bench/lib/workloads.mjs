// The workloads, as express-session drives a store with `resave: false`: reads, touches
// of unmodified sessions, saves of new ones, and the request mix (every request loads
// its session, then 90% touch it and 10% save it modified).
import { makeSession, modified, newSid, randomLiveSid, refreshed } from "./session.mjs";

/** touchAfter for the workload that sets it: 10 minutes, well below the 1-day cookie. */
export const TOUCH_AFTER_SECONDS = 600;

/** The live session `sid`, read through `client`; a missing one fails the run. */
export async function getLive(client, sid) {
  const sess = await client.get(sid);
  if (!sess) throw new Error(`live session ${sid} not found`);
  return sess;
}

async function request(client, live) {
  const sid = randomLiveSid(live);
  const sess = await getLive(client, sid);
  if (Math.random() < 0.9) await client.touch(sid, refreshed(sess));
  else await client.set(sid, modified(sess));
}

/**
 * A request under @fastify/session's defaults (rolling): it loads the session, then saves it
 * with a full `set`, never a touch; 90% of the sessions saved are unchanged but for the
 * cookie's expiry, 10% changed.
 */
async function fastifyRequest(client, live) {
  const sid = randomLiveSid(live);
  const sess = await getLive(client, sid);
  await client.set(sid, Math.random() < 0.9 ? refreshed(sess) : modified(sess));
}

/** The rows of the Fastify mixes: pgbench has no script for them. */
const FASTIFY_CLIENTS = ["connect-pg-simple", "store-pg", "store-pg-unprepared", "store-supabase-js"];

export const WORKLOADS = [
  {
    id: "get",
    title: "get",
    op: (client, live) => () => getLive(client, randomLiveSid(live)),
  },
  {
    id: "touch",
    title: "touch",
    writes: true,
    op: (client, live) => () => client.touch(randomLiveSid(live), makeSession()),
  },
  {
    id: "set",
    title: "set (new sid)",
    writes: true,
    op: (client) => () => client.set(newSid(), makeSession()),
  },
  {
    id: "mix",
    title: "request mix (get, then touch 90% / set 10%)",
    writes: true,
    op: (client, live) => () => request(client, live),
  },
  {
    id: "mix-touchafter",
    title: `request mix with touchAfter = ${TOUCH_AFTER_SECONDS} s`,
    writes: true,
    touchAfter: TOUCH_AFTER_SECONDS,
    // connect-pg-simple has no touchAfter: its baseline is its plain mix.
    baseline: "mix",
    storesOnly: true,
    op: (client, live) => () => request(client, live),
  },
  {
    id: "fastify-mix",
    title: "Fastify request mix (get, then set: 90% unchanged, 10% changed)",
    writes: true,
    clients: FASTIFY_CLIENTS,
    op: (client, live) => () => fastifyRequest(client, live),
  },
  {
    id: "fastify-mix-touchafter",
    title: `Fastify request mix with touchAfter = ${TOUCH_AFTER_SECONDS} s`,
    writes: true,
    touchAfter: TOUCH_AFTER_SECONDS,
    baseline: "fastify-mix",
    clients: FASTIFY_CLIENTS.filter((id) => id !== "connect-pg-simple"),
    op: (client, live) => () => fastifyRequest(client, live),
  },
];
