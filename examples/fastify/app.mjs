// The Fastify example: @fastify/session on the store, a JSON API of login, /me, logout and
// the account calls (a user's sessions listed, one of them ended). Passwords and users are
// a demo's; the session handling is what an app copies.
import { createHash, timingSafeEqual } from "node:crypto";
import fastifyCookie from "@fastify/cookie";
import fastifySession from "@fastify/session";
import Fastify from "fastify";

/** Demo accounts: id and password by username. */
export const DEMO_USERS = {
  alice: { id: "u-alice", password: "alice-demo-password" },
  bob: { id: "u-bob", password: "bob-demo-password" },
};

const digest = (text) => createHash("sha256").update(String(text)).digest();
/** The user's id if `password` is theirs; compared in constant time. */
function authenticate(username, password) {
  const user = Object.hasOwn(DEMO_USERS, username) ? DEMO_USERS[username] : undefined;
  const ok = timingSafeEqual(digest(password), digest(user?.password ?? ""));
  return user && ok ? user.id : undefined;
}

/**
 * The app on `store`. The user id goes in `passport.user`, where the store's per-user calls
 * (listUserSessions, destroyUserSession, destroyUserSessions) look for it, as Passport puts it.
 */
export async function createApp({ store, secret, maxAgeSeconds = 86_400 }) {
  const app = Fastify();
  // JSON bodies only: text/plain is a body a cross-site form can send without a preflight.
  app.removeContentTypeParser("text/plain");
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    store,
    secret,
    saveUninitialized: false, // no row for a visitor until there is something to keep
    cookie: { secure: "auto", httpOnly: true, sameSite: "lax", maxAge: maxAgeSeconds * 1000 },
  });

  // Client errors (a bad body, 415) as Fastify words them; anything else is the store failing
  // (database down, wrong URL or key): a 503 that says so, the details in the log only.
  app.setErrorHandler((err, _req, reply) => {
    if (err.statusCode >= 400 && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
    console.error(`request failed: ${err.message}`); // the message only: never the request's cookie
    return reply.code(503).send({ error: "session store unavailable" });
  });

  const userOf = (req) => req.session.get("passport")?.user;
  const requireUser = (req, reply, done) => {
    if (userOf(req)) done();
    else reply.code(401).send({ error: "not logged in" });
  };

  app.post("/login", async (req, reply) => {
    const user = authenticate(req.body?.username, req.body?.password);
    if (!user) return reply.code(401).send({ error: "wrong username or password" });
    // A new session id at login: an id planted before it (fixation) is worth nothing after.
    await req.session.regenerate();
    req.session.set("passport", { user });
    return { user };
  });

  app.get("/me", { preHandler: requireUser }, (req, reply) => {
    reply.send({ user: userOf(req) });
  });

  // The account page's data: the user's sessions by handle (never by id), this one marked.
  app.get("/account/sessions", { preHandler: requireUser }, async (req) => {
    const current = store.sessionHandle(req.session.sessionId);
    const sessions = await store.listUserSessions(userOf(req));
    return sessions.map((s) => ({ handle: s.id, current: s.id === current, lastActiveAt: s.lastActiveAt }));
  });

  // Ends one of the user's sessions (another device); a handle of someone else's ends nothing.
  app.delete("/account/sessions/:handle", { preHandler: requireUser }, async (req, reply) => {
    if (!/^[0-9a-f]{64}$/.test(req.params.handle)) return reply.code(400).send({ error: "not a session handle" });
    const ended = await store.destroyUserSession(userOf(req), req.params.handle);
    return reply.code(ended ? 200 : 404).send({ ended });
  });

  // Logout that sticks: the store keeps a destroyed session destroyed, so a request still in
  // flight with the old cookie cannot save it back.
  app.post("/logout", async (req) => {
    await req.session.destroy();
    return { ok: true };
  });

  return app;
}
