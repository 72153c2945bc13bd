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
