// Cross-site request forgery protection, synchronizer token pattern: a random token kept
// in the session is put in every form as a hidden field, and a state-changing request
// must send it back. Another site can make a browser post a form here (with the cookie,
// from a sibling subdomain even under SameSite=Lax) but cannot read this site's pages,
// so it cannot know the token.
import { randomBytes, timingSafeEqual } from "node:crypto";

/** The hidden field every form carries. */
export const CSRF_FIELD = "_csrf";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The session's token, created on first use. A new session (after login) gets a new one. */
export function csrfToken(session) {
  session.csrfToken ??= randomBytes(32).toString("base64url");
  return session.csrfToken;
}

/**
 * A request whose body is declared JSON: the API for curl and scripts. A browser sends
 * that content type cross-origin only after a CORS preflight, which this app never
 * answers, so no other site can make one; forms can only send form encodings or text.
 */
export function isJsonRequest(req) {
  const type = (req.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  return type === "application/json";
}

function tokensMatch(expected, given) {
  if (typeof expected !== "string" || typeof given !== "string") return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  // The length is no secret (every token has the same); the content is compared in constant time.
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Middleware for after the session and body parsers: lets a safe method or a JSON request
 * through, and a form only when its token matches the session's; anything else goes to
 * `refuse(req, res)` before any route can change anything.
 */
export function csrfProtection(refuse) {
  return (req, res, next) => {
    if (SAFE_METHODS.has(req.method) || isJsonRequest(req)) return next();
    if (tokensMatch(req.session.csrfToken, req.body?.[CSRF_FIELD])) return next();
    refuse(req, res);
  };
}
