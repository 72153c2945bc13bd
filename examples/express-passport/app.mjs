// The example app: Express 5, express-session on the Supabase session store, and
// Passport's local strategy, with the cookie and secret settings a production
// deployment behind a reverse proxy needs. JSON routes only.
import express from "express";
import session from "express-session";
import { Passport } from "passport";
import { Strategy as LocalStrategy } from "passport-local";

const DAY_MS = 24 * 60 * 60 * 1000;
// Development only: lets `npm start` run without configuration. Refused in production.
export const DEVELOPMENT_SECRET = "development-only-session-secret-do-not-use-in-production";
const MIN_PRODUCTION_SECRET_LENGTH = 32;

/** `SESSION_SECRET` as a list: the first entry signs new cookies, every entry verifies (rotation). */
export function parseSecrets(value) {
  return (value ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

/** `TRUST_PROXY` for Express's "trust proxy": unset/false, true, a hop count, or addresses/subnets. */
export function parseTrustProxy(value) {
  const v = (value ?? "").trim();
  if (v === "" || v === "false") return false;
  if (v === "true") return true;
  if (/^\d+$/.test(v)) return Number(v);
  return v;
}

function sessionSecrets(secrets, production) {
  if (secrets.length === 0) {
    if (production) throw new Error("SESSION_SECRET is required in production (comma-separated for rotation)");
    return [DEVELOPMENT_SECRET];
  }
  if (production && secrets.some((s) => s.length < MIN_PRODUCTION_SECRET_LENGTH || s === DEVELOPMENT_SECRET)) {
    throw new Error(`every SESSION_SECRET entry must be at least ${MIN_PRODUCTION_SECRET_LENGTH} random characters in production`);
  }
  return secrets;
}

/**
 * @param {object} options
 * @param {import("express-session").Store} options.store  the session store (a SupabaseSessionStore)
 * @param {string[]} [options.secrets]  signing secrets, newest first
 * @param {boolean} [options.production]  secure cookies, secrets required
 * @param {boolean|number|string} [options.trustProxy]  Express "trust proxy" (behind Coolify, Traefik, nginx...)
 * @param {{ findById(id: string): object|null, authenticate(u: string, p: string): Promise<object|null> }} options.users
 * @param {number} [options.maxAgeMs]  session lifetime since the last request (rolling), 24 h by default
 * @param {(err: Error) => void} [options.log]  where unexpected errors go
 */
export function createApp({ store, secrets = [], production = false, trustProxy = false, users, maxAgeMs = DAY_MS,
  log = (err) => console.error(err) }) {
  if (!store) throw new Error("createApp needs a session store");
  if (!users) throw new Error("createApp needs a user directory");

  const app = express();
  // Behind a TLS-terminating proxy the app sees plain HTTP: without this, req.secure is
  // false and express-session refuses to send a `secure` cookie at all.
  app.set("trust proxy", trustProxy);
  app.disable("x-powered-by");

  // Before the session middleware: health checks neither create nor touch sessions.
  app.get("/healthz", (_req, res) => res.json({ ok: true }));

  app.use(express.json({ limit: "10kb" }));
  app.use(session({
    store,
    name: "sid",
    secret: sessionSecrets(secrets, production),
    resave: false,
    saveUninitialized: false,
    // The cookie is re-sent on every response so its expiry follows the store's rolling one.
    rolling: true,
    cookie: { httpOnly: true, secure: production, sameSite: "lax", maxAge: maxAgeMs },
  }));
  // While the store is unreachable express-session carries on without req.session;
  // answer that honestly instead of treating everybody as logged out.
  app.use((req, res, next) => {
    if (!req.session) return res.status(503).json({ error: "session store unavailable" });
    next();
  });

  const passport = new Passport();
  passport.use(new LocalStrategy((username, password, done) => {
    users.authenticate(username, password).then((user) => done(null, user ?? false), done);
  }));
  passport.serializeUser((user, done) => done(null, user.id));
  passport.deserializeUser((id, done) => done(null, users.findById(id) ?? false));
  app.use(passport.session());

  const publicUser = (user) => ({ id: user.id, username: user.username });
  const requireUser = (req, res, next) => {
    if (!req.user) return res.status(401).json({ error: "not logged in" });
    next();
  };

  app.post("/login", (req, res, next) => {
    passport.authenticate("local", (err, user) => {
      if (err) return next(err);
      if (!user) return res.status(401).json({ error: "invalid username or password" });
      // req.login regenerates the session (new id, old one destroyed) before storing the
      // user: a session id planted before login never becomes an authenticated one.
      req.login(user, (loginErr) => (loginErr ? next(loginErr) : res.json({ user: publicUser(user) })));
    })(req, res, next);
  });

  app.get("/me", requireUser, (req, res) => res.json({ user: publicUser(req.user) }));

  const endSession = (req, res, body) => {
    const { path, httpOnly, secure, sameSite } = req.session.cookie;
    req.session.destroy((err) => {
      if (err) return res.status(500).json({ error: "could not end the session" });
      res.clearCookie("sid", { path, httpOnly, secure, sameSite });
      res.json(body);
    });
  };

  app.post("/logout", requireUser, (req, res) => endSession(req, res, { loggedOut: true }));

  // "Log out everywhere", e.g. after a password change: every session of this user, this one included.
  app.post("/logout-all", requireUser, async (req, res, next) => {
    try {
      const sessions = await store.destroyUserSessions(req.user.id);
      endSession(req, res, { loggedOut: true, sessions });
    } catch (err) {
      next(err);
    }
  });

  app.use((_req, res) => res.status(404).json({ error: "not found" }));
  // Express recognises an error handler by its four parameters.
  app.use((err, _req, res, _next) => {
    // express-session reports a failed save or touch after it has already finished the
    // response: log it and leave the connection alone (passing it on would make Express
    // destroy a socket the client may be reusing).
    if (res.headersSent) return log(err);
    // Only HTTP errors (a malformed body...) carry their own status; a store error's
    // `status` may be an upstream one, and its message is not for clients.
    const status = err.expose && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) log(err);
    res.status(status).json({ error: status === 500 ? "internal error" : err.message });
  });

  return app;
}
