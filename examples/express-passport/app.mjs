// The example app: Express 5, express-session on the Supabase session store, and
// Passport's local strategy, with the cookie and secret settings a production
// deployment behind a reverse proxy needs. Server-rendered pages for browsers (sign in,
// the account page with the user's sessions), CSRF-safe forms, and the same actions as
// a JSON API for curl and scripts.
import { fileURLToPath } from "node:url";
import express from "express";
import session from "express-session";
import { csrfProtection, csrfToken, isJsonRequest } from "./csrf.mjs";
import { accountPage, loginPage } from "./pages.mjs";
import { refuse, sendPage, sessionViews } from "./responses.mjs";
import { sessionSecrets } from "./settings.mjs";
import { createSignIn, signInFormToken } from "./sign-in.mjs";

const DAY_MS = 24 * 60 * 60 * 1000;
const PUBLIC_DIR = fileURLToPath(new URL("./public/", import.meta.url));
// Pages load their stylesheet and icon from here and nothing else: no script at all, no
// framing (clickjacking of the "end session" buttons), forms only to this origin.
const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'";
// A session handle as listUserSessions gives it: hex SHA-256 of the session id.
const HANDLE = /^[0-9a-f]{64}$/;
// What the account page says after a redirect (post/redirect/get); `?done=` picks one, never free text.
const NOTICES = {
  "session-ended": "The session was ended. That device is signed out.",
  "already-ended": "That session had already ended.",
  "others-ended": "You are signed out everywhere else. This device stays signed in, with a new session.",
};

/**
 * @param {object} options
 * @param {import("supabase-session-store").SupabaseSessionStore} options.store  the session store
 * @param {string[]} [options.secrets]  signing secrets, newest first
 * @param {boolean} [options.production]  secure cookies, secrets required
 * @param {boolean|number|string} [options.trustProxy]  Express "trust proxy" (behind Coolify, Traefik, nginx...)
 * @param {{ findById(id: string): object|null, authenticate(u: string, p: string): Promise<object|null> }} options.users
 * @param {number} [options.maxAgeMs]  session lifetime since the last request (rolling), 24 h by default
 * @param {{ perAccount?: number, perIp?: number, windowMs?: number }} [options.loginLimits]  see login-limits.mjs
 * @param {(err: Error) => void} [options.log]  where unexpected errors go
 */
export function createApp(
  {
    store,
    secrets = [],
    production = false,
    trustProxy = false,
    users,
    maxAgeMs = DAY_MS,
    loginLimits,
    log = (err) => console.error(err),
  },
) {
  if (!store) throw new Error("createApp needs a session store");
  if (!users) throw new Error("createApp needs a user directory");

  const app = express();
  // Behind a TLS-terminating proxy the app sees plain HTTP: without this, req.secure is
  // false and express-session refuses to send a `secure` cookie at all.
  app.set("trust proxy", trustProxy);
  app.disable("x-powered-by");
  app.use((_req, res, next) => {
    res.set({
      "Content-Security-Policy": CONTENT_SECURITY_POLICY,
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "same-origin",
    });
    next();
  });

  // Before the session middleware: health checks and static files neither create nor touch sessions.
  app.get("/healthz", (_req, res) => res.json({ ok: true }));
  app.use(express.static(PUBLIC_DIR, { index: false }));

  app.use(express.json({ limit: "10kb" }));
  app.use(express.urlencoded({ extended: false, limit: "10kb" }));
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
    if (req.session) return next();
    refuse(req, res, 503, {
      error: "session store unavailable",
      title: "Temporarily unavailable",
      message: "Sessions cannot be read right now. Please try again in a moment.",
    });
  });

  const publicUser = (user) => ({ id: user.id, username: user.username });
  // An action's answer: JSON to the API, back to the start page (post/redirect/get) for a form.
  const answer = (req, res, body, notice) => {
    if (isJsonRequest(req)) return res.json(body);
    res.redirect(303, notice ? `/?done=${notice}` : "/");
  };

  const { passport, signIn, login } = createSignIn({
    users,
    loginLimits,
    maxAgeMs,
    signedIn: (req, res, user) => answer(req, res, { user: publicUser(user) }),
  });
  app.use(passport.session());

  // Before every route: a state-changing request that fails the check changes nothing.
  app.use(csrfProtection((req, res) =>
    refuse(req, res, 403, {
      error: "missing or invalid CSRF token",
      title: "This form has expired",
      message: "The form could not be verified: it is older than your session, or it was sent from another site. " +
        "Nothing was changed. Go back, reload the page and try again.",
    })
  ));

  const requireUser = (req, res, next) => {
    if (req.user) return next();
    // A signed-out browser's form goes back to the sign-in page; the API says 401.
    if (req.method === "POST" && !isJsonRequest(req)) return res.redirect(303, "/");
    res.status(401).json({ error: "not logged in" });
  };
  const sessionsOf = async (req) => {
    const records = await store.listUserSessions(req.user.id);
    return sessionViews(records, store.sessionHandle(req.sessionID));
  };

  app.get("/", async (req, res, next) => {
    try {
      if (!req.user) return sendPage(res, 200, loginPage({ csrfToken: signInFormToken(req, maxAgeMs) }));
      sendPage(
        res,
        200,
        accountPage({
          user: publicUser(req.user),
          sessions: await sessionsOf(req),
          csrfToken: csrfToken(req.session),
          notice: Object.hasOwn(NOTICES, req.query.done) ? NOTICES[req.query.done] : undefined,
        }),
      );
    } catch (err) {
      next(err);
    }
  });

  app.post("/login", login);

  app.get("/me", requireUser, (req, res) => res.json({ user: publicUser(req.user) }));

  app.get("/sessions", requireUser, async (req, res, next) => {
    try {
      res.json({ sessions: await sessionsOf(req) });
    } catch (err) {
      next(err);
    }
  });

  const endSession = (req, res, body) => {
    const { path, httpOnly, secure, sameSite } = req.session.cookie;
    req.session.destroy((err) => {
      if (err) {
        return refuse(req, res, 500, {
          error: "could not end the session",
          title: "Something went wrong",
          message: "The session could not be ended. Please try again.",
        });
      }
      res.clearCookie("sid", { path, httpOnly, secure, sameSite });
      answer(req, res, body);
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

  // One session of this user, by the handle the account page lists (never a session id).
  app.post("/sessions/:id/end", requireUser, async (req, res, next) => {
    try {
      if (req.params.id === store.sessionHandle(req.sessionID)) return endSession(req, res, { loggedOut: true });
      // Anything but a handle names no session (the store would refuse it as bad input).
      const ended = HANDLE.test(req.params.id) && await store.destroyUserSession(req.user.id, req.params.id);
      if (isJsonRequest(req) && !ended) return res.status(404).json({ error: "no such session", ended });
      answer(req, res, { ended }, ended ? "session-ended" : "already-ended");
    } catch (err) {
      next(err);
    }
  });

  // "Log out everywhere else": every session of the user ends, this one included, and this
  // device goes on in a new session. One statement ends them all, so a session signed in
  // meanwhile is not missed; the new id also retires any copy of this device's cookie.
  app.post("/sessions/end-others", requireUser, async (req, res, next) => {
    try {
      const { device } = req.session;
      const ended = await store.destroyUserSessions(req.user.id);
      signIn(
        req,
        req.user,
        device,
        (err) => (err ? next(err) : answer(req, res, { ended: Math.max(0, ended - 1) }, "others-ended")),
      );
    } catch (err) {
      next(err);
    }
  });

  app.use((req, res) =>
    refuse(req, res, 404, { error: "not found", title: "Not found", message: "There is no page at this address." })
  );
  // Express recognises an error handler by its four parameters.
  app.use((err, req, res, _next) => {
    // express-session reports a failed save or touch after it has already finished the
    // response: log it and leave the connection alone (passing it on would make Express
    // destroy a socket the client may be reusing).
    if (res.headersSent) return log(err);
    // Only HTTP errors (a malformed body...) carry their own status; a store error's
    // `status` may be an upstream one, and its message is not for clients.
    const status = err.expose && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) log(err);
    const error = status === 500 ? "internal error" : err.message;
    refuse(req, res, status, {
      error,
      title: status === 500 ? "Something went wrong" : "Bad request",
      message: status === 500 ? "The request failed on our side. Please try again." : error,
    });
  });

  return app;
}
