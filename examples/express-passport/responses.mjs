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
