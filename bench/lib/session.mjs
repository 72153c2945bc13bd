// The session every benchmark row stores: one express-session-shaped object of about
// 1.1 KB of JSON (cookie, Passport user, CSRF secret, flash, a few app fields), and
// session ids that pgbench can produce too (decimal strings of 64-bit integers), so
// Node clients and pgbench scripts address the very same rows. This store's table holds
// each session under its key, the hex SHA-256 of its id (keySql below); connect-pg-simple's
// holds the id itself, which is its format.

/** Cookie lifetime (express-session `cookie.maxAge`): one day. */
export const MAX_AGE_MS = 86_400_000;
/** express-session ids are 32 characters; these are 19 digits, which pgbench can generate. */
export const LIVE_SID_BASE = 1_000_000_000_000_000_000n;
/** New sessions (the `set` workload) draw from a separate, sparse range. */
export const NEW_SID_BASE = 2_000_000_000_000_000_000n;
export const NEW_SID_SPAN = 1_000_000_000_000_000;

/**
 * The SQL of the key this store keeps a session under, for a text expression holding its id:
 * hex SHA-256 of the id's UTF-8, what the store computes in Node (sessionKey) before every
 * call and public.session_handle defines in SQL. Spelled out rather than a call of
 * session_handle: a function with its own search_path is never inlined, and pgbench, which
 * computes the key in its statements, would pay a function call the store does not.
 */
export function keySql(expr) {
  return `encode(sha256(convert_to(${expr}, 'UTF8')), 'hex')`;
}

export function liveSid(i) {
  return (LIVE_SID_BASE + BigInt(i)).toString();
}

export function randomLiveSid(liveCount) {
  return liveSid(1 + Math.floor(Math.random() * liveCount));
}

export function newSid() {
  return (NEW_SID_BASE + BigInt(1 + Math.floor(Math.random() * NEW_SID_SPAN))).toString();
}

/** A fresh session object as express-session hands it to `set` (cookie.expires a Date). */
export function makeSession(now = Date.now()) {
  return {
    cookie: {
      originalMaxAge: MAX_AGE_MS,
      expires: new Date(now + MAX_AGE_MS),
      secure: true,
      httpOnly: true,
      path: "/",
      sameSite: "lax",
    },
    passport: { user: "5b0c6f0e-2f4d-4c53-9a0e-7d1f3c2b8a41" },
    csrfSecret: "Qm9vdHN0cmFwQ1NSRnNlY3JldA-x7",
    flash: {},
    returnTo: "/account/settings?tab=security&ref=dashboard",
    locale: "en-GB",
    timezone: "Europe/London",
    theme: "dark",
    lastSeenAt: new Date(now).toISOString(),
    onboarding: {
      step: 4,
      completed: ["profile", "avatar", "team", "billing"],
      dismissedTips: ["shortcuts", "search"],
    },
    cart: {
      currency: "EUR",
      items: [
        { sku: "TSHIRT-BLK-M", name: "Organic cotton T-shirt, black, medium", qty: 2, unitPrice: 2490 },
        { sku: "MUG-WHT-350", name: "Stoneware mug, white, 350 ml", qty: 1, unitPrice: 1290 },
        { sku: "STICKER-PACK", name: "Sticker pack (12 designs)", qty: 3, unitPrice: 490 },
      ],
      coupon: "WELCOME10",
    },
    recentSearches: ["wireless keyboard", "usb-c hub 7 in 1", "standing desk mat", "noise cancelling headphones"],
    featureFlags: { newCheckout: true, betaSearch: false, compactNav: true, darkModeV2: true },
    oauth: {
      provider: "github",
      state: "c2Vzc2lvbi1zdGF0ZS1ub25jZS0xMjM0NTY3ODkw",
      codeVerifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    },
  };
}

/** The session as it is stored and sent (JSON text), and its size. */
export function sessionJson(now = Date.now()) {
  return JSON.stringify(makeSession(now));
}

/**
 * What express-session does to a loaded session before `touch` (resave: false, unmodified):
 * its cookie's expiry moves to now + maxAge.
 */
export function refreshed(sess, now = Date.now()) {
  sess.cookie.expires = new Date(now + MAX_AGE_MS);
  return sess;
}

/** A modified loaded session, as `set` receives it on the 10% of requests that change it. */
export function modified(sess, now = Date.now()) {
  refreshed(sess, now);
  sess.lastSeenAt = new Date(now).toISOString();
  return sess;
}
