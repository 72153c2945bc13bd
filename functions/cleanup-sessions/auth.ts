// Who may run a cleanup: whoever presents one of the project's secret keys or the
// dedicated cleanup secret. The function is deployed with verify_jwt = false
// because the new `sb_secret_...` keys are not JWTs, so this check is the only gate
// and it fails closed.

import { refuse } from "./refusal.ts";

export type Env = (name: string) => string | undefined;

/**
 * Every key that grants access: the service keys and CLEANUP_SECRET (user secrets may
 * not start with SUPABASE_). Empty values never count, so an unset-but-present variable
 * cannot make an empty key valid.
 */
export function acceptedKeys(env: Env, service: string[] = serviceKeys(env)): string[] {
  return [...service, ...nonEmpty([env("CLEANUP_SECRET")])];
}

/**
 * The keys that act as service_role, the one to call the database with first: the values
 * of SUPABASE_SECRET_KEYS (a JSON object of key names to keys), then the legacy
 * SUPABASE_SERVICE_ROLE_KEY. Non-empty values only.
 */
export function serviceKeys(env: Env): string[] {
  return nonEmpty([...secretKeys(env), env("SUPABASE_SERVICE_ROLE_KEY")]);
}

function nonEmpty(keys: (string | undefined)[]): string[] {
  return keys.filter((k): k is string => typeof k === "string" && k.length > 0);
}

/** The values of SUPABASE_SECRET_KEYS, the key named `default` first. */
function secretKeys(env: Env): string[] {
  const raw = env("SUPABASE_SECRET_KEYS");
  if (!raw) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw refuse(500, "SUPABASE_SECRET_KEYS must be a JSON object of key names to keys");
  }
  const entries = Object.entries(parsed as Record<string, unknown>)
    .filter((e): e is [string, string] => typeof e[1] === "string" && e[1].length > 0)
    .sort(([a], [b]) => Number(b === "default") - Number(a === "default"));
  return entries.map(([, key]) => key);
}

/** The keys the caller presents: the `apikey` header and an `Authorization: Bearer` token. */
export function presentedKeys(headers: Headers): string[] {
  const presented: string[] = [];
  const apikey = headers.get("apikey")?.trim();
  if (apikey) presented.push(apikey);
  const bearer = headers.get("authorization")?.match(/^\s*bearer\s+(\S+)\s*$/i)?.[1];
  if (bearer) presented.push(bearer);
  return presented;
}

const encoder = new TextEncoder();

async function digest(value: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(value)));
}

/**
 * Whether any presented key equals any accepted key. Comparing fixed-length
 * digests byte by byte, without stopping early and over every pair, keeps the
 * time independent of where (or whether) the values differ and of their lengths.
 */
export async function isAuthorized(presented: string[], accepted: string[]): Promise<boolean> {
  const want = await Promise.all(accepted.map(digest));
  const have = await Promise.all(presented.map(digest));
  let match = 0;
  for (const h of have) {
    for (const w of want) {
      let diff = 0;
      for (let i = 0; i < w.length; i++) diff |= w[i] ^ h[i];
      match |= Number(diff === 0);
    }
  }
  return match === 1;
}
