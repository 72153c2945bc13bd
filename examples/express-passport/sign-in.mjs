// Signing in: Passport's local strategy, the sign-in limits around it, and the session
// changes a sign-in makes (a new id, a full lifetime, the device). Also the one thing an
// anonymous visitor's session holds, the sign-in form's CSRF token, and its short life.
import { Passport } from "passport";
import { Strategy as LocalStrategy } from "passport-local";
import { csrfToken, isJsonRequest } from "./csrf.mjs";
import { createLoginLimiter } from "./login-limits.mjs";
import { loginPage } from "./pages.mjs";
import { sendPage, tooManyAttempts } from "./responses.mjs";

// The header is the client's to choose: bounded, so that it cannot bloat every stored session.
const MAX_USER_AGENT_LENGTH = 512;
// How long an anonymous session lives: long enough to fill in the sign-in form, then gone.
const ANONYMOUS_MAX_AGE_MS = 10 * 60 * 1000;

/**
 * The sign-in form's CSRF token. An anonymous session is stored only when this is first
 * called (saveUninitialized is off and nothing else writes to it), and with a lifetime of
 * minutes, not the signed-in one: a visitor who never signs in leaves a row that expires soon.
 */
export function signInFormToken(req, maxAgeMs) {
  if (req.session.csrfToken === undefined) req.session.cookie.maxAge = Math.min(ANONYMOUS_MAX_AGE_MS, maxAgeMs);
  return csrfToken(req.session);
}

/**
 * @param {object} options
 * @param {{ findById(id: string): object|null, authenticate(u: string, p: string): Promise<object|null> }} options.users
 * @param {object} [options.loginLimits]  see login-limits.mjs
 * @param {number} options.maxAgeMs  the anonymous session's lifetime is at most this
 * @param {(req: object, res: object, user: object) => void} options.signedIn  answers a successful sign-in
 */
export function createSignIn({ users, loginLimits, maxAgeMs, signedIn }) {
  const limiter = createLoginLimiter(loginLimits);
  const passport = new Passport();
  passport.use(
    new LocalStrategy((username, password, done) => {
      users.authenticate(username, password).then((user) => done(null, user ?? false), done);
    }),
  );
  passport.serializeUser((user, done) => done(null, user.id));
  passport.deserializeUser((id, done) => done(null, users.findById(id) ?? false));

  /** Logs `user` in on a new session (its own id, CSRF token and lifetime) that remembers `device`. */
  const signIn = (req, user, device, callback) => {
    // req.login regenerates the session (new id, old one destroyed, the configured maxAge)
    // before storing the user: a session id planted before login never becomes an
    // authenticated one, and the anonymous session's short life does not carry over.
    req.login(user, (err) => {
      if (err) return callback(err);
      req.session.device = device;
      csrfToken(req.session);
      // Saved before answering: express-session would save at the end of the response, but
      // it sends a redirect's headers first, and the browser's next request could load the
      // session as Passport saved it, without these, and write it back so.
      req.session.save(callback);
    });
  };

  /** POST /login: refused while a sign-in limit holds, else Passport decides. */
  const login = async (req, res, next) => {
    // req.ip is the client's address only with the right "trust proxy": behind a proxy without
    // it, every client is the proxy and one guesser pauses sign-in for everybody.
    const attempt = { ip: req.ip, username: typeof req.body?.username === "string" ? req.body.username : "" };
    try {
      const waitMs = await limiter.waitMs(attempt);
      if (waitMs > 0) return tooManyAttempts(req, res, waitMs);
    } catch (err) {
      return next(err);
    }
    passport.authenticate("local", async (err, user) => {
      if (err) return next(err);
      try {
        await (user ? limiter.succeeded(attempt) : limiter.failed(attempt));
      } catch (limitErr) {
        return next(limitErr);
      }
      if (!user) {
        if (isJsonRequest(req)) return res.status(401).json({ error: "invalid username or password" });
        const form = { csrfToken: signInFormToken(req, maxAgeMs), username: attempt.username };
        return sendPage(res, 401, loginPage({ ...form, error: "Wrong username or password." }));
      }
      const device = {
        userAgent: (req.get("user-agent") ?? "").slice(0, MAX_USER_AGENT_LENGTH),
        signedInAt: new Date().toISOString(),
      };
      signIn(req, user, device, (signInErr) => (signInErr ? next(signInErr) : signedIn(req, res, user)));
    })(req, res, next);
  };

  return { passport, signIn, login };
}
