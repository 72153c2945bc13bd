// The local stack's environment for the Deno tests, as `npm test` passes it (see
// scripts/stack.mjs). Not a test file itself: the name does not end in _test.ts.

/** The named variables; throws at once, naming what is missing. */
export function requireEnv<Name extends string>(...names: Name[]): Record<Name, string> {
  const missing = names.filter((name) => !Deno.env.get(name));
  if (missing.length) {
    throw new Error(
      `missing environment: ${missing.join(", ")}. Run the Deno tests through \`npm test\`, ` +
        "or export the environment of a running local stack (see scripts/stack.mjs).",
    );
  }
  return Object.fromEntries(names.map((name) => [name, Deno.env.get(name)!])) as Record<Name, string>;
}

/** The configuration Supabase gives a deployed function: the project URL and its keys on this stack. */
export function functionEnv(
  stack: { SUPABASE_URL: string; SUPABASE_SECRET_KEY: string; SUPABASE_SERVICE_ROLE_KEY: string },
): Record<string, string> {
  return {
    SUPABASE_URL: stack.SUPABASE_URL,
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: stack.SUPABASE_SECRET_KEY }),
    SUPABASE_SERVICE_ROLE_KEY: stack.SUPABASE_SERVICE_ROLE_KEY,
  };
}
