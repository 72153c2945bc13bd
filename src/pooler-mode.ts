// Whether the store's connections go through a pooler that pools by transaction
// (Supavisor's port 6543, PgBouncer in transaction mode): there, consecutive statements of
// one client may run on different server connections, so a named prepared statement made
// on one is missing on the next ("prepared statement ... does not exist") or already there
// from another client ("... already exists"). The store then sends unnamed statements.

/** Supavisor's transaction-mode port on hosted Supabase (session mode and direct: 5432). */
export const TRANSACTION_POOLER_PORT = 6543;

/** Why a connection is taken for a transaction pooler, or null when nothing says it is one. */
export type PoolerEvidence = string | null;

/**
 * What a connection string says: the port 6543, or `pgbouncer=true` (the convention Prisma
 * and others read) in its parameters. A string that is not a URL says nothing.
 */
export function transactionPoolerInUrl(connectionString: string): PoolerEvidence {
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    return null;
  }
  if (!/^postgres(ql)?:$/.test(url.protocol)) return null;
  if (url.searchParams.get("pgbouncer") === "true") return "pgbouncer=true in the connection string";
  if (Number(url.port) === TRANSACTION_POOLER_PORT) {
    return `port ${TRANSACTION_POOLER_PORT} (Supavisor's transaction mode) in the connection string`;
  }
  return null;
}

interface ConnectionConfig {
  connectionString?: unknown;
  port?: unknown;
}

/**
 * What a pool given to the store says about where it connects: node-postgres keeps its
 * configuration in `options` (Pool) or `connectionParameters` (Client), pg-promise in `$cn`.
 * A pool that shows none of them says nothing.
 */
export function transactionPoolerOfPool(pool: unknown): PoolerEvidence {
  const p = pool as { options?: unknown; connectionParameters?: unknown; $cn?: unknown };
  for (const config of [p.options, p.connectionParameters, p.$cn]) {
    if (typeof config === "string") return transactionPoolerInUrl(config);
    if (!config || typeof config !== "object") continue;
    const { connectionString, port } = config as ConnectionConfig;
    if (typeof connectionString === "string") {
      const found = transactionPoolerInUrl(connectionString);
      if (found) return found;
    }
    if (Number(port) === TRANSACTION_POOLER_PORT) {
      return `port ${TRANSACTION_POOLER_PORT} (Supavisor's transaction mode) in the pool's configuration`;
    }
  }
  return null;
}
