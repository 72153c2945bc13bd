export {
  SupabaseSessionStore,
  DEFAULT_MAX_DATA_BYTES,
  CLEAR_BATCH_SIZE,
  DEFAULT_TTL_SECONDS,
  LIST_PAGE_SIZE,
  MAX_GET_BATCH,
  MAX_IN_FLIGHT,
  MAX_SET_BATCH_BYTES,
  MAX_WRITE_BATCH,
  TOUCH_CACHE_SIZE,
  type SupabaseSessionStoreOptions,
} from "./store.js";
export { CorruptSessionError, RpcError } from "./errors.js";
export type { UserSession } from "./user-sessions.js";
export type { Queryable } from "./pg-backend.js";
export type { RpcClient, RpcResponse } from "./rpc-backend.js";
