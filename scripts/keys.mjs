// The local stack's well-known development credentials, the counterpart of what
// `supabase start` prints: a JWT secret, the legacy `anon` / `service_role` keys
// (HS256 JWTs signed with it) and the new-style `sb_publishable_` / `sb_secret_`
// keys. Everything derives deterministically from the secret, so every process of
// the stack (gateway, tests, Edge Function) agrees without passing keys around.
// Development only: these values are public by design, never use them in production.
//
// Overrides: LOCAL_JWT_SECRET (>= 32 characters, as PostgREST requires),
// LOCAL_PUBLISHABLE_KEY (sb_publishable_...), LOCAL_SECRET_KEY (sb_secret_...).
import { createHmac } from "node:crypto";

const DEFAULT_JWT_SECRET = "supabase-session-store-local-development-jwt-secret";
// Fixed times keep the keys identical across runs: issued 2025-01-01, valid ten years.
const ISSUED_AT = 1735689600;
const EXPIRES_AT = ISSUED_AT + 10 * 365 * 24 * 3600;

const base64url = (data) => Buffer.from(data).toString("base64url");

/** Signs `payload` as a compact HS256 JWT. */
export function signJwt(payload, secret) {
  const head = `${base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${base64url(JSON.stringify(payload))}`;
  return `${head}.${createHmac("sha256", secret).update(head).digest("base64url")}`;
}

function derivedKey(prefix, secret, purpose) {
  return prefix + createHmac("sha256", secret).update(purpose).digest("base64url").slice(0, 32);
}

function checked(value, prefix, name) {
  if (!value.startsWith(prefix) || value.length < prefix.length + 16) {
    throw new Error(`${name} must start with ${prefix} followed by at least 16 characters`);
  }
  return value;
}

/** { jwtSecret, anonKey, serviceRoleKey, publishableKey, secretKey } for the local stack. */
export function localKeys(env = process.env) {
  const jwtSecret = env.LOCAL_JWT_SECRET || DEFAULT_JWT_SECRET;
  if (jwtSecret.length < 32) throw new Error("LOCAL_JWT_SECRET must be at least 32 characters long");
  const roleKey = (role) => signJwt({ iss: "supabase-demo", role, iat: ISSUED_AT, exp: EXPIRES_AT }, jwtSecret);
  return {
    jwtSecret,
    anonKey: roleKey("anon"),
    serviceRoleKey: roleKey("service_role"),
    publishableKey: checked(
      env.LOCAL_PUBLISHABLE_KEY || derivedKey("sb_publishable_", jwtSecret, "publishable"),
      "sb_publishable_",
      "LOCAL_PUBLISHABLE_KEY",
    ),
    secretKey: checked(
      env.LOCAL_SECRET_KEY || derivedKey("sb_secret_", jwtSecret, "secret"),
      "sb_secret_",
      "LOCAL_SECRET_KEY",
    ),
  };
}
