// Stopping a child process of the local stack (the function server, the example app).

/**
 * Asks `child` to stop (SIGTERM), kills it (SIGKILL) if it has not exited after
 * `graceMs`, and resolves once it has exited. Nothing to do when it already has.
 */
export async function terminate(child, exited, graceMs) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
