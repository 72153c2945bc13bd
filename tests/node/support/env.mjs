// The local stack's environment, as `npm test` passes it to every test.

/** The named variables; throws at once, naming what is missing. */
export function requireEnv(...names) {
  const missing = names.filter((name) => !process.env[name]);
  if (missing.length) {
    throw new Error(
      `missing environment: ${missing.join(", ")}. Run the Node tests through \`npm test\`, ` +
        "or export the environment of a running local stack (see scripts/stack.mjs).",
    );
  }
  return Object.fromEntries(names.map((name) => [name, process.env[name]]));
}

// What a user's shell would not have: the test stack's own settings.
const TEST_STACK_SETTINGS = /^(SUPABASE_|DATABASE_URL$|LOCAL_DB_|API_PORT$|PORT$|HOST$|SESSION_|NODE_ENV$|START_APP$)/;

/** This process's environment without the test stack's settings: what `npm start` in a user's shell sees. */
export function userShellEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !TEST_STACK_SETTINGS.test(k)));
}
