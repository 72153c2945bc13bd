// How the app answers: a page (never cached), a refusal as a page for a browser or JSON
// for a script, and the account page's rows of sessions.
import { describeDevice } from "./device.mjs";
import { messagePage } from "./pages.mjs";

/** The account page's rows (and GET /sessions): this device first, then the most recently active. */
export function sessionViews(records, currentHandle) {
  const views = records.map(({ id, createdAt, lastActiveAt, expiresAt, session }) => ({
    id,
    current: id === currentHandle,
    device: describeDevice(session.device?.userAgent),
    userAgent: session.device?.userAgent ?? "",
    signedInAt: session.device?.signedInAt ? new Date(session.device.signedInAt) : createdAt,
    lastActiveAt,
    expiresAt,
  }));
  return [...views.filter((v) => v.current), ...views.filter((v) => !v.current)];
}

export function sendPage(res, status, page) {
  // Pages carry the CSRF token and the user's sessions: never kept in a shared cache.
  res.status(status).set("Cache-Control", "no-store").type("html").send(String(page));
}

/** A failure as a page for a browser (it accepts HTML), as JSON for curl and scripts. */
export function refuse(req, res, status, { error, title, message }) {
  if (req.accepts(["json", "html"]) === "html") return sendPage(res, status, messagePage({ title, message }));
  res.status(status).json({ error });
}

/** POST /login refused by the sign-in limits, with when to try again (Retry-After, in seconds). */
export function tooManyAttempts(req, res, waitMs) {
  const seconds = Math.ceil(waitMs / 1000);
  const minutes = Math.ceil(seconds / 60);
  res.set("Retry-After", String(seconds));
  if (req.accepts(["json", "html"]) !== "html") {
    return res.status(429).json({ error: "too many failed logins", retryAfterSeconds: seconds });
  }
  sendPage(
    res,
    429,
    messagePage({
      title: "Too many sign-in attempts",
      message: `Sign-in is paused after too many failed attempts for this account or from this network. ` +
        `Try again in ${minutes === 1 ? "1 minute" : `${minutes} minutes`}.`,
    }),
  );
}
