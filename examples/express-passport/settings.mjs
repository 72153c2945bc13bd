// The example app's settings from its environment: the signing secrets (rotation, the
// development default, the production minimum) and Express's "trust proxy".

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

/** The secrets express-session signs with: the development one outside production, none weak in production. */
export function sessionSecrets(secrets, production) {
  if (secrets.length === 0) {
    if (production) throw new Error("SESSION_SECRET is required in production (comma-separated for rotation)");
    return [DEVELOPMENT_SECRET];
  }
  if (production && secrets.some((s) => s.length < MIN_PRODUCTION_SECRET_LENGTH || s === DEVELOPMENT_SECRET)) {
    throw new Error(
      `every SESSION_SECRET entry must be at least ${MIN_PRODUCTION_SECRET_LENGTH} random characters in production`,
    );
  }
  return secrets;
}
