// Emptying the sessions table of everything cleanup may delete, for tests that count
// exactly what a cleanup deletes.

/**
 * Calls cleanup_expired_sessions through `client` (a pg pool or client) until a call
 * deletes nothing, and resolves with the count of every call. Without `batch` the
 * function's own default batch size applies.
 */
export async function drainExpired(client, batch) {
  const counts = [];
  for (;;) {
    const { rows: [{ n }] } = batch === undefined
      ? await client.query("select public.cleanup_expired_sessions() as n")
      : await client.query("select public.cleanup_expired_sessions($1) as n", [batch]);
    counts.push(n);
    if (n === 0) return counts;
  }
}
