export {
  CLEAR_BATCH_SIZE,
  DEFAULT_MAX_DATA_BYTES,
  DEFAULT_TTL_SECONDS,
  LIST_PAGE_SIZE,
  MAX_GET_BATCH,
  MAX_IN_FLIGHT,
  MAX_SET_BATCH_BYTES,
  MAX_WRITE_BATCH,
  SupabaseSessionStore,
  type SupabaseSessionStoreOptions,
  TOUCH_CACHE_SIZE,
} from "./store.js";
export { CorruptSessionError, RpcError } from "./errors.js";
export type { UserSession } from "./user-sessions.js";
export type { Queryable } from "./pg-backend.js";
export type { RpcClient, RpcResponse } from "./rpc-backend.js";
