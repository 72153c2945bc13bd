// Sign-in throttling: failed sign-ins are counted per client IP and per account (the
// username tried, existing or not, so the limit says nothing about which accounts exist).
// Once either count reaches its limit, POST /login is refused with 429 until the window
// that started with the first failure has passed, before any password is checked.
//
// rate-limiter-flexible rather than express-rate-limit: express-rate-limit counts requests
// at the door, before the outcome is known, and can only guess a failure from the status
// afterwards; here the route counts a failure when Passport reports one, clears the account's
// count on a successful sign-in, and keys the same limiter by anything (IP, username)
// without one middleware per key. Its counters are in memory, per process: an app run as
// several instances swaps RateLimiterMemory for one of the library's shared stores
// (RateLimiterRedis, RateLimiterPostgres...), whose API is the same.
//
// The per-account limit lets anyone pause sign-in to an account for one window by failing
// on purpose; that is the price of stopping a password guesser who rotates IPs, and why the
// window is short and the page says when to try again.
import { RateLimiterMemory } from "rate-limiter-flexible";

// Usernames longer than this are all one bucket: a key of the client's choosing stays small.
const MAX_KEY_LENGTH = 256;

/**
 * @param {object} [options]
 * @param {number} [options.perAccount]  failed sign-ins allowed per username per window
 * @param {number} [options.perIp]  failed sign-ins allowed per client IP per window
 * @param {number} [options.windowMs]  the window, counted from the first failure in it
 */
export function createLoginLimiter({ perAccount = 5, perIp = 50, windowMs = 15 * 60 * 1000 } = {}) {
  for (const [name, value] of Object.entries({ perAccount, perIp, windowMs })) {
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`login limit ${name} must be a positive integer, got ${value}`);
    }
  }
  const duration = Math.ceil(windowMs / 1000);
  const limits = [
    { limiter: new RateLimiterMemory({ keyPrefix: "ip", points: perIp, duration }), key: (a) => a.ip },
    {
      limiter: new RateLimiterMemory({ keyPrefix: "account", points: perAccount, duration }),
      key: (a) => a.username.slice(0, MAX_KEY_LENGTH),
    },
  ];

  return {
    /** Milliseconds until `attempt` ({ ip, username }) may try again: 0 when it may now. */
    async waitMs(attempt) {
      const counts = await Promise.all(limits.map(({ limiter, key }) => limiter.get(key(attempt))));
      return Math.max(
        0,
        ...counts.map((res, i) => (res && res.consumedPoints >= limits[i].limiter.points ? res.msBeforeNext : 0)),
      );
    },
    /** Counts a failed sign-in against the IP and the account. */
    async failed(attempt) {
      await Promise.all(limits.map(({ limiter, key }) => limiter.penalty(key(attempt), 1)));
    },
    /** A successful sign-in clears the account's failures (the IP's stay: it may be guessing others). */
    async succeeded(attempt) {
      await limits[1].limiter.delete(limits[1].key(attempt));
    },
  };
}
