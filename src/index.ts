export {
  SupabaseSessionStore,
  DEFAULT_MAX_DATA_BYTES,
  DEFAULT_TTL_SECONDS,
  MAX_GET_BATCH,
  MAX_IN_FLIGHT,
  MAX_SET_BATCH,
  MAX_SET_BATCH_BYTES,
  MAX_TOUCH_BATCH,
  TOUCH_CACHE_SIZE,
  type SupabaseSessionStoreOptions,
} from "./store.js";
export { CorruptSessionError, RpcError } from "./errors.js";
export { LIST_PAGE_SIZE, type UserSession } from "./user-sessions.js";
export type { Queryable } from "./pg-backend.js";
export type { RpcClient, RpcResponse } from "./rpc-backend.js";
