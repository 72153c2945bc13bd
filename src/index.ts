export { SupabaseSessionStore } from "./store.js";
export { DEFAULT_MAX_DATA_BYTES, DEFAULT_TTL_SECONDS, type SupabaseSessionStoreOptions } from "./store-options.js";
export { MAX_GET_BATCH, MAX_IN_FLIGHT, MAX_SET_BATCH_BYTES, MAX_WRITE_BATCH } from "./queues.js";
export { CLEAR_BATCH_SIZE, LIST_PAGE_SIZE } from "./paging.js";
export { TOUCH_CACHE_SIZE } from "./touch-policy.js";
export { CorruptSessionError, RpcError } from "./errors.js";
export type { UserSession } from "./user-sessions.js";
export type { Queryable } from "./pg-backend.js";
export type { RpcClient, RpcResponse } from "./rpc-backend.js";
