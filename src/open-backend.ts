// The backend the options chose: supabase-js's rpc(), or a node-postgres pool (given, or
// created from a connection string).
import type { Backend } from "./backend.js";
import { PgBackend } from "./pg-backend.js";
import { RpcBackend } from "./rpc-backend.js";
import type { StoreSettings } from "./store-options.js";

/**
 * Opens the chosen backend. A pool the store creates itself reports its idle clients'
 * errors to `onIdleError` (a pool the app gave is the app's to watch).
 */
export function openBackend(
  { backend: choice, schema, preparedStatements }: StoreSettings,
  onIdleError: (err: Error) => void,
): Backend {
  if (choice.kind === "client") return new RpcBackend(choice.client, schema);
  if (choice.kind === "pool") return new PgBackend({ pool: choice.pool }, schema, preparedStatements);
  return new PgBackend({ connectionString: choice.connectionString, onIdleError }, schema, preparedStatements);
}
